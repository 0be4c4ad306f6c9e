package analysis

import (
	"errors"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
)

var _ = Describe("Preparing a run", func() {
	const query = `rate(x{svc="{{args.svc}}",q="{{args.quote}}"}[1m])`
	runOf := func(args ...rolloutsv1alpha1.Argument) *rolloutsv1alpha1.AnalysisRun {
		run := &rolloutsv1alpha1.AnalysisRun{}
		run.Name, run.Namespace = "web-abc-2", "shop"
		run.Spec.Metrics = []rolloutsv1alpha1.Metric{{Name: "m", Provider: rolloutsv1alpha1.MetricProvider{
			Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: query},
		}}}
		run.Spec.Args = args
		return run
	}
	value := func(name, v string) rolloutsv1alpha1.Argument {
		return rolloutsv1alpha1.Argument{Name: name, Value: ptr.To(v)}
	}
	fieldRef := func(name, path string) rolloutsv1alpha1.Argument {
		return rolloutsv1alpha1.Argument{Name: name, ValueFrom: &rolloutsv1alpha1.ValueFrom{
			FieldRef: &rolloutsv1alpha1.FieldRef{FieldPath: path}}}
	}
	secretRef := func(name, secret, key string) rolloutsv1alpha1.Argument {
		return rolloutsv1alpha1.Argument{Name: name, ValueFrom: &rolloutsv1alpha1.ValueFrom{
			SecretKeyRef: &rolloutsv1alpha1.SecretKeyRef{Name: secret, Key: key}}}
	}
	// secrets answers creds/quote with its value; anything else is missing.
	secrets := func(v string) SecretLookup {
		return func(name, key string) (string, error) {
			if name != "creds" || key != "quote" {
				return "", errors.New("not found")
			}
			return v, nil
		}
	}

	DescribeTable("resolves arguments into the measured and the recorded query",
		func(args []rolloutsv1alpha1.Argument, lookup SecretLookup, measured, recorded string) {
			out, err := Prepare(runOf(args...), lookup)
			Expect(err).NotTo(HaveOccurred())
			Expect(out.Metrics[0].Provider.Prometheus.Query).To(Equal(measured))
			Expect(out.Recorded[0].Provider.Prometheus.Query).To(Equal(recorded))
		},
		Entry("values go in as they are, quotes included",
			[]rolloutsv1alpha1.Argument{value("svc", "web"), value("quote", `a"b`)}, nil,
			`rate(x{svc="web",q="a"b"}[1m])`, `rate(x{svc="web",q="a"b"}[1m])`),
		Entry("a fieldRef reads the run itself (a Rollout resolved its own before)",
			[]rolloutsv1alpha1.Argument{fieldRef("svc", "metadata.namespace"), value("quote", "q")}, nil,
			`rate(x{svc="shop",q="q"}[1m])`, `rate(x{svc="shop",q="q"}[1m])`),
		Entry("a Secret's value is measured with and recorded masked",
			[]rolloutsv1alpha1.Argument{value("svc", "web"), secretRef("quote", "creds", "quote")}, secrets("s3cr3t"),
			`rate(x{svc="web",q="s3cr3t"}[1m])`, `rate(x{svc="web",q="*****"}[1m])`),
		Entry("a Secret's value ending in a quote or a backslash goes in verbatim",
			[]rolloutsv1alpha1.Argument{value("svc", `web"`), secretRef("quote", "creds", "quote")}, secrets(`s3cr3t\"`),
			`rate(x{svc="web"",q="s3cr3t\""}[1m])`, `rate(x{svc="web"",q="*****"}[1m])`),
	)

	DescribeTable("names the argument it cannot resolve",
		func(args []rolloutsv1alpha1.Argument, lookup SecretLookup, want string) {
			_, err := Prepare(runOf(args...), lookup)
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("a placeholder with no argument value",
			[]rolloutsv1alpha1.Argument{value("svc", "web")}, nil, "quote"),
		Entry("a fieldRef naming no field",
			[]rolloutsv1alpha1.Argument{fieldRef("svc", "spec.nothing")}, nil, `argument "svc": field path "spec.nothing"`),
		Entry("a Secret that cannot be read",
			[]rolloutsv1alpha1.Argument{value("svc", "web"), secretRef("quote", "other", "k")}, secrets("s3cr3t"),
			`argument "quote": reading key "k" of Secret "other": not found`),
		Entry("a Secret where none may be read",
			[]rolloutsv1alpha1.Argument{value("svc", "web"), secretRef("quote", "creds", "quote")}, nil,
			`argument "quote": secrets cannot be read here`),
	)

	DescribeTable("masks a secret in the forms an error may quote it in",
		func(leaked string) {
			out, err := Prepare(runOf(value("svc", "web"), secretRef("quote", "creds", "quote")), secrets(`tok en"/\ü`))
			Expect(err).NotTo(HaveOccurred())
			Expect(out.Mask("at " + leaked + " refused")).To(Equal("at ***** refused"))
		},
		Entry("as it is", `tok en"/\ü`),
		Entry("in a URL's query", `tok+en%22%2F%5C%C3%BC`),
		Entry("in a URL's path", `tok%20en%22%2F%5C%C3%BC`),
		Entry("quoted in a Go or JSON string", `tok en\"/\\ü`),
	)

	It("records a measurement with secrets masked and the query in its recorded form", func() {
		out, err := Prepare(runOf(value("svc", "web"), secretRef("quote", "creds", "quote")), secrets("s3cr3t"))
		Expect(err).NotTo(HaveOccurred())
		m := rolloutsv1alpha1.Measurement{Value: "[s3cr3t]", Message: "refused s3cr3t",
			Metadata: map[string]string{"echo": "s3cr3t", ResolvedPrometheusQuery: out.Metrics[0].Provider.Prometheus.Query}}
		out.MaskMeasurement("m", &m)
		Expect(m).To(Equal(rolloutsv1alpha1.Measurement{Value: "[*****]", Message: "refused *****",
			Metadata: map[string]string{"echo": "*****", ResolvedPrometheusQuery: `rate(x{svc="web",q="*****"}[1m])`}}))
	})
})

var _ = Describe("Retention", func() {
	rules := []rolloutsv1alpha1.MeasurementRetention{{MetricName: "error-.*", Limit: 20}, {MetricName: "latency", Limit: 3}, {MetricName: "(", Limit: 7}}
	DescribeTable("finds a metric's measurement limit",
		func(metric string, want int) { Expect(Retention(rules, metric)).To(Equal(want)) },
		Entry("a regular expression", "error-rate", 20),
		Entry("an exact name", "latency", 3),
		Entry("a name only partly matching: the expression matches whole names", "latency-p99", 0),
		Entry("a rule that does not compile matches nothing", "(", 0),
		Entry("no rule: the default", "throughput", 0),
	)
})

var _ = Describe("Stopping", func() {
	runWith := func(terminate bool, phases map[string]rolloutsv1alpha1.AnalysisPhase) *rolloutsv1alpha1.AnalysisRun {
		run := &rolloutsv1alpha1.AnalysisRun{}
		run.Spec.Terminate = terminate
		for name, phase := range phases {
			run.Status.MetricResults = append(run.Status.MetricResults, rolloutsv1alpha1.MetricResult{Name: name, Phase: phase})
		}
		return run
	}
	dryRun := map[string]bool{"dry": true}
	DescribeTable("says whether a run takes new measurements",
		func(run *rolloutsv1alpha1.AnalysisRun, want bool) { Expect(Stopping(run, dryRun)).To(Equal(want)) },
		Entry("running metrics: measuring goes on", runWith(false, map[string]rolloutsv1alpha1.AnalysisPhase{"a": running, "b": successful}), false),
		Entry("spec.terminate stops it", runWith(true, nil), true),
		Entry("a failed metric ends the run", runWith(false, map[string]rolloutsv1alpha1.AnalysisPhase{"a": failed, "b": running}), true),
		Entry("so does an errored one", runWith(false, map[string]rolloutsv1alpha1.AnalysisPhase{"a": errored}), true),
		Entry("and an inconclusive one", runWith(false, map[string]rolloutsv1alpha1.AnalysisPhase{"a": inconclusive}), true),
		Entry("a dry-run metric's failure decides nothing", runWith(false, map[string]rolloutsv1alpha1.AnalysisPhase{"dry": failed, "a": running}), false),
	)
})

var _ = Describe("Writing a run's results", func() {
	It("adds a metric's result once, Running, marked as a dry run when it is one", func() {
		run := &rolloutsv1alpha1.AnalysisRun{}
		ResultOf(run, "m", true).Count = 1
		ResultOf(run, "m", true).Count++
		Expect(run.Status.MetricResults).To(Equal([]rolloutsv1alpha1.MetricResult{
			{Name: "m", Phase: running, DryRun: true, Count: 2}}))
	})

	DescribeTable("applies an assessment",
		func(assessed MetricAssessment, wantMessage string) {
			run := &rolloutsv1alpha1.AnalysisRun{}
			run.Status.MetricResults = []rolloutsv1alpha1.MetricResult{{Name: "m", Phase: running,
				Measurements: []rolloutsv1alpha1.Measurement{{Phase: failed, Message: "latest"}}}}
			ApplyAssessment(run, RunAssessment{Phase: assessed.Phase, Message: "run message",
				Metrics: map[string]MetricAssessment{"m": assessed}, Summary: rolloutsv1alpha1.RunSummary{Count: 1, Failed: 1}})
			Expect(run.Status.Phase).To(Equal(assessed.Phase))
			Expect(run.Status.Message).To(Equal("run message"))
			Expect(run.Status.RunSummary).To(Equal(rolloutsv1alpha1.RunSummary{Count: 1, Failed: 1}))
			Expect(run.Status.DryRunSummary).To(BeNil(), "no dry-run metric, no dry-run summary")
			Expect(run.Status.MetricResults[0].Phase).To(Equal(assessed.Phase))
			Expect(run.Status.MetricResults[0].Message).To(Equal(wantMessage))
		},
		Entry("the assessment's message when it has one", MetricAssessment{Phase: failed, Message: "failure limit reached"}, "failure limit reached"),
		Entry("else the latest measurement's", MetricAssessment{Phase: failed}, "latest"),
	)
})
