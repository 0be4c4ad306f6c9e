package metrics

import (
	"strconv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/analysis"
)

// The AnalysisRun families, as Argo Rollouts serves them.
var (
	analysisRunInfo = Family{Name: "analysis_run_info", Type: Gauge, Argo: true,
		Labels: []string{"namespace", "name", "phase"},
		Help:   "1 for each AnalysisRun, labelled with its status.phase (empty before its first reconcile)."}
	analysisRunPhase = Family{Name: "analysis_run_phase", Type: Gauge, Argo: true,
		Labels: []string{"namespace", "name", "phase"},
		Help:   "Deprecated, as in Argo Rollouts: use analysis_run_info. One series per phase, 1 for the run's phase (Pending before it has one) and 0 for the others."}
	analysisRunMetricType = Family{Name: "analysis_run_metric_type", Type: Gauge, Argo: true,
		Labels: []string{"namespace", "name", "metric", "type"},
		Help:   "1 for each metric of an AnalysisRun, labelled with its provider type."}
	analysisRunMetricPhase = Family{Name: "analysis_run_metric_phase", Type: Gauge, Argo: true,
		Labels: []string{"namespace", "name", "metric", "type", "dry_run", "phase"},
		Help:   "One series per phase for each metric of an AnalysisRun, 1 for the metric's phase (Pending before its first measurement) and 0 for the others."}
	analysisRunReconcile = Family{Name: "analysis_run_reconcile", Type: Histogram, Argo: true, Labels: namespaceName,
		Help: "How long a reconcile of an AnalysisRun takes, in seconds."}
	analysisRunReconcileError = Family{Name: "analysis_run_reconcile_error", Type: Counter, Argo: true, Labels: namespaceName,
		Help: "Reconciles of an AnalysisRun that ended in an error."}
)

// analysisPhases are the phases the per-phase families have a series for,
// in Argo's order.
var analysisPhases = []rolloutsv1alpha1.AnalysisPhase{
	rolloutsv1alpha1.AnalysisPhasePending, rolloutsv1alpha1.AnalysisPhaseError, rolloutsv1alpha1.AnalysisPhaseFailed,
	rolloutsv1alpha1.AnalysisPhaseSuccessful, rolloutsv1alpha1.AnalysisPhaseRunning, rolloutsv1alpha1.AnalysisPhaseInconclusive,
}

// MetricTypeOf is a metric's type label: its provider, with Argo
// Rollouts' names (Argo's metricproviders.Type), for the providers Sluice
// measures with and for those it refuses.
func MetricTypeOf(m rolloutsv1alpha1.Metric) string {
	p := m.Provider
	switch {
	case p.Prometheus != nil:
		return "Prometheus"
	case p.Job != nil:
		return "Job"
	case p.Kayenta != nil:
		return "Kayenta"
	case p.Web != nil:
		return "Web"
	case p.Datadog != nil:
		return "Datadog"
	case p.Wavefront != nil:
		return "Wavefront"
	case p.NewRelic != nil:
		return "NewRelic"
	case p.CloudWatch != nil:
		return "CloudWatch"
	case p.Graphite != nil:
		return "Graphite"
	case p.Influxdb != nil:
		return "Influxdb"
	case p.SkyWalking != nil:
		return "skywalking"
	case p.Plugin != nil:
		return "RPCPlugin"
	}
	return "Unknown Provider"
}

// MetricPhase is one metric's series of analysis_run_metric_phase: its
// labels after the run's namespace and name.
type MetricPhase struct {
	Metric, Type, DryRun string
	// Phase is the metric's phase: Pending until it has a result.
	Phase rolloutsv1alpha1.AnalysisPhase
}

// MetricPhasesOf lists a run's metrics with their type, whether they are
// dry-run and their phase, in the order of spec.metrics.
func MetricPhasesOf(run *rolloutsv1alpha1.AnalysisRun) []MetricPhase {
	dryRun := analysis.DryRunMetrics(run.Spec.DryRun, run.Spec.Metrics)
	phases := map[string]rolloutsv1alpha1.AnalysisPhase{}
	for _, r := range run.Status.MetricResults {
		phases[r.Name] = r.Phase
	}
	out := make([]MetricPhase, 0, len(run.Spec.Metrics))
	for _, m := range run.Spec.Metrics {
		phase := phases[m.Name]
		if phase == "" {
			phase = rolloutsv1alpha1.AnalysisPhasePending
		}
		out = append(out, MetricPhase{Metric: m.Name, Type: MetricTypeOf(m), DryRun: strconv.FormatBool(dryRun[m.Name]), Phase: phase})
	}
	return out
}

// AnalysisRunMetrics are the families the AnalysisRun controller serves.
type AnalysisRunMetrics struct {
	reconciles
	info, phase, metricType, metricPhase *prometheus.Desc
	cache                                cache
}

// AnalysisRuns are the AnalysisRun families.
var AnalysisRuns = &AnalysisRunMetrics{
	reconciles: reconciles{
		duration: analysisRunReconcile.histogramVec(reconcileBuckets),
		errors:   analysisRunReconcileError.counterVec(),
	},
	info: analysisRunInfo.desc(), phase: analysisRunPhase.desc(),
	metricType: analysisRunMetricType.desc(), metricPhase: analysisRunMetricPhase.desc(),
}

// Register serves the AnalysisRun families, reading AnalysisRuns from
// reader (the manager's cache) at scrape time once elected is closed (the
// manager leads). The AnalysisRun controller, which watches them, calls it
// from its Setup.
func (m *AnalysisRunMetrics) Register(reader client.Reader, elected <-chan struct{}) {
	m.cache.set(reader, elected)
	register(m.collectors()...)
}

func (m *AnalysisRunMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.duration, m.errors, (*analysisRunCollector)(m)}
}

type analysisRunCollector AnalysisRunMetrics

func (c *analysisRunCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.phase, c.metricType, c.metricPhase} {
		ch <- d
	}
}

func (c *analysisRunCollector) Collect(ch chan<- prometheus.Metric) {
	var runs rolloutsv1alpha1.AnalysisRunList
	if !c.cache.list("AnalysisRun", &runs) {
		return
	}
	for i := range runs.Items {
		c.collectRun(ch, &runs.Items[i])
	}
}

func (c *analysisRunCollector) collectRun(ch chan<- prometheus.Metric, run *rolloutsv1alpha1.AnalysisRun) {
	gauge := func(desc *prometheus.Desc, value float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, value, append([]string{run.Namespace, run.Name}, labels...)...)
	}
	gauge(c.info, 1, string(run.Status.Phase))
	phase := run.Status.Phase
	if phase == "" {
		phase = rolloutsv1alpha1.AnalysisPhasePending
	}
	for _, p := range analysisPhases {
		gauge(c.phase, boolFloat(p == phase), string(p))
	}
	for _, m := range MetricPhasesOf(run) {
		gauge(c.metricType, 1, m.Metric, m.Type)
		for _, p := range analysisPhases {
			gauge(c.metricPhase, boolFloat(p == m.Phase), m.Metric, m.Type, m.DryRun, string(p))
		}
	}
}
