// Package analysisrun is the AnalysisRun controller: it takes each metric's
// measurements when they fall due, through a provider, evaluates them with
// the metric's conditions, and writes the run's phase as analysis/ decides.
package analysisrun

import (
	"context"
	"fmt"
	"sync"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/analysis"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/metrics"
)

// Name is the controller's name in --controllers, logs and events.
const Name = "analysisrun"

// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=list

// Reconciler reconciles AnalysisRuns.
type Reconciler struct {
	Client client.Client
	// APIReader reads Secrets for arguments, around the cache.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// Clock is the one clock of the controller and its providers: when a
	// run started and completed, which measurements are due, when each
	// was taken. Tests pass a fake one to move time without sleeping.
	Clock clock.PassiveClock
	// Scope limits the controller to the runs of its instance and shard
	// (instance.Scope).
	Scope instance.Scope

	// The providers that take measurements, one for each kind of metric.
	Prometheus analysis.Prometheus
	Web        analysis.Web
	Job        analysis.Job

	// compiled caches each run's compiled conditions, so a condition is
	// compiled once per run, not at every measurement.
	compiled sync.Map // key: run UID + "/" + metric name -> *analysis.Conditions
}

// Options configure the AnalysisRun controller.
type Options struct {
	// Scope limits the controller to the AnalysisRuns of its instance
	// (labelled with the id, or with no such label without one, as Argo
	// Rollouts does) and of its shard.
	Scope instance.Scope
	// PrometheusAddress serves the metrics that name no address.
	PrometheusAddress string
	// Clock is the controller's clock; nil is the real one.
	Clock clock.PassiveClock
}

// Setup registers the AnalysisRun controller.
func Setup(mgr ctrl.Manager, opts Options) error {
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	r := &Reconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Recorder:   mgr.GetEventRecorder("sluice-analysisrun"),
		Clock:      clk,
		Scope:      opts.Scope,
		Prometheus: analysis.Prometheus{DefaultAddress: opts.PrometheusAddress, Clock: clk},
		Job:        analysis.Job{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: clk},
	}
	metrics.AnalysisRuns.Register(mgr.GetCache(), mgr.Elected())
	// Only this instance's and shard's runs: the manager's cache already
	// holds no other (controllers.CacheSelectors); the predicate says so again for
	// a manager whose cache was made otherwise. A metric's Job finishing
	// wakes its run.
	return ctrl.NewControllerManagedBy(mgr).Named(Name).
		For(&rolloutsv1alpha1.AnalysisRun{}, builder.WithPredicates(opts.Scope.Predicate())).
		Owns(&batchv1.Job{}).
		Complete(r)
}

// JobSelector selects the Jobs the manager caches: those of analysis
// metrics, not every Job of the cluster.
func JobSelector() labels.Selector {
	req, err := labels.NewRequirement(analysis.JobRunUIDLabel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant requirement
	}
	return labels.NewSelector().Add(*req)
}

// Reconcile takes the measurements that are due and assesses the run.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, err error) {
	var run rolloutsv1alpha1.AnalysisRun
	if err := r.Client.Get(ctx, req.NamespacedName, &run); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.AnalysisRuns.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if run.Status.Phase.Completed() || !run.DeletionTimestamp.IsZero() || !r.Scope.Handles(&run) {
		r.forget(&run)
		return ctrl.Result{}, nil
	}
	defer metrics.AnalysisRuns.Reconciling(req.NamespacedName).Done(&err)
	original := run.DeepCopy()
	now := r.Clock.Now()
	if run.Status.StartedAt == nil {
		run.Status.StartedAt = &metav1.Time{Time: now}
	}

	prepared, err := analysis.Prepare(&run, r.secretsOf(ctx, run.Namespace))
	var next time.Time
	if err != nil {
		run.Status.Phase, run.Status.Message = rolloutsv1alpha1.AnalysisPhaseError, err.Error()
	} else {
		next = r.measure(ctx, &run, prepared, now)
	}

	if run.Status.Phase.Completed() {
		run.Status.CompletedAt = &metav1.Time{Time: now}
		r.forget(&run)
		eventType := corev1.EventTypeNormal
		if run.Status.Phase != rolloutsv1alpha1.AnalysisPhaseSuccessful {
			eventType = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(&run, nil, eventType, "AnalysisRun"+string(run.Status.Phase), "Assessed",
			"AnalysisRun completed: %s %s", run.Status.Phase, run.Status.Message)
	}
	if !apiequality.Semantic.DeepEqual(original.Status, run.Status) {
		// Argo's AnalysisRun CRD has no status subresource: the status is
		// written with the object.
		patch := client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})
		if err := r.Client.Patch(ctx, &run, patch); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{}, nil // the newer version's event reconciles again
			}
			return ctrl.Result{}, err
		}
	}
	if next.IsZero() || run.Status.Phase.Completed() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), 100*time.Millisecond)}, nil
}

// measure takes the due measurements, records them and assesses the run.
// It returns when the next measurement falls due.
func (r *Reconciler) measure(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun, prepared analysis.Prepared,
	now time.Time) time.Time {
	dryRun := analysis.DryRunMetrics(run.Spec.DryRun, run.Spec.Metrics)
	due, next := analysis.Due(run, prepared.Metrics, analysis.Stopping(run, dryRun), now)
	for _, task := range due {
		keep := analysis.Retention(run.Spec.MeasurementRetention, task.Metric.Name)
		m := r.takeMeasurement(ctx, run, task, keep)
		prepared.MaskMeasurement(task.Metric.Name, &m)
		analysis.Record(analysis.ResultOf(run, task.Metric.Name, dryRun[task.Metric.Name]), m, task.Stop, keep)
		log.FromContext(ctx).V(1).Info("measured", "metric", task.Metric.Name, "phase", m.Phase, "value", m.Value)
	}
	// Measurements just taken set the next due time: look again.
	if len(due) > 0 {
		_, next = analysis.Due(run, prepared.Metrics, false, now)
	}
	analysis.ApplyAssessment(run, analysis.AssessRun(prepared.Metrics, run.Status.MetricResults, dryRun, run.Spec.Terminate))
	return next
}

// takeMeasurement asks the metric's provider and evaluates the answer with
// the metric's conditions, unless the provider decided the phase itself.
func (r *Reconciler) takeMeasurement(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun, task analysis.Task, keep int) rolloutsv1alpha1.Measurement {
	started := r.Clock.Now()
	if task.InFlight != nil && task.InFlight.StartedAt != nil {
		started = task.InFlight.StartedAt.Time
	}
	fail := func(err error, metadata map[string]string) rolloutsv1alpha1.Measurement {
		return analysis.Finished(rolloutsv1alpha1.AnalysisPhaseError, "", err.Error(), metadata, started, r.Clock.Now())
	}
	provider, err := r.providerFor(task.Metric)
	if err != nil {
		return fail(err, nil)
	}
	conditions, err := r.conditionsFor(run, task.Metric)
	if err != nil {
		return fail(err, nil)
	}
	measured, err := provider.Measure(ctx, analysis.Request{
		Run: run, Metric: task.Metric, InFlight: task.InFlight, Stop: task.Stop, Keep: keep,
	})
	if err != nil {
		return fail(err, measured.Metadata)
	}
	switch measured.Phase {
	case rolloutsv1alpha1.AnalysisPhaseRunning:
		return rolloutsv1alpha1.Measurement{
			Phase: measured.Phase, Metadata: measured.Metadata,
			StartedAt: &metav1.Time{Time: started}, ResumeAt: &metav1.Time{Time: measured.ResumeAt},
		}
	case "":
		phase, err := conditions.Evaluate(measured.Value)
		message := ""
		if err != nil {
			message = err.Error()
		}
		return analysis.Finished(phase, measured.Display, message, measured.Metadata, started, r.Clock.Now())
	default:
		return analysis.Finished(measured.Phase, measured.Display, measured.Message, measured.Metadata, started, r.Clock.Now())
	}
}

// providerFor picks the provider of a metric.
func (r *Reconciler) providerFor(metric rolloutsv1alpha1.Metric) (analysis.Provider, error) {
	switch {
	case metric.Provider.Prometheus != nil:
		return r.Prometheus, nil
	case metric.Provider.Web != nil:
		return r.Web, nil
	case metric.Provider.Job != nil:
		return r.Job, nil
	}
	return nil, fmt.Errorf("metric %q: Sluice measures with the prometheus, web and job providers, and this metric uses none of them", metric.Name)
}

func (r *Reconciler) conditionsFor(run *rolloutsv1alpha1.AnalysisRun, metric rolloutsv1alpha1.Metric) (*analysis.Conditions, error) {
	key := string(run.UID) + "/" + metric.Name
	if c, ok := r.compiled.Load(key); ok {
		return c.(*analysis.Conditions), nil
	}
	c, err := analysis.Compile(metric.SuccessCondition, metric.FailureCondition)
	if err != nil {
		return nil, err
	}
	r.compiled.Store(key, c)
	return c, nil
}

// secretsOf reads Secrets of a namespace for valueFrom.secretKeyRef
// arguments, around the cache: Secrets are not worth caching cluster-wide.
func (r *Reconciler) secretsOf(ctx context.Context, namespace string) analysis.SecretLookup {
	return func(name, key string) (string, error) {
		var secret corev1.Secret
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &secret); err != nil {
			return "", err
		}
		value, ok := secret.Data[key]
		if !ok {
			return "", fmt.Errorf("no key %q", key)
		}
		return string(value), nil
	}
}

// forget drops a finished run's compiled conditions.
func (r *Reconciler) forget(run *rolloutsv1alpha1.AnalysisRun) {
	for _, m := range run.Spec.Metrics {
		r.compiled.Delete(string(run.UID) + "/" + m.Name)
	}
}
