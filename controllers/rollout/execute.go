package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sluicehq/sluice/controllers/internal/writes"
	"github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/traffic"
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
	// Events are recorded on the Rollout as it was before the status
	// write, as Argo Rollouts records them: its notification templates
	// read the status the event's change started from, and, with a
	// workloadRef, the Deployment's pod template and selector in the
	// Rollout's spec, as Argo fills them in.
	regarding := ro
	if len(result.Events) > 0 && (writeStatus || obs.Workload != nil) {
		regarding = ro.DeepCopy()
		if w := obs.Workload; w != nil && regarding.Spec.WorkloadRef != nil {
			regarding.Spec.Template, regarding.Spec.Selector = *w.Spec.Template.DeepCopy(), w.Spec.Selector.DeepCopy()
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
		if err := r.patchStatus(ctx, ro, patch); err != nil {
			return fmt.Errorf("patching status: %w", err)
		}
	}
	for _, e := range result.Events {
		writes.Event(r.Recorder, regarding, e.Warning, e.Reason, e.Message)
	}
	return nil
}

func (r *Reconciler) apply(ctx context.Context, ro *rolloutsv1alpha1.Rollout, action plan.Action) error {
	switch a := action.(type) {
	case plan.CreateReplicaSet:
		err := r.Client.Create(ctx, a.ReplicaSet)
		if apierrors.IsAlreadyExists(err) {
			// Not ours (orphans are adopted before planning): another
			// controller's object holds the name. Count a collision, as
			// Argo does, so the next plan hashes the template to a new name.
			return r.countCollision(ctx, ro)
		}
		return err
	case plan.AdoptReplicaSet:
		return r.adopt(ctx, ro, a.Name)
	case plan.ScaleReplicaSet:
		return writes.MergePatch(ctx, r.Client, &appsv1.ReplicaSet{}, ro.Namespace, a.Name,
			fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.To))
	case plan.DeleteReplicaSet:
		return writes.Delete(ctx, r.Client, &appsv1.ReplicaSet{}, ro.Namespace, a.Name)
	case plan.SetRevision:
		return writes.MergePatch(ctx, r.Client, &appsv1.ReplicaSet{}, ro.Namespace, a.Name,
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
	case plan.SyncPodMetadata:
		return r.syncPodMetadata(ctx, ro, a)
	case plan.CreateAnalysisRun:
		if err := r.Client.Create(ctx, a.Run); !apierrors.IsAlreadyExists(err) {
			return err
		}
		return r.claimRun(ctx, ro, a.Run)
	case plan.DeleteAnalysisRun:
		return writes.Delete(ctx, r.Client, &rolloutsv1alpha1.AnalysisRun{}, ro.Namespace, a.Name)
	case plan.SupersedeAnalysisRun:
		return client.IgnoreNotFound(writes.MergePatch(ctx, r.Client, &rolloutsv1alpha1.AnalysisRun{}, ro.Namespace, a.Name,
			fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, plan.SupersededAnnotation)))
	case plan.TerminateAnalysisRun:
		return client.IgnoreNotFound(writes.MergePatch(ctx, r.Client, &rolloutsv1alpha1.AnalysisRun{}, ro.Namespace, a.Name,
			writes.Terminate))
	case plan.ScaleDeployment:
		// The annotation tells GitOps tools (Sluice's Applications among
		// them) that the Rollout owns these replicas now.
		return writes.MergePatch(ctx, r.Client, &appsv1.Deployment{}, ro.Namespace, a.Name,
			fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"replicas":%d}}`, rolloutsv1alpha1.ManagedByRolloutsKey, ro.Name, a.To))
	case plan.SetScaleDownDeadline:
		return writes.MergePatch(ctx, r.Client, &appsv1.ReplicaSet{}, ro.Namespace, a.Name, writes.ScaleDownDeadline(a.Deadline))
	case plan.SetTrafficWeight:
		settings, invalid := traffic.SettingsOf(ro)
		if invalid != nil || settings == nil {
			return errors.New("the Rollout's traffic routing is not valid") // planned on a valid one
		}
		return r.Router.SetWeight(ctx, settings, a.Weights(), a.InProgress)
	case plan.SetManagedRoutes:
		settings, invalid := traffic.SettingsOf(ro)
		if invalid != nil || settings == nil {
			return errors.New("the Rollout's traffic routing is not valid")
		}
		return r.Router.SetManagedRoutes(ctx, settings, a.Rules)
	case plan.ReleaseService:
		return client.IgnoreNotFound(writes.MergePatch(ctx, r.Client, &corev1.Service{}, ro.Namespace, a.Name,
			fmt.Sprintf(`{"metadata":{"annotations":{%q:null}},"spec":{"selector":{%q:null}}}`,
				rolloutsv1alpha1.ManagedByRolloutsKey, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey)))
	case plan.CreateExperiment:
		// One already there was made by an earlier pass whose write the
		// cache did not show yet.
		if err := r.Client.Create(ctx, a.Experiment); !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	case plan.TerminateExperiment:
		return client.IgnoreNotFound(writes.MergePatch(ctx, r.Client, &rolloutsv1alpha1.Experiment{}, ro.Namespace, a.Name,
			writes.Terminate))
	case plan.DeleteExperiment:
		return writes.Delete(ctx, r.Client, &rolloutsv1alpha1.Experiment{}, ro.Namespace, a.Name)
	case plan.SupersedeExperiment:
		return client.IgnoreNotFound(writes.MergePatch(ctx, r.Client, &rolloutsv1alpha1.Experiment{}, ro.Namespace, a.Name,
			fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, plan.SupersededAnnotation)))
	case plan.SetServiceSelector:
		return writes.MergePatch(ctx, r.Client, &corev1.Service{}, ro.Namespace, a.Service,
			fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"selector":{%q:%q}}}`,
				rolloutsv1alpha1.ManagedByRolloutsKey, ro.Name, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, a.Hash))
	}
	return fmt.Errorf("unknown action %T", action)
}

// claimRun deals with a run to create that is already there. Usually an
// earlier pass made it and the cache does not show it yet: nothing to do.
// But the cache holds only this instance's and shard's runs, so a run of
// this Rollout with another instance or shard label, or none, never shows:
// one made before the Rollout was labelled for this instance or moved to
// this shard (or by a Sluice that did not label its runs). Left so, the
// Rollout would wait on it forever; it is the Rollout's run, so it takes
// the Rollout's labels, which hands it, and its measurements so far, to
// this manager's AnalysisRun controller.
func (r *Reconciler) claimRun(ctx context.Context, ro *rolloutsv1alpha1.Rollout, want *rolloutsv1alpha1.AnalysisRun) error {
	var run rolloutsv1alpha1.AnalysisRun
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), &run); err != nil {
		return client.IgnoreNotFound(err) // gone since: the next pass creates it
	}
	if !metav1.IsControlledBy(&run, ro) {
		return nil
	}
	patch := writes.LabelsPatch(run.Labels, want.Labels, instance.Label, instance.ShardLabel)
	if patch == "" {
		return nil
	}
	log.FromContext(ctx).Info("claiming an AnalysisRun of this Rollout labelled for another instance or shard", "run", run.Name)
	return writes.MergePatch(ctx, r.Client, &rolloutsv1alpha1.AnalysisRun{}, run.Namespace, run.Name, patch)
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
		case plan.SetScaleDownDeadline:
			replicaSets[a.Name] = func(rs *appsv1.ReplicaSet) bool {
				return rs == nil || rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] == a.Deadline
			}
		case plan.SyncPodMetadata:
			replicaSets[a.ReplicaSet] = func(rs *appsv1.ReplicaSet) bool {
				return rs == nil || rs.Annotations[plan.EphemeralMetadataAnnotation] == plan.EncodeMetadata(a.To)
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

// syncPodMetadata moves a ReplicaSet's pods from one role's metadata to
// another's, in the order that survives a crash half-way: the pod template
// first, so pods created meanwhile get the new metadata; then the existing
// pods; last the record on the ReplicaSet, so an interrupted sync is planned
// again and finished.
func (r *Reconciler) syncPodMetadata(ctx context.Context, ro *rolloutsv1alpha1.Rollout, a plan.SyncPodMetadata) error {
	change, err := json.Marshal(metadataChange(a.From, a.To))
	if err != nil {
		return err
	}
	templatePatch := fmt.Sprintf(`{"spec":{"template":{"metadata":%s}}}`, change)
	if err := writes.MergePatch(ctx, r.Client, &appsv1.ReplicaSet{}, ro.Namespace, a.ReplicaSet, templatePatch); err != nil {
		return err
	}
	var rs appsv1.ReplicaSet
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: a.ReplicaSet}, &rs); err != nil {
		return err
	}
	pods, err := r.podsOf(ctx, ro, []*appsv1.ReplicaSet{&rs})
	if err != nil {
		return err
	}
	podPatch := fmt.Sprintf(`{"metadata":%s}`, change)
	for _, pod := range pods {
		if err := writes.MergePatch(ctx, r.Client, &corev1.Pod{}, ro.Namespace, pod.Name, podPatch); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	record := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, plan.EphemeralMetadataAnnotation, plan.EncodeMetadata(a.To))
	return writes.MergePatch(ctx, r.Client, &appsv1.ReplicaSet{}, ro.Namespace, a.ReplicaSet, record)
}

// metadataChange is the merge patch of object metadata that removes one
// role's labels and annotations (null) and sets another's.
func metadataChange(from, to *rolloutsv1alpha1.PodTemplateMetadata) map[string]map[string]*string {
	change := map[string]map[string]*string{"labels": {}, "annotations": {}}
	if from != nil {
		for k := range from.Labels {
			change["labels"][k] = nil
		}
		for k := range from.Annotations {
			change["annotations"][k] = nil
		}
	}
	if to != nil {
		for k, v := range to.Labels {
			change["labels"][k] = &v
		}
		for k, v := range to.Annotations {
			change["annotations"][k] = &v
		}
	}
	return change
}

// adopt makes the Rollout the controller of an orphaned ReplicaSet. The
// patch carries the resourceVersion read, so a ReplicaSet claimed by someone
// else meanwhile is not taken.
func (r *Reconciler) adopt(ctx context.Context, ro *rolloutsv1alpha1.Rollout, name string) error {
	var rs appsv1.ReplicaSet
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: name}, &rs); err != nil {
		return client.IgnoreNotFound(err)
	}
	if metav1.GetControllerOf(&rs) != nil {
		return nil
	}
	patch := client.MergeFromWithOptions(rs.DeepCopy(), client.MergeFromWithOptimisticLock{})
	rs.OwnerReferences = append(rs.OwnerReferences,
		*metav1.NewControllerRef(ro, rolloutsv1alpha1.SchemeGroupVersion.WithKind("Rollout")))
	return r.Client.Patch(ctx, &rs, patch)
}

// countCollision raises status.collisionCount by one.
func (r *Reconciler) countCollision(ctx context.Context, ro *rolloutsv1alpha1.Rollout) error {
	var count int32
	if ro.Status.CollisionCount != nil {
		count = *ro.Status.CollisionCount
	}
	patch := fmt.Sprintf(`{"status":{"collisionCount":%d}}`, count+1)
	if err := r.Client.Status().Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return err
	}
	// The rest of this plan was made for the old name: stop here. The
	// status change wakes the controller to plan again.
	return errPlanAgain
}

// patchStatus sends a status patch made from the typed Rollout, and reads
// the answer as an unstructured object: the stored Rollout may hold a
// field the typed one cannot decode (see TolerantInformers), and its
// status must be written all the same.
func (r *Reconciler) patchStatus(ctx context.Context, ro *rolloutsv1alpha1.Rollout, patch client.Patch) error {
	data, err := patch.Data(ro)
	if err != nil {
		return err
	}
	answer := &unstructured.Unstructured{}
	answer.SetGroupVersionKind(rolloutsv1alpha1.SchemeGroupVersion.WithKind("Rollout"))
	answer.SetNamespace(ro.Namespace)
	answer.SetName(ro.Name)
	return r.Client.Status().Patch(ctx, answer, client.RawPatch(patch.Type(), data))
}

// errPlanAgain stops a plan half-way on purpose; it is not a failure.
var errPlanAgain = errors.New("the plan is out of date; planning again")
