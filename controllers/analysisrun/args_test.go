package analysisrun

import (
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestAnalysisRun(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "AnalysisRun controller")
}

var _ = Describe("resolveArgs", func() {
	metric := rolloutsv1alpha1.Metric{Name: "m", Provider: rolloutsv1alpha1.MetricProvider{
		Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: `rate(x{svc="{{args.svc}}",q="{{args.quote}}"}[1m])`},
	}}
	value := func(s string) *string { return &s }
	runOf := func(args ...rolloutsv1alpha1.Argument) *rolloutsv1alpha1.AnalysisRun {
		run := &rolloutsv1alpha1.AnalysisRun{}
		run.Name, run.Namespace = "web-abc-2", "shop"
		run.Spec.Metrics = []rolloutsv1alpha1.Metric{metric}
		run.Spec.Args = args
		return run
	}

	It("substitutes values as they are, quotes included", func() {
		out, err := resolveArgs(runOf(
			rolloutsv1alpha1.Argument{Name: "svc", Value: value("web")}, rolloutsv1alpha1.Argument{Name: "quote", Value: value(`a"b`)},
		), nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(out.metrics[0].Provider.Prometheus.Query).To(Equal(`rate(x{svc="web",q="a"b"}[1m])`))
	})

	It("names an argument with no value", func() {
		_, err := resolveArgs(runOf(rolloutsv1alpha1.Argument{Name: "svc", Value: value("web")}), nil)
		Expect(err).To(MatchError(ContainSubstring("quote")))
	})

	It("reads valueFrom.fieldRef from the run itself", func() {
		out, err := resolveArgs(runOf(
			rolloutsv1alpha1.Argument{Name: "svc", ValueFrom: &rolloutsv1alpha1.ValueFrom{FieldRef: &rolloutsv1alpha1.FieldRef{FieldPath: "metadata.namespace"}}},
			rolloutsv1alpha1.Argument{Name: "quote", Value: value("q")},
		), nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(out.metrics[0].Provider.Prometheus.Query).To(Equal(`rate(x{svc="shop",q="q"}[1m])`))
	})

	It("names the argument whose fieldRef names no field", func() {
		_, err := resolveArgs(runOf(
			rolloutsv1alpha1.Argument{Name: "svc", ValueFrom: &rolloutsv1alpha1.ValueFrom{FieldRef: &rolloutsv1alpha1.FieldRef{FieldPath: "spec.nothing"}}},
		), nil)
		Expect(err).To(MatchError(HavePrefix(`argument "svc": field path "spec.nothing"`)))
	})

	It("uses a Secret's value to measure and records it masked", func() {
		lookup := func(name, key string) (string, error) {
			Expect([]string{name, key}).To(Equal([]string{"creds", "quote"}))
			return "s3cr3t", nil
		}
		out, err := resolveArgs(runOf(
			rolloutsv1alpha1.Argument{Name: "svc", Value: value("web")},
			rolloutsv1alpha1.Argument{Name: "quote", ValueFrom: &rolloutsv1alpha1.ValueFrom{SecretKeyRef: &rolloutsv1alpha1.SecretKeyRef{Name: "creds", Key: "quote"}}},
		), lookup)
		Expect(err).NotTo(HaveOccurred())
		Expect(out.metrics[0].Provider.Prometheus.Query).To(ContainSubstring(`q="s3cr3t"`))
		Expect(out.masked[0].Provider.Prometheus.Query).To(ContainSubstring(`q="*****"`))
		Expect(out.mask("token s3cr3t refused")).To(Equal("token ***** refused"))
	})

	It("measures with a Secret's value that ends in a quote or a backslash, and records it masked", func() {
		lookup := func(string, string) (string, error) { return `s3cr3t\"`, nil }
		out, err := resolveArgs(runOf(
			rolloutsv1alpha1.Argument{Name: "svc", Value: value(`web"`)},
			rolloutsv1alpha1.Argument{Name: "quote", ValueFrom: &rolloutsv1alpha1.ValueFrom{SecretKeyRef: &rolloutsv1alpha1.SecretKeyRef{Name: "c", Key: "k"}}},
		), lookup)
		Expect(err).NotTo(HaveOccurred())
		Expect(out.metrics[0].Provider.Prometheus.Query).To(Equal(`rate(x{svc="web"",q="s3cr3t\""}[1m])`))
		Expect(out.masked[0].Provider.Prometheus.Query).To(Equal(`rate(x{svc="web"",q="*****"}[1m])`))
	})

	It("masks a secret in the forms an error may quote it in", func() {
		lookup := func(string, string) (string, error) { return `tok en"/\ü`, nil }
		out, err := resolveArgs(runOf(
			rolloutsv1alpha1.Argument{Name: "svc", Value: value("web")},
			rolloutsv1alpha1.Argument{Name: "quote", ValueFrom: &rolloutsv1alpha1.ValueFrom{SecretKeyRef: &rolloutsv1alpha1.SecretKeyRef{Name: "c", Key: "k"}}},
		), lookup)
		Expect(err).NotTo(HaveOccurred())
		for _, leaked := range []string{
			`tok en"/\ü`,              // as it is
			`tok+en%22%2F%5C%C3%BC`,   // in a URL's query
			`tok%20en%22%2F%5C%C3%BC`, // in a URL's path
			`tok en\"/\\ü`,            // quoted in a Go or JSON string
		} {
			Expect(out.mask("at "+leaked+" refused")).To(Equal("at ***** refused"), leaked)
		}
	})
})

var _ = Describe("retention", func() {
	rules := []rolloutsv1alpha1.MeasurementRetention{{MetricName: "error-.*", Limit: 20}, {MetricName: "latency", Limit: 3}}
	DescribeTable("finds a metric's measurement limit",
		func(metric string, want int) { Expect(retention(rules, metric)).To(Equal(want)) },
		Entry("a regular expression", "error-rate", 20),
		Entry("an exact name", "latency", 3),
		Entry("a name only partly matching", "latency-p99", 0),
		Entry("no rule: the default", "throughput", 0),
	)
})
