// Package rollout is the Rollout controller: thin glue that observes a
// Rollout and what it owns from the cache, asks the pure planner in
// controllers/rollout/plan what to do, and executes that plan.
package rollout

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/controllers/notifications"
	"github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/traffic/gatewayapi"
)

// Name is the controller's name in --controllers, logs and events.
const Name = "rollout"

// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=argoproj.io,resources=experiments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;patch
// +kubebuilder:rbac:groups="",resources=pods/eviction,verbs=create
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes,verbs=get;list;watch;patch

// Reconciler reconciles Rollouts.
type Reconciler struct {
	Client client.Client
	// APIReader reads around the cache: the Deployments of workloadRefs,
	// which are not worth caching in full.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// Now is the clock; tests set it to move pause timers without sleeping.
	Now func() time.Time
	// Router reads and writes the Gateway API routes of traffic routing.
	Router gatewayapi.Router

	// gatewayAPI is set once the cluster serves Gateway API's routes.
	gatewayAPI atomic.Bool
	// namespace is set in namespaced mode, where nothing cluster-scoped or
	// of another namespace is read: ClusterAnalysisTemplates, and routes of
	// other namespaces, are then not found.
	namespace    string
	unreadable   *Unreadable
	expectations expectations
	// sharded is set when the cache holds only one shard's objects
	// (--watch-label-selector): only then can a Rollout's children be out
	// of sight in another shard (adoptIntoShard).
	sharded bool
}

// Options configure the Rollout controller.
type Options struct {
	// Scope limits the controller to the Rollouts of its instance (those
	// labelled with the instance id, or with no such label without one, as
	// Argo Rollouts does, so two controllers can share a cluster) and of
	// its shard (--watch-label-selector).
	Scope instance.Scope
	// Namespace, when set, is namespaced mode: the manager's cache holds
	// that namespace alone and the controller reads nothing cluster-scoped
	// or elsewhere, so it needs no ClusterRole; ClusterAnalysisTemplates,
	// and routes of other namespaces, are then out of reach.
	Namespace string
	// Unreadable names the fields of cached Rollouts that did not decode
	// (see TolerantInformers); nil when the cache reads Rollouts typed.
	Unreadable *Unreadable
	// Notifications, when not nil, runs Argo Rollouts' notification
	// triggers on the controller's events.
	Notifications *notifications.Hub
}

// Setup registers the Rollout controller.
func Setup(mgr ctrl.Manager, opts Options) error {
	if err := indexOwners(context.Background(), mgr, opts.Namespace == ""); err != nil {
		return err
	}
	events, err := opts.Notifications.RolloutEvents(metrics.Rollouts.CountEvents(mgr.GetEventRecorder("sluice-rollout")))
	if err != nil {
		return err
	}
	r := &Reconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Recorder:   events,
		Now:        time.Now,
		Router:     gatewayapi.Router{Client: mgr.GetClient()},
		namespace:  opts.Namespace,
		unreadable: opts.Unreadable,
		sharded:    opts.Scope.Sharded(),
	}
	bldr := ctrl.NewControllerManagedBy(mgr).
		Named(Name).
		For(&rolloutsv1alpha1.Rollout{}, builder.WithPredicates(opts.Scope.Predicate())).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&rolloutsv1alpha1.AnalysisRun{}).
		Owns(&rolloutsv1alpha1.Experiment{}).
		// Only the metadata of Deployments is watched: a change wakes the
		// Rollouts whose workloadRef names it, which then read it whole.
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsIndexedBy(workloadIndex)), builder.OnlyMetadata).
		// A Service created after the Rollout that names it, or whose
		// selector someone changed, is looked at again.
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsIndexedBy(serviceIndex))).
		// Likewise an analysis template created or changed after the
		// Rollout that uses it.
		Watches(&rolloutsv1alpha1.AnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsUsingTemplate))
	if r.namespace == "" {
		bldr = bldr.Watches(&rolloutsv1alpha1.ClusterAnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsUsingTemplate))
	}
	c, err := bldr.Build(r)
	if err != nil {
		return err
	}
	// Rollouts and analysis templates are read from the cache this
	// controller's watches fill.
	metrics.Rollouts.Register(mgr.GetCache(), mgr.Elected(), r.namespace == "")
	// A route changed by someone else, or created after the Rollout that
	// names it, is looked at again. Gateway API's CRDs are optional: their
	// routes are watched from when the cluster serves them, start-up or later.
	return watchRoutes(mgr, c, r)
}

// rolloutsIndexedBy maps an object to the Rollouts in its namespace that
// name it, by a Rollout index.
func (r *Reconciler) rolloutsIndexedBy(index string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list rolloutsv1alpha1.RolloutList
		if err := r.Client.List(ctx, &list, client.InNamespace(obj.GetNamespace()),
			client.MatchingFields{index: obj.GetName()}); err != nil {
			log.FromContext(ctx).Error(err, "listing the Rollouts that name an object", "index", index)
			return nil
		}
		requests := make([]reconcile.Request, 0, len(list.Items))
		for _, ro := range list.Items {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
		}
		return requests
	}
}

// ReplicaSetSelector selects the ReplicaSets any Rollout controller made;
// the manager caches only those, not every Deployment's.
func ReplicaSetSelector() labels.Selector {
	req, err := labels.NewRequirement(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, selection.Exists, nil)
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*req)
}

// Reconcile observes, plans and executes once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, err error) {
	var ro rolloutsv1alpha1.Rollout
	if err := r.Client.Get(ctx, req.NamespacedName, &ro); err != nil {
		if apierrors.IsNotFound(err) {
			r.expectations.forget(req.NamespacedName)
			metrics.Rollouts.Forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ro.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the garbage collector removes what it owns
	}
	defer metrics.Rollouts.Reconciling(req.NamespacedName).Done(&err)
	obs, err := r.observe(ctx, &ro)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs.Unreadable = r.unreadable.Problem(&ro)
	if wait, stale := r.expectations.stale(req.NamespacedName, obs); stale {
		// The watch event of our own last write is on its way and will
		// reconcile again with a cache that shows it; the requeue is only
		// a safety net should that event never come.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	// After the wait for our own writes, so a cache that lags behind them
	// is not taken for children left in another shard.
	if adopted, err := r.adoptIntoShard(ctx, &ro, obs); err != nil || adopted {
		// The relabelled children's watch events reconcile again; the
		// requeue is only a safety net.
		return ctrl.Result{RequeueAfter: time.Second}, err
	}
	result := plan.Plan(obs)
	if err := r.execute(ctx, &ro, obs, result); err != nil {
		// Some of the plan's writes may not have happened: do not wait for
		// the cache to show them.
		r.expectations.forget(req.NamespacedName)
		if apierrors.IsConflict(err) || errors.Is(err, errPlanAgain) {
			// Someone (often the plugin) changed the Rollout since it was
			// read. The watch event of their change reconciles again, from
			// what is there now.
			log.FromContext(ctx).V(1).Info("conflict, waiting for the newer version", "error", err.Error())
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: result.RequeueAfter}, nil
}
