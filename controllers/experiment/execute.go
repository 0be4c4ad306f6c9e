package experiment

import (
	"context"
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sluicehq/sluice/controllers/experiment/plan"
	"github.com/sluicehq/sluice/controllers/internal/writes"
)

// execute applies a plan: the actions in order, stopping at the first
// failure, then the status in one patch if it changed, then the events.
func (r *Reconciler) execute(ctx context.Context, ex *rolloutsv1alpha1.Experiment, result plan.Result) error {
	logger := log.FromContext(ctx)
	for _, action := range result.Actions {
		logger.Info("executing", "action", action.String())
		if err := r.apply(ctx, ex, action); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
	}
	if !equality.Semantic.DeepEqual(ex.Status, result.Status) {
		// Optimistic lock: a plan made from a status older than the one
		// stored must not overwrite it. Argo's CRD has no status
		// subresource, so the patch goes to the Experiment itself and
		// holds only status.
		patch := client.MergeFromWithOptions(ex.DeepCopy(), client.MergeFromWithOptimisticLock{})
		ex.Status = result.Status
		if err := r.Client.Patch(ctx, ex, patch); err != nil {
			return fmt.Errorf("patching status: %w", err)
		}
	}
	for _, e := range result.Events {
		writes.Event(r.Recorder, ex, e.Warning, e.Reason, e.Message)
	}
	return nil
}

func (r *Reconciler) apply(ctx context.Context, ex *rolloutsv1alpha1.Experiment, action plan.Action) error {
	switch a := action.(type) {
	case plan.CreateReplicaSet:
		err := r.Client.Create(ctx, a.ReplicaSet)
		if apierrors.IsAlreadyExists(err) {
			return r.ownedAlready(ctx, ex, &appsv1.ReplicaSet{}, a.ReplicaSet.Name)
		}
		return err
	case plan.ScaleReplicaSet:
		return writes.MergePatch(ctx, r.Client, &appsv1.ReplicaSet{}, ex.Namespace, a.Name, fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.To))
	case plan.SetScaleDownDeadline:
		return writes.MergePatch(ctx, r.Client, &appsv1.ReplicaSet{}, ex.Namespace, a.Name, writes.ScaleDownDeadline(a.Deadline))
	case plan.CreateService:
		// One of that name that is not the template's shows in the next
		// observation, and the planner reports it.
		if err := r.Client.Create(ctx, a.Service); !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	case plan.DeleteService:
		return writes.Delete(ctx, r.Client, &corev1.Service{}, ex.Namespace, a.Name)
	case plan.CreateAnalysisRun:
		// A run already there was made by an earlier pass whose status
		// write was lost (the planner adopts it), or is someone else's
		// (the planner reports it).
		if err := r.Client.Create(ctx, a.Run); !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	case plan.TerminateAnalysisRun:
		return client.IgnoreNotFound(writes.MergePatch(ctx, r.Client, &rolloutsv1alpha1.AnalysisRun{}, ex.Namespace, a.Name,
			writes.Terminate))
	}
	return fmt.Errorf("unknown action %T", action)
}

// ownedAlready accepts an object that exists already when the Experiment
// controls it (the cache was behind) and refuses it otherwise.
func (r *Reconciler) ownedAlready(ctx context.Context, ex *rolloutsv1alpha1.Experiment, obj client.Object, name string) error {
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ex.Namespace, Name: name}, obj); err != nil {
		return err
	}
	if metav1.IsControlledBy(obj, ex) {
		return nil
	}
	return fmt.Errorf("%s already exists and is not this experiment's", name)
}
