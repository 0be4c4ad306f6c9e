package application

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	appplan "github.com/sluicehq/sluice/controllers/application/plan"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
)

// The Ready reasons of an Application being deleted.
const (
	reasonDeleting     = "Deleting"
	reasonDeleteFailed = "DeleteFailed"
)

// ensureFinalizer adds Sluice's finalizer to an Application about to be
// synced, unless it opted out or carries one of Argo CD's, and takes it
// off one that opted out since (gitops.FinalizerToAdd, FinalizerToDrop).
// It is added before anything is applied, so nothing an Application
// applies can outlive it unnoticed. Neither patch overwrites a finalizer
// someone else added or removed meanwhile: the addition carries the
// resourceVersion it read, the removal tests what it removes. A patch
// that lost such a race asks for the reconcile again (a non-zero result),
// with nothing to report.
func (r *Reconciler) ensureFinalizer(ctx context.Context, app *gitopsv1alpha1.Application) (ctrl.Result, error) {
	var err error
	if drop := gitops.FinalizerToDrop(app.Finalizers, app.Annotations); drop != "" {
		err = client.IgnoreNotFound(r.removeFinalizers(ctx, app, []string{drop}))
	} else if add := gitops.FinalizerToAdd(app.Finalizers, app.Annotations); add != "" {
		// The resourceVersion read makes the patch fail if the
		// Application changed since.
		finalizers := append(slices.Clone(app.Finalizers), add)
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": finalizers, "resourceVersion": app.ResourceVersion}})
		err = r.Client.Patch(ctx, r.door.object(app), client.RawPatch(types.MergePatchType, patch))
		if err == nil {
			app.Finalizers = finalizers
		}
	}
	switch {
	case lostRace(err):
		return ctrl.Result{RequeueAfter: minRetry}, nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("updating the finalizers: %w", err)
	}
	return ctrl.Result{}, nil
}

// lostRace reports whether a finalizer patch failed because the
// Application changed since it was read: the reconcile is repeated.
func lostRace(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsInvalid(err)
}

// finalize deals with an Application being deleted that carries a
// finalizer Sluice handles (gitops.PlanCascade): it deletes the objects
// of its inventory that are still its own, keeps and unlabels those that
// opted out, waits until the deleted ones are gone, then removes the
// finalizers. It never fetches, renders or applies: an Application being
// deleted is never synced again.
//
// A failure (a service account forbidden to delete, say) is written to
// the Ready condition, naming the object, and retried with the
// Application's backoff, without a limit: the Application is held until
// its objects are dealt with or someone removes the finalizer.
func (r *Reconciler) finalize(ctx context.Context, app *gitopsv1alpha1.Application) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(app)
	var syncOptions []string
	if app.Spec.SyncPolicy != nil {
		syncOptions = app.Spec.SyncPolicy.SyncOptions
	}
	cascade := gitops.PlanCascade(app.Finalizers, app.Annotations, syncOptions)
	if len(cascade.Finalizers) == 0 {
		// Held only by someone else's finalizers: nothing of ours to do.
		r.forget(key)
		return ctrl.Result{}, nil
	}
	ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady)
	if ready == nil || (ready.Reason != reasonDeleting && ready.Reason != reasonDeleteFailed) {
		// Deletion begins: failed syncs before it do not lengthen the
		// backoff of its retries.
		r.memories.of(key, app.UID).deleteFailures = 0
		if cascade.Delete {
			r.Recorder.Eventf(r.door.object(app), nil, corev1.EventTypeNormal, reasonDeleting, "Delete",
				"deleting %d objects with %s propagation", len(app.Status.Inventory), strings.ToLower(string(cascade.Policy)))
		} else {
			r.Recorder.Eventf(r.door.object(app), nil, corev1.EventTypeNormal, reasonDeleting, "Delete",
				"leaving its objects in place (%s: \"false\")", gitopsv1alpha1.DeleteResourcesAnnotation)
		}
	}
	if cascade.Delete {
		before := slices.Clone(app.Status.Conditions)
		if result, waiting := r.deleteObjects(ctx, app, cascade.Policy); waiting {
			if err := r.patchConditions(ctx, app, before); err != nil {
				return ctrl.Result{}, fmt.Errorf("patching the status: %w", err)
			}
			return result, nil
		}
	}
	if err := r.removeFinalizers(ctx, app, cascade.Finalizers); err != nil {
		if lostRace(err) {
			// Someone changed the finalizers meanwhile: read them again.
			return ctrl.Result{RequeueAfter: minRetry}, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	log.FromContext(ctx).Info("finalized", "finalizers", cascade.Finalizers, "deleted", cascade.Delete)
	r.forget(key)
	return ctrl.Result{}, nil
}

// minRetry is how soon a finalizer patch that lost a race is tried again.
const minRetry = 100 * time.Millisecond

// deleteObjects makes one pass of the cascade as the Application's
// identity (the one it syncs as), and reports whether the Application is
// still to be held: objects are still being deleted, or a pass failed.
// The Ready condition says which.
func (r *Reconciler) deleteObjects(ctx context.Context, app *gitopsv1alpha1.Application, policy metav1.DeletionPropagation) (ctrl.Result, bool) {
	fail := func(err error) (ctrl.Result, bool) {
		mem := r.memories.of(client.ObjectKeyFromObject(app), app.UID)
		mem.deleteFailures++
		n := mem.deleteFailures
		// The Application's backoff, with no limit: giving up would hold
		// it for ever without trying again.
		retry := &gitopsv1alpha1.RetryStrategy{Limit: -1}
		if app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Retry != nil {
			retry.Backoff = app.Spec.SyncPolicy.Retry.Backoff
		}
		delay, _ := appplan.RetryDelay(retry, n)
		message := err.Error()
		if ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady); ready == nil || ready.Message != message {
			r.Recorder.Eventf(r.door.object(app), nil, corev1.EventTypeWarning, reasonDeleteFailed, "Delete", "%s", message)
		}
		log.FromContext(ctx).Info("deleting the Application's objects failed", "error", message, "retryAfter", delay)
		appplan.SetReady(app, false, reasonDeleteFailed, message, false)
		return ctrl.Result{RequeueAfter: delay}, true
	}
	who, err := r.identity(ctx, app, 0)
	if err != nil {
		return fail(err)
	}
	t, err := r.deletionTarget(ctx, app) // its destination cluster (clusters.go)
	if err != nil {
		return fail(err)
	}
	syncer, err := r.syncerFor(t, who)
	if err != nil {
		return fail(err)
	}
	result, err := syncer.Cascade(ctx, app.Status.Inventory, app, policy)
	if err != nil {
		return fail(err)
	}
	r.memories.of(client.ObjectKeyFromObject(app), app.UID).deleteFailures = 0
	if len(result.Waiting) == 0 {
		return ctrl.Result{}, false
	}
	names := make([]string, 0, len(result.Waiting))
	kinds := make([]schema.GroupVersionKind, 0, len(result.Waiting))
	for _, ref := range result.Waiting {
		names = append(names, ref.Kind+" "+ref.Name)
		kinds = append(kinds, schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind})
	}
	// Their deletion wakes the Application through the owned watches;
	// the recheck is for a kind not watched.
	if err := t.watches.watch(kinds); err != nil {
		log.FromContext(ctx).Error(err, "watching the objects being deleted; looking again in a while")
	}
	message := fmt.Sprintf("deleting its objects (%s propagation): waiting for %s", strings.ToLower(string(policy)), strings.Join(names, ", "))
	appplan.SetReady(app, false, reasonDeleting, message, false)
	appplan.SetReconciling(app, reasonDeleting, message)
	return ctrl.Result{RequeueAfter: appplan.WaitRecheck}, true
}

// patchConditions writes an Application's conditions if they changed
// from before: the only part of the status a deletion writes.
func (r *Reconciler) patchConditions(ctx context.Context, app *gitopsv1alpha1.Application, before []metav1.Condition) error {
	if apiequality.Semantic.DeepEqual(before, app.Status.Conditions) {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": app.Status.Conditions}})
	if err != nil {
		return err
	}
	err = r.Client.Status().Patch(ctx, r.door.object(app), client.RawPatch(types.MergePatchType, patch))
	return client.IgnoreNotFound(err)
}

// removeFinalizers takes finalizers off an Application with a JSON patch
// that tests each one where it was read and removes it there: a
// finalizer someone else added or removed meanwhile fails the patch
// (Invalid) rather than being overwritten.
func (r *Reconciler) removeFinalizers(ctx context.Context, app *gitopsv1alpha1.Application, finalizers []string) error {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value string `json:"value,omitempty"`
	}
	var ops []op
	// From the last, so removing one does not move the next.
	for i := len(app.Finalizers) - 1; i >= 0; i-- {
		if f := app.Finalizers[i]; slices.Contains(finalizers, f) {
			path := fmt.Sprintf("/metadata/finalizers/%d", i)
			ops = append(ops, op{Op: "test", Path: path, Value: f}, op{Op: "remove", Path: path})
		}
	}
	if len(ops) == 0 {
		return nil
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	return r.Client.Patch(ctx, r.door.object(app), client.RawPatch(types.JSONPatchType, patch))
}
