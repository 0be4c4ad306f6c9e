package analysis

import (
	"encoding/json"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var _ = Describe("Substitute", func() {
	promMetric := func(query string) []rolloutsv1alpha1.Metric {
		return []rolloutsv1alpha1.Metric{{Name: "m", Provider: rolloutsv1alpha1.MetricProvider{
			Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: query},
		}}}
	}
	queryOf := func(query string, values map[string]string) (string, error) {
		out, err := Substitute(promMetric(query), values)
		if err != nil {
			return "", err
		}
		return out[0].Provider.Prometheus.Query, nil
	}

	// Each metric below holds the placeholder in a string of a different
	// kind: a query, a header, a string inside a web metric's JSON body, a
	// container argument and a label's key.
	DescribeTable("puts any value verbatim where its placeholder stood",
		func(value string) {
			metrics := []rolloutsv1alpha1.Metric{
				{Name: "query", Provider: rolloutsv1alpha1.MetricProvider{Prometheus: &rolloutsv1alpha1.PrometheusMetric{
					Query: `rate(x{q="{{args.x}}"}[1m])`,
				}}},
				{Name: "web", Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{
					URL:      "http://checks/",
					Headers:  []rolloutsv1alpha1.WebMetricHeader{{Key: "X-Value", Value: "<{{args.x}}>"}},
					JSONBody: json.RawMessage(`{"z":1,"value":"{{args.x}}","a":[true,null]}`),
				}}},
				{Name: "job", Provider: rolloutsv1alpha1.MetricProvider{Job: &rolloutsv1alpha1.JobMetric{
					Metadata: metav1.ObjectMeta{Labels: map[string]string{"k-{{args.x}}": "v"}},
					Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
						Containers: []corev1.Container{{Name: "c", Image: "curl", Args: []string{"{{args.x}}"}}},
					}}},
				}}},
			}
			out, err := Substitute(metrics, map[string]string{"x": value, "other": "OTHER"})
			Expect(err).NotTo(HaveOccurred())

			Expect(out[0].Provider.Prometheus.Query).To(Equal(`rate(x{q="` + value + `"}[1m])`))
			Expect(out[1].Provider.Web.Headers[0].Value).To(Equal("<" + value + ">"))
			var body struct{ Value string }
			Expect(json.Unmarshal(out[1].Provider.Web.JSONBody, &body)).To(Succeed())
			Expect(body.Value).To(Equal(value))
			Expect(out[2].Provider.Job.Metadata.Labels).To(Equal(map[string]string{"k-" + value: "v"}))
			Expect(out[2].Provider.Job.Spec.Template.Spec.Containers[0].Args).To(Equal([]string{value}))
			Expect(metrics[0].Provider.Prometheus.Query).To(ContainSubstring("{{args.x}}"), "the metrics given are left as they were")
		},
		Entry("a plain value", "web"),
		Entry("a quote inside", `a"b`),
		Entry("a quote at the end, which text substitution took for the string's end", `ends with "`),
		Entry("a backslash", `back\slash`),
		Entry("a backslash at the end", `ends with \`),
		Entry("an escaped quote at the end", `ends with \"`),
		Entry("a newline, a tab and a control character", "two\nlines\tand\x01"),
		Entry("braces that close a placeholder", "}}"),
		Entry("braces that open one", "{{"),
		Entry("another argument's placeholder, kept as it is: values are not substituted again", "{{args.other}}"),
		Entry("the placeholder of an argument with no value, kept as it is", "{{args.missing}}"),
		Entry("JSON", `{"a":"b"}`),
		Entry("non-ASCII text", "zürich ☃"),
		Entry("HTML-escaped characters", "<a & b>"),
		Entry("an empty value", ""),
	)

	DescribeTable("substitutes as Argo does",
		func(query string, want string) {
			Expect(queryOf(query, map[string]string{"a": "A", "b": "B"})).To(Equal(want))
		},
		Entry("every placeholder", "{{args.a}}-{{args.a}}", "A-A"),
		Entry("placeholders side by side", "{{args.a}}{{args.b}}", "AB"),
		Entry("a placeholder with spaces inside its braces", "{{ args.a }}", "A"),
		Entry("no placeholder", `sum(rate(x[1m]))`, `sum(rate(x[1m]))`),
		Entry("a placeholder not of an argument, left alone", "{{metric.name}} {{ inputs.a }}", "{{metric.name}} {{ inputs.a }}"),
		Entry("braces that close no placeholder", "}} {a}", "}} {a}"),
		Entry("braces that open no argument's placeholder", "{{ never closed", "{{ never closed"),
	)

	DescribeTable("refuses a placeholder it cannot fill, naming the argument",
		func(query string, message string) {
			_, err := queryOf(query, map[string]string{"a": "A"})
			Expect(err).To(MatchError(ContainSubstring(message)))
		},
		Entry("an argument with no value", `x{q="{{args.quote}}"}`, `"quote"`),
		Entry("one with spaces inside its braces", `x{q="{{ args.quote }}"}`, `"quote"`),
		Entry("a placeholder never closed", `x{q="{{args.a"}`, "not closed"),
	)

	It("refuses a value that is not UTF-8 text, which no string of the metric can hold, without quoting it", func() {
		_, err := queryOf("{{args.a}}", map[string]string{"a": "s3cr\xff"})
		Expect(err).To(MatchError(ContainSubstring(`argument "a"`)))
		Expect(err.Error()).NotTo(ContainSubstring("s3cr"))
	})

	It("names the metric whose placeholder it cannot fill", func() {
		_, err := Substitute(promMetric("{{args.nope}}"), nil)
		Expect(err).To(MatchError(HavePrefix(`metric "m": `)))
	})

	It("fills fields that are numbers or durations once substituted", func() {
		count := intstr.FromString("{{args.count}}")
		metrics := []rolloutsv1alpha1.Metric{{Name: "m", Count: &count, Interval: "{{args.interval}}"}}
		out, err := Substitute(metrics, map[string]string{"count": "3", "interval": "30s"})
		Expect(err).NotTo(HaveOccurred())
		Expect(out[0].Count.IntValue()).To(Equal(3))
		Expect(out[0].Interval.Duration()).To(Equal(30 * time.Second))
	})

	It("keeps the order of a web metric's JSON body", func() {
		metrics := []rolloutsv1alpha1.Metric{{Name: "m", Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{
			JSONBody: json.RawMessage(`{"z":1,"a":"{{args.a}}","m":[1.50,{"y":null,"b":false}]}`),
		}}}}
		out, err := Substitute(metrics, map[string]string{"a": `q"`})
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out[0].Provider.Web.JSONBody)).To(Equal(`{"z":1,"a":"q\"","m":[1.50,{"y":null,"b":false}]}`))
	})
})
