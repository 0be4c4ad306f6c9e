package rollout

import (
	"context"
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sluicehq/sluice/controllers/rollout/plan"
)

// execute applies a plan: the actions in order, stopping at the first
// failure, then the status in one patch if it changed, then the events.
func (r *Reconciler) execute(ctx context.Context, ro *rolloutsv1alpha1.Rollout, obs plan.Observation, result plan.Result) error {
	logger := log.FromContext(ctx)
	writeStatus := plan.StatusNeedsWrite(&ro.Status, &result.Status)
	r.expectWrites(ro, obs, result, writeStatus)
	for _, action := range result.Actions {
		logger.Info("executing", "action", action.String())
		if err := r.apply(ctx, ro, action); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
	}
	if writeStatus {
		if debug := logger.V(1); debug.Enabled() {
			debug.Info("writing status", "diff", cmp.Diff(ro.Status, result.Status))
		}
		// Optimistic lock: status fields are also patched by people (the
		// plugin's promote and abort). A conflict means planning again
		// from their change, never overwriting it.
		patch := client.MergeFromWithOptions(ro.DeepCopy(), client.MergeFromWithOptimisticLock{})
		ro.Status = result.Status
		if err := r.Client.Status().Patch(ctx, ro, patch); err != nil {
			return fmt.Errorf("patching status: %w", err)
		}
	}
	for _, e := range result.Events {
		eventType := corev1.EventTypeNormal
		if e.Warning {
			eventType = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(ro, nil, eventType, e.Reason, e.Reason, "%s", e.Message)
	}
	return nil
}

func (r *Reconciler) apply(ctx context.Context, ro *rolloutsv1alpha1.Rollout, action plan.Action) error {
	switch a := action.(type) {
	case plan.CreateReplicaSet:
		return r.Client.Create(ctx, a.ReplicaSet)
	case plan.ScaleReplicaSet:
		return r.mergePatch(ctx, &appsv1.ReplicaSet{}, ro.Namespace, a.Name,
			fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.To))
	case plan.DeleteReplicaSet:
		rs := &appsv1.ReplicaSet{}
		rs.Namespace, rs.Name = ro.Namespace, a.Name
		return client.IgnoreNotFound(r.Client.Delete(ctx, rs))
	case plan.SetRevision:
		return r.mergePatch(ctx, &appsv1.ReplicaSet{}, ro.Namespace, a.Name,
			fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, plan.RevisionAnnotation, a.Revision))
	case plan.EvictPod:
		pod := &corev1.Pod{}
		pod.Namespace, pod.Name = ro.Namespace, a.Name
		err := r.Client.SubResource("eviction").Create(ctx, pod, &policyv1.Eviction{})
		if apierrors.IsTooManyRequests(err) {
			// A PodDisruptionBudget says not now; the restart looks again.
			log.FromContext(ctx).Info("eviction refused for now", "pod", a.Name, "reason", err.Error())
			return nil
		}
		return client.IgnoreNotFound(err)
	case plan.ScaleDeployment:
		return r.mergePatch(ctx, &appsv1.Deployment{}, ro.Namespace, a.Name,
			fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.To))
	case plan.SetServiceSelector:
		return r.mergePatch(ctx, &corev1.Service{}, ro.Namespace, a.Service,
			fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"selector":{%q:%q}}}`,
				plan.ManagedByAnnotation, ro.Name, plan.PodTemplateHashLabel, a.Hash))
	}
	return fmt.Errorf("unknown action %T", action)
}

// mergePatch sends a JSON merge patch that names only the fields the action
// changes, so other owners' fields are left alone.
func (r *Reconciler) mergePatch(ctx context.Context, obj client.Object, namespace, name, patch string) error {
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return r.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)))
}

// expectWrites records what the cache must show before the next plan: the
// ReplicaSets this plan creates or changes, and the Rollout's new status.
func (r *Reconciler) expectWrites(ro *rolloutsv1alpha1.Rollout, obs plan.Observation, result plan.Result, writeStatus bool) {
	replicaSets := map[string]func(*appsv1.ReplicaSet) bool{}
	for _, action := range result.Actions {
		switch a := action.(type) {
		case plan.CreateReplicaSet:
			replicaSets[a.ReplicaSet.Name] = func(rs *appsv1.ReplicaSet) bool { return rs != nil }
		case plan.ScaleReplicaSet:
			replicaSets[a.Name] = func(rs *appsv1.ReplicaSet) bool {
				return rs == nil || rs.Spec.Replicas == nil || *rs.Spec.Replicas == a.To
			}
		case plan.SetRevision:
			replicaSets[a.Name] = func(rs *appsv1.ReplicaSet) bool {
				return rs == nil || rs.Annotations[plan.RevisionAnnotation] == a.Revision
			}
		}
	}
	rolloutVersion := ""
	if writeStatus {
		rolloutVersion = ro.ResourceVersion
	}
	if rolloutVersion != "" || len(replicaSets) > 0 {
		r.expectations.expect(client.ObjectKeyFromObject(ro), obs.Now, rolloutVersion, replicaSets)
	}
}
