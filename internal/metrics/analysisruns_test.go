package metrics

import (
	"encoding/json"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func prometheusMetric(name string) rolloutsv1alpha1.Metric {
	return rolloutsv1alpha1.Metric{Name: name, Provider: rolloutsv1alpha1.MetricProvider{
		Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: "up"},
	}}
}

func webMetric(name string) rolloutsv1alpha1.Metric {
	return rolloutsv1alpha1.Metric{Name: name, Provider: rolloutsv1alpha1.MetricProvider{
		Web: &rolloutsv1alpha1.WebMetric{URL: "http://checks.shop/health"},
	}}
}

// run is an AnalysisRun of the given metrics and results.
func run(metrics []rolloutsv1alpha1.Metric, results ...rolloutsv1alpha1.MetricResult) *rolloutsv1alpha1.AnalysisRun {
	r := &rolloutsv1alpha1.AnalysisRun{}
	r.Namespace, r.Name = "shop", "web-6d4f-2-1"
	r.Spec.Metrics = metrics
	r.Status.MetricResults = results
	return r
}

var _ = Describe("MetricPhasesOf", func() {
	DescribeTable("labels each metric of a run",
		func(r *rolloutsv1alpha1.AnalysisRun, want []MetricPhase) {
			Expect(cmp.Diff(want, MetricPhasesOf(r))).To(BeEmpty())
		},
		Entry("a metric not measured yet is Pending",
			run([]rolloutsv1alpha1.Metric{prometheusMetric("error-rate")}),
			[]MetricPhase{{Metric: "error-rate", Type: "Prometheus", DryRun: "false", Phase: rolloutsv1alpha1.AnalysisPhasePending}}),
		Entry("each metric has its own result's phase, in the order of spec.metrics",
			run([]rolloutsv1alpha1.Metric{prometheusMetric("error-rate"), webMetric("health")},
				rolloutsv1alpha1.MetricResult{Name: "health", Phase: rolloutsv1alpha1.AnalysisPhaseFailed},
				rolloutsv1alpha1.MetricResult{Name: "error-rate", Phase: rolloutsv1alpha1.AnalysisPhaseSuccessful}),
			[]MetricPhase{
				{Metric: "error-rate", Type: "Prometheus", DryRun: "false", Phase: rolloutsv1alpha1.AnalysisPhaseSuccessful},
				{Metric: "health", Type: "Web", DryRun: "false", Phase: rolloutsv1alpha1.AnalysisPhaseFailed},
			}),
		Entry("a result with no phase yet is Pending",
			run([]rolloutsv1alpha1.Metric{webMetric("health")}, rolloutsv1alpha1.MetricResult{Name: "health"}),
			[]MetricPhase{{Metric: "health", Type: "Web", DryRun: "false", Phase: rolloutsv1alpha1.AnalysisPhasePending}}),
		Entry("dry-run metrics are those spec.dryRun names, as the controller decides them, before their first measurement too",
			func() *rolloutsv1alpha1.AnalysisRun {
				r := run([]rolloutsv1alpha1.Metric{prometheusMetric("error-rate"), webMetric("health")})
				r.Spec.DryRun = []rolloutsv1alpha1.DryRun{{MetricName: "health"}}
				return r
			}(),
			[]MetricPhase{
				{Metric: "error-rate", Type: "Prometheus", DryRun: "false", Phase: rolloutsv1alpha1.AnalysisPhasePending},
				{Metric: "health", Type: "Web", DryRun: "true", Phase: rolloutsv1alpha1.AnalysisPhasePending},
			}),
	)
})

var _ = Describe("MetricTypeOf", func() {
	DescribeTable("names a metric's provider as Argo does",
		func(p rolloutsv1alpha1.MetricProvider, want string) {
			Expect(MetricTypeOf(rolloutsv1alpha1.Metric{Name: "m", Provider: p})).To(Equal(want))
		},
		Entry("prometheus", rolloutsv1alpha1.MetricProvider{Prometheus: &rolloutsv1alpha1.PrometheusMetric{}}, "Prometheus"),
		Entry("web", rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{}}, "Web"),
		Entry("job", rolloutsv1alpha1.MetricProvider{Job: &rolloutsv1alpha1.JobMetric{}}, "Job"),
		Entry("a provider Sluice refuses still has Argo's name",
			rolloutsv1alpha1.MetricProvider{Datadog: &rolloutsv1alpha1.DatadogMetric{}}, "Datadog"),
		Entry("SkyWalking is lower case in Argo", rolloutsv1alpha1.MetricProvider{SkyWalking: &rolloutsv1alpha1.SkyWalkingMetric{}}, "skywalking"),
		Entry("any plugin", rolloutsv1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{"acme/metrics": nil}}, "RPCPlugin"),
		Entry("none", rolloutsv1alpha1.MetricProvider{}, "Unknown Provider"),
	)
})
