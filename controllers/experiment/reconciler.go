// Package experiment is the Experiment controller: thin glue that observes
// an Experiment and what it owns from the cache, asks the pure planner in
// controllers/experiment/plan what to do, and executes that plan. The
// AnalysisRuns it starts are run by the AnalysisRun controller.
package experiment

import (
	"context"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/controllers/experiment/plan"
	"github.com/sluicehq/sluice/internal/instance"
)

// Name is the controller's name in --controllers, logs and events.
const Name = "experiment"

// Argo's Experiment CRD has no status subresource: status is patched on the
// Experiment itself, as Argo does.
// +kubebuilder:rbac:groups=argoproj.io,resources=experiments,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;delete

// Reconciler reconciles Experiments.
type Reconciler struct {
	Client client.Client
	// APIReader reads around the cache: an AnalysisRun that status names
	// and the cache does not show yet, a ReplicaSet whose name is taken.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// Now is the clock; tests set it to move timers without sleeping.
	Now func() time.Time
	// namespace is set in namespaced mode, where ClusterAnalysisTemplates
	// are out of reach.
	namespace string
}

// Options configure the Experiment controller.
type Options struct {
	// Scope limits the controller to the Experiments of its instance
	// (labelled with the id, or with no such label without one) and of its
	// shard.
	Scope instance.Scope
	// Namespace, when set, is namespaced mode.
	Namespace string
}

// Setup registers the Experiment controller.
func Setup(mgr ctrl.Manager, opts Options) error {
	if err := indexOwners(context.Background(), mgr); err != nil {
		return err
	}
	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder("sluice-experiment"),
		Now:       time.Now,
		namespace: opts.Namespace,
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(Name).
		For(&rolloutsv1alpha1.Experiment{}, builder.WithPredicates(opts.Scope.Predicate())).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&rolloutsv1alpha1.AnalysisRun{}).
		Owns(&corev1.Service{}).
		Complete(r)
}

// Reconcile observes, plans and executes once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ex rolloutsv1alpha1.Experiment
	if err := r.Client.Get(ctx, req.NamespacedName, &ex); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ex.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the garbage collector removes what it owns
	}
	obs, err := r.observe(ctx, &ex)
	if err != nil {
		return ctrl.Result{}, err
	}
	result := plan.Plan(obs)
	if err := r.execute(ctx, &ex, result); err != nil {
		if apierrors.IsConflict(err) {
			// The Experiment changed since it was read (a terminate, or our
			// own last write the cache did not show yet): its watch event
			// plans again from what is there now.
			log.FromContext(ctx).V(1).Info("conflict, waiting for the newer version", "error", err.Error())
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: result.RequeueAfter}, nil
}
