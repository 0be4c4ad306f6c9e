// Package analysisrun is the AnalysisRun controller: it takes each metric's
// measurements when they fall due, through a provider, evaluates them with
// the metric's conditions, and writes the run's phase as analysis/ decides.
package analysisrun

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/analysis"
	"github.com/sluicehq/sluice/internal/fieldref"
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
	Now       func() time.Time

	// The providers that take measurements, one for each kind of metric.
	Prometheus analysis.Prometheus
	Web        analysis.Web
	Job        analysis.Job

	// compiled caches each run's compiled conditions, so a condition is
	// compiled once per run, not at every measurement.
	compiled sync.Map // key: run UID + "/" + metric name -> *analysis.Conditions
}

// Setup registers the AnalysisRun controller. prometheusAddress serves the
// metrics that name no address.
func Setup(mgr ctrl.Manager, prometheusAddress string) error {
	r := &Reconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Recorder:   mgr.GetEventRecorder("sluice-analysisrun"),
		Now:        time.Now,
		Prometheus: analysis.Prometheus{DefaultAddress: prometheusAddress},
		Job:        analysis.Job{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Now: time.Now},
	}
	metrics.AnalysisRuns.Register(mgr.GetCache(), mgr.Elected())
	// A metric's Job finishing wakes its run.
	return ctrl.NewControllerManagedBy(mgr).Named(Name).
		For(&rolloutsv1alpha1.AnalysisRun{}).
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
	if run.Status.Phase.Completed() || !run.DeletionTimestamp.IsZero() {
		r.forget(&run)
		return ctrl.Result{}, nil
	}
	defer metrics.AnalysisRuns.Reconciling(req.NamespacedName).Done(&err)
	original := run.DeepCopy()
	now := r.Now()
	if run.Status.StartedAt == nil {
		run.Status.StartedAt = &metav1.Time{Time: now}
	}

	args, err := resolveArgs(&run, r.secretsOf(ctx, run.Namespace))
	dryRun := analysis.DryRunMetrics(run.Spec.DryRun, run.Spec.Metrics)
	var next time.Time
	if err != nil {
		run.Status.Phase, run.Status.Message = rolloutsv1alpha1.AnalysisPhaseError, err.Error()
	} else {
		next = r.measure(ctx, &run, args, dryRun, now)
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
func (r *Reconciler) measure(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun, args resolvedArgs,
	dryRun map[string]bool, now time.Time) time.Time {
	metrics := args.metrics
	terminating := run.Spec.Terminate
	for _, res := range run.Status.MetricResults {
		if !dryRun[res.Name] && (res.Phase == rolloutsv1alpha1.AnalysisPhaseFailed ||
			res.Phase == rolloutsv1alpha1.AnalysisPhaseError || res.Phase == rolloutsv1alpha1.AnalysisPhaseInconclusive) {
			terminating = true
		}
	}
	due, next := analysis.Due(run, metrics, terminating, now)
	for _, task := range due {
		keep := retention(run.Spec.MeasurementRetention, task.Metric.Name)
		m := r.takeMeasurement(ctx, run, task, keep)
		// What the run records and logs shows secrets masked: a provider
		// may echo them in its answer or its error.
		m.Value = args.mask(m.Value)
		m.Message = args.mask(m.Message)
		for k, v := range m.Metadata {
			m.Metadata[k] = args.mask(v)
		}
		if masked := maskedMetric(args, task.Metric.Name); masked != nil && masked.Provider.Prometheus != nil {
			m.Metadata[analysis.ResolvedPrometheusQuery] = masked.Provider.Prometheus.Query
		}
		result := resultFor(run, task.Metric.Name, dryRun[task.Metric.Name])
		analysis.Record(result, m, task.Stop, keep)
		log.FromContext(ctx).V(1).Info("measured", "metric", task.Metric.Name, "phase", m.Phase, "value", m.Value)
	}
	// Measurements just taken set the next due time: look again.
	if len(due) > 0 {
		_, next = analysis.Due(run, metrics, false, now)
	}

	assessment := analysis.AssessRun(metrics, run.Status.MetricResults, dryRun, run.Spec.Terminate)
	for i := range run.Status.MetricResults {
		res := &run.Status.MetricResults[i]
		if a, ok := assessment.Metrics[res.Name]; ok {
			res.Phase = a.Phase
			if a.Message != "" {
				res.Message = a.Message
			} else if n := len(res.Measurements); n > 0 {
				res.Message = res.Measurements[n-1].Message
			}
		}
	}
	run.Status.Phase, run.Status.Message = assessment.Phase, assessment.Message
	run.Status.RunSummary = assessment.Summary
	if assessment.DryRunSummary.Count > 0 {
		run.Status.DryRunSummary = &assessment.DryRunSummary
	}
	return next
}

// takeMeasurement asks the metric's provider and evaluates the answer with
// the metric's conditions, unless the provider decided the phase itself.
func (r *Reconciler) takeMeasurement(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun, task analysis.Task, keep int) rolloutsv1alpha1.Measurement {
	started := r.Now()
	if task.InFlight != nil && task.InFlight.StartedAt != nil {
		started = task.InFlight.StartedAt.Time
	}
	fail := func(err error, metadata map[string]string) rolloutsv1alpha1.Measurement {
		return analysis.Finished(rolloutsv1alpha1.AnalysisPhaseError, "", err.Error(), metadata, started, r.Now())
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
		return analysis.Finished(phase, measured.Display, message, measured.Metadata, started, r.Now())
	default:
		return analysis.Finished(measured.Phase, measured.Display, measured.Message, measured.Metadata, started, r.Now())
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

// maskedMetric is the recorded (secret-masked) form of a metric.
func maskedMetric(args resolvedArgs, name string) *rolloutsv1alpha1.Metric {
	for i := range args.masked {
		if args.masked[i].Name == name {
			return &args.masked[i]
		}
	}
	return nil
}

// secretsOf reads Secrets of a namespace for valueFrom.secretKeyRef
// arguments, around the cache: Secrets are not worth caching cluster-wide.
func (r *Reconciler) secretsOf(ctx context.Context, namespace string) secretLookup {
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

func resultFor(run *rolloutsv1alpha1.AnalysisRun, name string, dryRun bool) *rolloutsv1alpha1.MetricResult {
	for i := range run.Status.MetricResults {
		if run.Status.MetricResults[i].Name == name {
			return &run.Status.MetricResults[i]
		}
	}
	run.Status.MetricResults = append(run.Status.MetricResults, rolloutsv1alpha1.MetricResult{
		Name: name, Phase: rolloutsv1alpha1.AnalysisPhaseRunning, DryRun: dryRun,
	})
	return &run.Status.MetricResults[len(run.Status.MetricResults)-1]
}

// retention is how many measurements a metric keeps: the limit of the first
// spec.measurementRetention rule whose metricName (a regular expression, as
// in Argo) matches it, or 0 for the default.
func retention(rules []rolloutsv1alpha1.MeasurementRetention, metric string) int {
	for _, rule := range rules {
		if re, err := regexp.Compile("^(?:" + rule.MetricName + ")$"); err == nil && re.MatchString(metric) {
			return int(rule.Limit)
		}
	}
	return 0
}

// maskedSecret replaces a secret argument's value wherever the run records
// what it did: measurement metadata and messages.
const maskedSecret = "*****"

// secretLookup reads one key of a Secret in the run's namespace.
type secretLookup func(name, key string) (string, error)

// resolvedArgs are a run's metrics with {{args.NAME}} substituted: for
// measuring, and with secret values masked, for recording.
type resolvedArgs struct {
	metrics, masked []rolloutsv1alpha1.Metric
	secrets         []string
}

// resolveArgs substitutes {{args.NAME}} in the run's metrics with its
// argument values, read from a Secret for valueFrom.secretKeyRef and from a
// field of the run itself for valueFrom.fieldRef (a Rollout resolves its
// own fieldRefs when it creates a run). Secret values go only into the
// metrics used to measure; the masked copy, which is what the run records,
// shows them as *****.
func resolveArgs(run *rolloutsv1alpha1.AnalysisRun, secret secretLookup) (resolvedArgs, error) {
	values, masked := map[string]string{}, map[string]string{}
	var secrets []string
	for _, arg := range run.Spec.Args {
		switch {
		case arg.ValueFrom != nil && arg.ValueFrom.SecretKeyRef != nil:
			if secret == nil {
				return resolvedArgs{}, fmt.Errorf("argument %q: secrets cannot be read here", arg.Name)
			}
			ref := arg.ValueFrom.SecretKeyRef
			v, err := secret(ref.Name, ref.Key)
			if err != nil {
				return resolvedArgs{}, fmt.Errorf("argument %q: reading key %q of Secret %q: %w", arg.Name, ref.Key, ref.Name, err)
			}
			values[arg.Name], masked[arg.Name] = v, maskedSecret
			secrets = append(secrets, v)
		case arg.ValueFrom != nil && arg.ValueFrom.FieldRef != nil:
			v, err := fieldref.Value(run, arg.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return resolvedArgs{}, fmt.Errorf("argument %q: %w", arg.Name, err)
			}
			values[arg.Name], masked[arg.Name] = v, v
		case arg.Value != nil:
			values[arg.Name], masked[arg.Name] = *arg.Value, *arg.Value
		}
	}
	out := resolvedArgs{secrets: secrets}
	var err error
	if out.metrics, err = analysis.Substitute(run.Spec.Metrics, values); err != nil {
		return resolvedArgs{}, err
	}
	if out.masked, err = analysis.Substitute(run.Spec.Metrics, masked); err != nil {
		return resolvedArgs{}, err
	}
	return out, nil
}

// mask hides secret values in text the run records.
// A secret is also hidden in the forms an error message may quote it in:
// escaped for a URL's query or path, or quoted as a Go or JSON string.
func (r resolvedArgs) mask(text string) string {
	for _, s := range r.secrets {
		if s == "" {
			continue
		}
		quoted := strconv.Quote(s)
		json, _ := json.Marshal(s)
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s),
			quoted[1 : len(quoted)-1], string(json[1 : len(json)-1])} {
			text = strings.ReplaceAll(text, form, maskedSecret)
		}
	}
	return text
}
