// Package metrics serves Sluice's Prometheus metrics on controller-runtime's
// registry, which the manager exposes at /metrics.
//
// For Rollouts, AnalysisRuns and Kubernetes API requests it serves the
// families Argo Rollouts v1.10 serves, with Argo's names, labels, label
// values and types, so the dashboards and alerts people already have for
// Argo Rollouts keep working. Applications get families of Sluice's own,
// prefixed sluice_. Families lists them all; docs/metrics.md explains them.
//
// Each controller registers the families of the kind it watches, from its
// Setup, never this package on its own: the collectors read their kind from
// the manager's cache when Prometheus scrapes, and a manager that runs only
// some controllers (--controllers), with RBAC for only those, must not start
// an informer for a kind nobody watches. Registering again, as tests that
// start one manager after another in a process do, points the collectors at
// the newest manager's cache.
package metrics

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Type is a family's Prometheus type.
type Type string

// The types of the families Sluice serves.
const (
	Gauge     Type = "gauge"
	Counter   Type = "counter"
	Histogram Type = "histogram"
)

// Family is one metric family Sluice serves.
type Family struct {
	Name   string
	Type   Type
	Labels []string
	Help   string
	// Argo is true when Argo Rollouts v1.10 serves the family under the
	// same name, with the same labels, label values and meaning.
	Argo bool
}

// Families lists every family Sluice serves, in the order docs/metrics.md
// explains them. A family appears in a scrape once the controller that
// serves it is running, and a histogram as its _bucket, _sum and _count
// series.
func Families() []Family {
	return []Family{
		rolloutInfo, rolloutReplicasAvailable, rolloutReplicasUnavailable, rolloutReplicasDesired,
		rolloutReplicasUpdated, rolloutPhase, rolloutReconcile, rolloutReconcileError, rolloutEvents,
		analysisTemplateInfo, analysisTemplateMetricInfo,
		analysisRunInfo, analysisRunPhase, analysisRunMetricType, analysisRunMetricPhase,
		analysisRunReconcile, analysisRunReconcileError,
		k8sRequests, eventsDropped,
		applicationInfo, applicationSyncs, applicationSyncFailures, applicationReconcile,
		notificationSendSuccess, notificationSendError, notificationSendPerformance, notificationDeliveries,
	}
}

// namespaceName are the labels of a family with a series per object.
var namespaceName = []string{"namespace", "name"}

// reconcileBuckets are Argo's buckets for rollout_reconcile and
// analysis_run_reconcile, in seconds; kept so the heatmaps of Argo's
// dashboard show the same rows.
var reconcileBuckets = []float64{0.01, 0.15, .25, .5, 1}

func (f Family) desc() *prometheus.Desc {
	return prometheus.NewDesc(f.Name, f.Help, f.Labels, nil)
}

func (f Family) counterVec() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: f.Name, Help: f.Help}, f.Labels)
}

func (f Family) histogramVec(buckets []float64) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: f.Name, Help: f.Help, Buckets: buckets}, f.Labels)
}

// register adds collectors to controller-runtime's registry once: a
// collector registered before is left as it is.
func register(collectors ...prometheus.Collector) {
	for _, c := range collectors {
		var already prometheus.AlreadyRegisteredError
		if err := crmetrics.Registry.Register(c); err != nil && !errors.As(err, &already) {
			// The families are constants of this package: a clash is a
			// mistake in it, found by its tests.
			panic(err)
		}
	}
}

// cache is what a collector lists its kind from at scrape time: the cache
// of the manager that registered it last, once that manager leads.
type cache struct{ source atomic.Pointer[source] }

type source struct {
	reader  client.Reader
	elected <-chan struct{}
}

func (c *cache) set(r client.Reader, elected <-chan struct{}) {
	c.source.Store(&source{reader: r, elected: elected})
}

// list reads a kind, or logs why it cannot; a scrape then goes without the
// collector's series rather than failing as a whole (as in Argo). A
// replica that does not lead serves none: its series would count every
// object a second time in a sum over replicas.
func (c *cache) list(kind string, list client.ObjectList) bool {
	s := c.source.Load()
	if s == nil {
		return false
	}
	select {
	case <-s.elected:
	default:
		return false
	}
	// Informers are started by the controllers; a scrape before they sync
	// waits, but not longer than Prometheus waits for the scrape.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Only read, never kept: no copy of every object at every scrape.
	if err := s.reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		ctrl.Log.WithName("metrics").V(1).Info("collecting from the cache", "kind", kind, "error", err.Error())
		return false
	}
	return true
}

// reconciles are the families a kind keeps for each of its objects while
// it exists: how long reconciles take, how many failed, and any others
// (a Rollout's events).
type reconciles struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	others   []*prometheus.CounterVec
}

// Reconciling starts timing one reconcile of the object of key.
func (r *reconciles) Reconciling(key types.NamespacedName) Reconcile {
	if r.errors != nil {
		// The object's error counter is served from 0, so that the
		// increase() of its first error shows.
		r.errors.WithLabelValues(key.Namespace, key.Name)
	}
	return Reconcile{of: r, key: key, started: time.Now()}
}

// Forget drops the series of an object that is gone, so a manager that
// outlives many objects does not serve them all.
func (r *reconciles) Forget(key types.NamespacedName) {
	labels := prometheus.Labels{"namespace": key.Namespace, "name": key.Name}
	r.duration.DeletePartialMatch(labels)
	if r.errors != nil {
		r.errors.DeletePartialMatch(labels)
	}
	for _, c := range r.others {
		c.DeletePartialMatch(labels)
	}
}

// Reconcile is one reconcile being timed.
type Reconcile struct {
	of      *reconciles
	key     types.NamespacedName
	started time.Time
}

// Done observes how long the reconcile took, and counts it as failed when
// *err is not nil. It takes the reconcile's error by pointer so that it can
// be deferred at the reconcile's start:
//
//	defer metrics.Rollouts.Reconciling(req.NamespacedName).Done(&err)
func (rc Reconcile) Done(err *error) {
	rc.of.duration.WithLabelValues(rc.key.Namespace, rc.key.Name).Observe(time.Since(rc.started).Seconds())
	if rc.of.errors != nil && err != nil && *err != nil {
		rc.of.errors.WithLabelValues(rc.key.Namespace, rc.key.Name).Inc()
	}
}

// boolFloat is 1 for true, as a gauge that says which of its series holds.
func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
