package rollout

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/internal/owned"
	"github.com/sluicehq/sluice/traffic"
)

// ownerIndex indexes ReplicaSets and AnalysisRuns by the name of the Rollout
// that controls them, so a reconcile lists only its own.
const ownerIndex = ".metadata.controller.rollout"

// workloadIndex indexes Rollouts by the Deployment their workloadRef names.
const workloadIndex = ".spec.workloadRef.deployment"

// serviceIndex indexes Rollouts by the Services their strategy names.
const serviceIndex = ".spec.strategy.services"

// managedByIndex indexes Services by the Rollout their managed-by
// annotation names.
const managedByIndex = ".metadata.annotations.managed-by-rollouts"

func indexOwners(ctx context.Context, mgr ctrl.Manager, clusterTemplates bool) error {
	byRollout := owned.ControllerName(rolloutsv1alpha1.SchemeGroupVersion.WithKind("Rollout"))
	if err := mgr.GetFieldIndexer().IndexField(ctx, &appsv1.ReplicaSet{}, ownerIndex, byRollout); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &rolloutsv1alpha1.AnalysisRun{}, ownerIndex, byRollout); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &rolloutsv1alpha1.Experiment{}, ownerIndex, byRollout); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &rolloutsv1alpha1.Rollout{}, workloadIndex, func(obj client.Object) []string {
		ref := obj.(*rolloutsv1alpha1.Rollout).Spec.WorkloadRef
		if ref == nil || ref.Kind != "Deployment" {
			return nil
		}
		return []string{ref.Name}
	}); err != nil {
		return err
	}
	if err := indexTemplates(ctx, mgr, clusterTemplates); err != nil {
		return err
	}
	if err := indexRoutes(ctx, mgr); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &corev1.Service{}, managedByIndex, func(obj client.Object) []string {
		if name := obj.GetAnnotations()[rolloutsv1alpha1.ManagedByRolloutsKey]; name != "" {
			return []string{name}
		}
		return nil
	}); err != nil {
		return err
	}
	return mgr.GetFieldIndexer().IndexField(ctx, &rolloutsv1alpha1.Rollout{}, serviceIndex, func(obj client.Object) []string {
		return plan.ServiceNames(obj.(*rolloutsv1alpha1.Rollout))
	})
}

// observe reads, from the cache, everything the planner looks at. It
// decides nothing.
func (r *Reconciler) observe(ctx context.Context, ro *rolloutsv1alpha1.Rollout) (plan.Observation, error) {
	obs := plan.Observation{Rollout: ro, Services: map[string]*corev1.Service{}, Now: r.Now()}
	byOwner := []client.ListOption{client.InNamespace(ro.Namespace), client.MatchingFields{ownerIndex: ro.Name}}

	var rsList appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &rsList, byOwner...); err != nil {
		return obs, err
	}
	orphans, err := r.orphansFor(ctx, ro)
	if err != nil {
		return obs, err
	}
	obs.Orphans = orphans
	obs.ReplicaSets = owned.ControlledBy(rsList.Items, ro)

	var runs rolloutsv1alpha1.AnalysisRunList
	if err := r.Client.List(ctx, &runs, byOwner...); err != nil {
		return obs, err
	}
	obs.AnalysisRuns = owned.ControlledBy(runs.Items, ro)

	var experiments rolloutsv1alpha1.ExperimentList
	if err := r.Client.List(ctx, &experiments, byOwner...); err != nil {
		return obs, err
	}
	obs.Experiments = owned.ControlledBy(experiments.Items, ro)

	if ref := ro.Spec.WorkloadRef; ref != nil && ref.Kind == "Deployment" {
		var dep appsv1.Deployment
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, &dep)
		switch {
		case apierrors.IsNotFound(err):
			// Left nil: the planner reports it.
		case err != nil:
			return obs, err
		default:
			obs.Workload = &dep
		}
	}

	if err := r.observeTemplates(ctx, ro, &obs); err != nil {
		return obs, err
	}

	if plan.RestartPending(obs) {
		pods, err := r.podsOf(ctx, ro, obs.ReplicaSets)
		if err != nil {
			return obs, err
		}
		obs.Pods = pods
	}

	if err := r.observeRoutes(ctx, ro, &obs); err != nil {
		return obs, err
	}

	var managed corev1.ServiceList
	if err := r.Client.List(ctx, &managed, client.InNamespace(ro.Namespace), client.MatchingFields{managedByIndex: ro.Name}); err != nil {
		return obs, err
	}
	for i := range managed.Items {
		obs.ManagedServices = append(obs.ManagedServices, &managed.Items[i])
	}

	for _, name := range plan.ServiceNames(ro) {
		var svc corev1.Service
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: name}, &svc)
		switch {
		case apierrors.IsNotFound(err):
			// Left out of the map: the planner reports it.
		case err != nil:
			return obs, err
		default:
			obs.Services[name] = &svc
		}
	}
	return obs, nil
}

// observeRoutes reads the Gateway API routes the Rollout's traffic routing
// names. Configuration errors are left to the planner to report.
func (r *Reconciler) observeRoutes(ctx context.Context, ro *rolloutsv1alpha1.Rollout, obs *plan.Observation) error {
	settings, invalid := traffic.SettingsOf(ro)
	if invalid != nil || settings == nil {
		return nil
	}
	if !r.gatewayAPI.Load() {
		// Without Gateway API's CRDs no route can exist.
		obs.MissingRoutes = settings.Routes
		return nil
	}
	if r.namespace != "" {
		// Namespaced mode: a route of another namespace is out of reach,
		// and reported as not found rather than read and refused.
		var reachable []traffic.RouteKey
		for _, key := range settings.Routes {
			if key.Namespace == r.namespace {
				reachable = append(reachable, key)
			} else {
				obs.MissingRoutes = append(obs.MissingRoutes, key)
			}
		}
		if len(obs.MissingRoutes) > 0 {
			return nil
		}
		settings.Routes = reachable
	}
	var err error
	obs.Routes, obs.MissingRoutes, err = r.Router.Read(ctx, settings)
	return err
}

// podsOf lists, around the cache, the pods of a Rollout's ReplicaSets. Pods
// are read only during a restart, so they are not worth an informer.
func (r *Reconciler) podsOf(ctx context.Context, ro *rolloutsv1alpha1.Rollout, replicaSets []*appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	owners := map[types.UID]bool{}
	for _, rs := range replicaSets {
		owners[rs.UID] = true
	}
	var list corev1.PodList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(ro.Namespace),
		client.HasLabels{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey}); err != nil {
		return nil, err
	}
	var pods []*corev1.Pod
	for i := range list.Items {
		if owner := metav1.GetControllerOf(&list.Items[i]); owner != nil && owners[owner.UID] {
			pods = append(pods, &list.Items[i])
		}
	}
	return pods, nil
}

// orphansFor lists the cached ReplicaSets of the Rollout's namespace that its
// selector matches and that no controller owns.
func (r *Reconciler) orphansFor(ctx context.Context, ro *rolloutsv1alpha1.Rollout) ([]*appsv1.ReplicaSet, error) {
	if ro.Spec.Selector == nil {
		return nil, nil // invalid, or a workloadRef's Deployment owns its own
	}
	selector, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil || selector.Empty() {
		return nil, nil // the planner reports an invalid selector
	}
	var list appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, err
	}
	var orphans []*appsv1.ReplicaSet
	for i := range list.Items {
		rs := &list.Items[i]
		if metav1.GetControllerOf(rs) == nil && rs.DeletionTimestamp == nil {
			orphans = append(orphans, rs)
		}
	}
	return orphans, nil
}
