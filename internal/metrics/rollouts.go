package metrics

import (
	"slices"
	"strings"
	"sync/atomic"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The Rollout families, as Argo Rollouts serves them.
var (
	rolloutInfo = Family{Name: "rollout_info", Type: Gauge, Argo: true,
		Labels: []string{"namespace", "name", "strategy", "traffic_router", "phase"},
		Help:   "1 for each Rollout, labelled with its strategy, its traffic router and the phase Argo Rollouts reports in metrics."}
	rolloutReplicasAvailable = Family{Name: "rollout_info_replicas_available", Type: Gauge, Argo: true, Labels: namespaceName,
		Help: "A Rollout's available pods (status.availableReplicas)."}
	rolloutReplicasUnavailable = Family{Name: "rollout_info_replicas_unavailable", Type: Gauge, Argo: true, Labels: namespaceName,
		Help: "A Rollout's pods that are not available (status.replicas - status.availableReplicas)."}
	rolloutReplicasDesired = Family{Name: "rollout_info_replicas_desired", Type: Gauge, Argo: true, Labels: namespaceName,
		Help: "The pods a Rollout asks for (spec.replicas, 1 when unset)."}
	rolloutReplicasUpdated = Family{Name: "rollout_info_replicas_updated", Type: Gauge, Argo: true, Labels: namespaceName,
		Help: "A Rollout's pods of its current revision (status.updatedReplicas)."}
	rolloutPhase = Family{Name: "rollout_phase", Type: Gauge, Argo: true,
		Labels: []string{"namespace", "name", "strategy", "phase"},
		Help:   "Deprecated, as in Argo Rollouts: use rollout_info. One series per phase, 1 for the Rollout's phase and 0 for the others."}
	rolloutReconcile = Family{Name: "rollout_reconcile", Type: Histogram, Argo: true, Labels: namespaceName,
		Help: "How long a reconcile of a Rollout takes, in seconds."}
	rolloutReconcileError = Family{Name: "rollout_reconcile_error", Type: Counter, Argo: true, Labels: namespaceName,
		Help: "Reconciles of a Rollout that ended in an error."}
	rolloutEvents = Family{Name: "rollout_events_total", Type: Counter, Argo: true,
		Labels: []string{"namespace", "name", "type", "reason"},
		Help:   "Events recorded on a Rollout, by type (Normal, Warning) and reason."}
	analysisTemplateInfo = Family{Name: "analysis_template_info", Type: Gauge, Argo: true, Labels: namespaceName,
		Help: "1 for each AnalysisTemplate and ClusterAnalysisTemplate (namespace empty)."}
	analysisTemplateMetricInfo = Family{Name: "analysis_template_metric_info", Type: Gauge, Argo: true,
		Labels: []string{"namespace", "name", "type", "metric"},
		Help:   "1 for each metric of an analysis template, labelled with its provider type."}
)

// RolloutPhase is where a Rollout is, as Argo Rollouts reports it in
// rollout_info and rollout_phase. It is derived from the Rollout's
// conditions, not from status.phase: a finished Rollout is Completed here
// and Healthy there, and an aborted one Abort here and Degraded there.
type RolloutPhase string

// The phases of rollout_info, with Argo's values.
const (
	RolloutCompleted   RolloutPhase = "Completed"
	RolloutProgressing RolloutPhase = "Progressing"
	RolloutPaused      RolloutPhase = "Paused"
	RolloutTimeout     RolloutPhase = "Timeout"
	RolloutError       RolloutPhase = "Error"
	RolloutAbort       RolloutPhase = "Abort"
	RolloutInvalidSpec RolloutPhase = "InvalidSpec"
)

// deprecatedPhases are the phases rollout_phase has a series for: every
// phase but InvalidSpec, as in Argo.
var deprecatedPhases = []RolloutPhase{RolloutCompleted, RolloutProgressing, RolloutPaused, RolloutTimeout, RolloutError, RolloutAbort}

// The reasons of the Progressing condition that name a phase: Argo's
// (utils/conditions), which the Rollout controller writes too.
const (
	reasonNewReplicaSetAvailable = "NewReplicaSetAvailable"
	reasonPaused                 = "RolloutPaused"
	reasonReplicaSetCreateError  = "ReplicaSetCreateError"
	reasonProgressDeadline       = "ProgressDeadlineExceeded"
	reasonAborted                = "RolloutAborted"
)

// PhaseOf is a Rollout's phase as Argo Rollouts computes it for metrics:
// from the reason of its Progressing condition (Progressing when it has
// none, or another reason), and InvalidSpec whenever it has an InvalidSpec
// condition.
func PhaseOf(ro *rolloutsv1alpha1.Rollout) RolloutPhase {
	phase := RolloutProgressing
	for _, c := range ro.Status.Conditions {
		if c.Type == rolloutsv1alpha1.InvalidSpec {
			return RolloutInvalidSpec
		}
		if c.Type != rolloutsv1alpha1.RolloutProgressing {
			continue
		}
		switch c.Reason {
		case reasonNewReplicaSetAvailable:
			phase = RolloutCompleted
		case reasonPaused:
			phase = RolloutPaused
		case reasonReplicaSetCreateError:
			phase = RolloutError
		case reasonProgressDeadline:
			phase = RolloutTimeout
		case reasonAborted:
			phase = RolloutAbort
		}
	}
	return phase
}

// StrategyOf is a Rollout's strategy label: "canary", "blueGreen" or
// "none".
func StrategyOf(ro *rolloutsv1alpha1.Rollout) string {
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		return "blueGreen"
	case ro.Spec.Strategy.Canary != nil:
		return "canary"
	}
	return "none"
}

// TrafficRouterOf is a canary's traffic_router label. The routers Argo
// builds in have Argo's names, the last one set in Argo's order winning as
// it does there; for plugin routers, which Argo leaves unnamed, Sluice
// names the plugins (such as argoproj-labs/gatewayAPI, its Gateway API
// router). Empty without traffic routing.
func TrafficRouterOf(ro *rolloutsv1alpha1.Rollout) string {
	if ro.Spec.Strategy.BlueGreen != nil || ro.Spec.Strategy.Canary == nil || ro.Spec.Strategy.Canary.TrafficRouting == nil {
		return ""
	}
	tr := ro.Spec.Strategy.Canary.TrafficRouting
	router := ""
	for _, builtIn := range []struct {
		set  bool
		name string
	}{
		{tr.ALB != nil, "ALB"}, {tr.Ambassador != nil, "Ambassador"}, {tr.Istio != nil, "Istio"},
		{tr.Nginx != nil, "Nginx"}, {tr.SMI != nil, "SMI"}, {tr.AppMesh != nil, "AppMesh"},
	} {
		if builtIn.set {
			router = builtIn.name
		}
	}
	if router != "" || len(tr.Plugins) == 0 {
		return router
	}
	plugins := make([]string, 0, len(tr.Plugins))
	for name := range tr.Plugins {
		plugins = append(plugins, name)
	}
	slices.Sort(plugins)
	return strings.Join(plugins, ",")
}

// desiredReplicas is spec.replicas, 1 when unset, as the API defaults it.
func desiredReplicas(ro *rolloutsv1alpha1.Rollout) int32 {
	if ro.Spec.Replicas == nil {
		return 1
	}
	return *ro.Spec.Replicas
}

// RolloutMetrics are the families the Rollout controller serves.
type RolloutMetrics struct {
	reconciles
	events *prometheus.CounterVec
	descs  rolloutDescs
	cache  cache
	// clusterTemplates is false in namespaced mode, where the manager may
	// not list ClusterAnalysisTemplates.
	clusterTemplates atomic.Bool
}

type rolloutDescs struct {
	info, available, unavailable, desired, updated, phase, template, templateMetric *prometheus.Desc
}

// Rollouts are the Rollout families.
var Rollouts = newRolloutMetrics()

func newRolloutMetrics() *RolloutMetrics {
	m := &RolloutMetrics{
		reconciles: reconciles{
			duration: rolloutReconcile.histogramVec(reconcileBuckets),
			errors:   rolloutReconcileError.counterVec(),
		},
		events: rolloutEvents.counterVec(),
		descs: rolloutDescs{
			info: rolloutInfo.desc(), available: rolloutReplicasAvailable.desc(), unavailable: rolloutReplicasUnavailable.desc(),
			desired: rolloutReplicasDesired.desc(), updated: rolloutReplicasUpdated.desc(), phase: rolloutPhase.desc(),
			template: analysisTemplateInfo.desc(), templateMetric: analysisTemplateMetricInfo.desc(),
		},
	}
	m.others = []*prometheus.CounterVec{m.events}
	return m
}

// Register serves the Rollout families, reading Rollouts and analysis
// templates from reader (the manager's cache) at scrape time once elected
// is closed (the manager leads). The Rollout controller, which watches
// those kinds, calls it from its Setup.
func (m *RolloutMetrics) Register(reader client.Reader, elected <-chan struct{}, clusterTemplates bool) {
	m.clusterTemplates.Store(clusterTemplates)
	m.cache.set(reader, elected)
	register(m.collectors()...)
}

func (m *RolloutMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.duration, m.errors, m.events, (*rolloutCollector)(m)}
}

// rolloutCollector is RolloutMetrics as a prometheus.Collector of the
// families read from the cache.
type rolloutCollector RolloutMetrics

func (c *rolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	d := c.descs
	for _, desc := range []*prometheus.Desc{d.info, d.available, d.unavailable, d.desired, d.updated, d.phase, d.template, d.templateMetric} {
		ch <- desc
	}
}

func (c *rolloutCollector) Collect(ch chan<- prometheus.Metric) {
	var rollouts rolloutsv1alpha1.RolloutList
	if c.cache.list("Rollout", &rollouts) {
		for i := range rollouts.Items {
			c.collectRollout(ch, &rollouts.Items[i])
		}
	}
	var templates rolloutsv1alpha1.AnalysisTemplateList
	if c.cache.list("AnalysisTemplate", &templates) {
		for _, t := range templates.Items {
			c.collectTemplate(ch, t.Namespace, t.Name, t.Spec.Metrics)
		}
	}
	var clusterTemplates rolloutsv1alpha1.ClusterAnalysisTemplateList
	if c.clusterTemplates.Load() && c.cache.list("ClusterAnalysisTemplate", &clusterTemplates) {
		for _, t := range clusterTemplates.Items {
			c.collectTemplate(ch, "", t.Name, t.Spec.Metrics)
		}
	}
}

func (c *rolloutCollector) collectRollout(ch chan<- prometheus.Metric, ro *rolloutsv1alpha1.Rollout) {
	gauge := func(desc *prometheus.Desc, value float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, value, append([]string{ro.Namespace, ro.Name}, labels...)...)
	}
	strategy, phase := StrategyOf(ro), PhaseOf(ro)
	d := c.descs
	gauge(d.info, 1, strategy, TrafficRouterOf(ro), string(phase))
	gauge(d.available, float64(ro.Status.AvailableReplicas))
	gauge(d.unavailable, float64(ro.Status.Replicas-ro.Status.AvailableReplicas))
	gauge(d.desired, float64(desiredReplicas(ro)))
	gauge(d.updated, float64(ro.Status.UpdatedReplicas))
	for _, p := range deprecatedPhases {
		gauge(d.phase, boolFloat(p == phase), strategy, string(p))
	}
}

func (c *rolloutCollector) collectTemplate(ch chan<- prometheus.Metric, namespace, name string, metrics []rolloutsv1alpha1.Metric) {
	ch <- prometheus.MustNewConstMetric(c.descs.template, prometheus.GaugeValue, 1, namespace, name)
	for _, m := range metrics {
		ch <- prometheus.MustNewConstMetric(c.descs.templateMetric, prometheus.GaugeValue, 1, namespace, name, MetricTypeOf(m), m.Name)
	}
}
