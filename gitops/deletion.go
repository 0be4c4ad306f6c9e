package gitops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// argoCDFinalizers are Argo CD's finalizers, in no order: the first one an
// Application lists decides the policy, as in Argo CD.
var argoCDFinalizers = []string{
	gitopsv1alpha1.ArgoCDResourcesFinalizer,
	gitopsv1alpha1.ArgoCDForegroundFinalizer,
	gitopsv1alpha1.ArgoCDBackgroundFinalizer,
}

// handlesFinalizer reports whether Sluice acts on a finalizer.
func handlesFinalizer(f string) bool {
	return f == gitopsv1alpha1.ResourcesFinalizer || f == gitopsv1alpha1.FluxFinalizer || slices.Contains(argoCDFinalizers, f)
}

// OptedOutOfDeletion reports whether an Application's annotations say its
// objects stay when it is deleted.
func OptedOutOfDeletion(annotations map[string]string) bool {
	return strings.EqualFold(strings.TrimSpace(annotations[gitopsv1alpha1.DeleteResourcesAnnotation]), "false")
}

// FinalizerToAdd is the finalizer Sluice adds to an Application it is
// about to sync, or "" when the Application needs none: it opted out, or
// it already carries Sluice's or one of Argo CD's (which it keeps: an
// Application moved over from Argo CD is deleted as it was there).
func FinalizerToAdd(finalizers []string, annotations map[string]string) string {
	if OptedOutOfDeletion(annotations) || slices.ContainsFunc(finalizers, handlesFinalizer) {
		return ""
	}
	return gitopsv1alpha1.ResourcesFinalizer
}

// FinalizerToDrop is Sluice's own finalizer when an Application that
// carries it opted out since it was added, else "": an opted-out
// Application is not held by Sluice, so deleting it needs no controller.
// Argo CD's finalizers are the owner's to remove.
func FinalizerToDrop(finalizers []string, annotations map[string]string) string {
	if OptedOutOfDeletion(annotations) && slices.Contains(finalizers, gitopsv1alpha1.ResourcesFinalizer) {
		return gitopsv1alpha1.ResourcesFinalizer
	}
	return ""
}

// Cascade is what deleting an Application does to the objects it applied.
type Cascade struct {
	// Finalizers are the finalizers Sluice handles that the Application
	// carries; once its objects are dealt with, all of them are removed.
	// None means Sluice has nothing to do.
	Finalizers []string
	// Delete is false when the objects stay: the Application opted out.
	Delete bool
	// Policy is the propagation policy the objects are deleted with.
	Policy metav1.DeletionPropagation
}

// PlanCascade decides, from a deleted Application's finalizers,
// annotations and syncOptions, what happens to its objects. Argo CD's
// finalizer names its policy (foreground unless it is the /background
// one); Sluice's own takes PrunePropagationPolicy from syncOptions and is
// foreground without one, as Argo CD's deletion is. The
// DeleteResourcesAnnotation opt-out leaves the objects whatever the
// finalizer.
func PlanCascade(finalizers []string, annotations map[string]string, syncOptions []string) Cascade {
	var out Cascade
	for _, f := range finalizers {
		if handlesFinalizer(f) {
			out.Finalizers = append(out.Finalizers, f)
		}
	}
	if len(out.Finalizers) == 0 || OptedOutOfDeletion(annotations) {
		return out
	}
	out.Delete = true
	out.Policy = metav1.DeletePropagationForeground
	if slices.Contains(finalizers, gitopsv1alpha1.FluxFinalizer) {
		out.Policy = metav1.DeletePropagationBackground
		return out
	}
	if i := slices.IndexFunc(finalizers, func(f string) bool { return slices.Contains(argoCDFinalizers, f) }); i >= 0 {
		if finalizers[i] == gitopsv1alpha1.ArgoCDBackgroundFinalizer {
			out.Policy = metav1.DeletePropagationBackground
		}
		return out
	}
	if policy, ok := explicitPropagationPolicy(syncOptions); ok {
		out.Policy = policy
	}
	return out
}

// explicitPropagationPolicy is the PrunePropagationPolicy syncOptions set,
// if they set a valid one.
func explicitPropagationPolicy(syncOptions []string) (metav1.DeletionPropagation, bool) {
	var policy metav1.DeletionPropagation
	for _, o := range syncOptions {
		name, value, _ := strings.Cut(o, "=")
		if strings.TrimSpace(name) != "PrunePropagationPolicy" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(value)) {
		case "foreground":
			policy = metav1.DeletePropagationForeground
		case "background":
			policy = metav1.DeletePropagationBackground
		case "orphan":
			policy = metav1.DeletePropagationOrphan
		}
	}
	return policy, policy != ""
}

// Fate is what a cascade does to one object of an Application's inventory.
type Fate string

// The fates of an object when its Application is deleted.
const (
	// FateGone: it no longer exists, or its kind is gone.
	FateGone Fate = "Gone"
	// FateNotOurs: it no longer carries the Application's labels, so it
	// is someone else's now: left alone.
	FateNotOurs Fate = "NotOurs"
	// FateKeep: it opted out of deletion (DeletionDisabled); it stays, and
	// loses the Application's labels so nothing tracks it any more.
	FateKeep Fate = "Keep"
	// FateDelete: it is deleted, and waited for.
	FateDelete Fate = "Delete"
	// FateDeleting: it is being deleted already; waited for.
	FateDeleting Fate = "Deleting"
)

// FateOf decides what deleting an Application does to one of its objects,
// live (nil when it is gone), given the labels that mark it as the
// Application's.
func FateOf(live metav1.Object, owner map[string]string) Fate {
	switch {
	case live == nil:
		return FateGone
	case !carries(live.GetLabels(), owner):
		return FateNotOurs
	case DeletionDisabled(live.GetAnnotations()):
		return FateKeep
	case live.GetDeletionTimestamp() != nil:
		return FateDeleting
	default:
		return FateDelete
	}
}

// carries reports whether labels hold every owner label.
func carries(labels, owner map[string]string) bool {
	for k, v := range owner {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// DeletionDisabled reports whether an object stays when its Application
// is deleted: it opted out of pruning (PruneDisabled), or carries Argo
// CD's argocd.argoproj.io/sync-options: Delete=false.
func DeletionDisabled(annotations map[string]string) bool {
	return PruneDisabled(annotations) || hasArgoCDSyncOption(annotations, "Delete=false")
}

// CascadeResult is what one pass of a cascade found and did.
type CascadeResult struct {
	// Waiting are the objects deleted and not gone yet: the Application
	// is held until there are none.
	Waiting []gitopsv1alpha1.ObjectRef
	// Kept are the objects left in place, now without the Application's
	// labels.
	Kept []gitopsv1alpha1.ObjectRef
	// Deleted counts the objects this pass asked the API server to delete.
	Deleted int
}

// Cascade deletes, with policy, the objects of refs (a deleted
// Application's inventory) that still carry app's labels and did not opt
// out, and takes app's labels off those that opted out. It is a pass:
// called again until nothing is Waiting, it asks to delete each object
// once and then waits for it. A failure to read, delete or unlabel one
// object names it, and does not keep the others from being dealt with.
func (s *Syncer) Cascade(ctx context.Context, refs []gitopsv1alpha1.ObjectRef, app *gitopsv1alpha1.Application,
	policy metav1.DeletionPropagation) (CascadeResult, error) {
	owner := s.manager.GetOwnerLabels(app.Name, app.Namespace)
	var out CascadeResult
	var errs []error
	for _, ref := range refs {
		live, err := s.live(ctx, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var meta metav1.Object
		if live != nil {
			meta = live
		}
		switch FateOf(meta, owner) {
		case FateKeep:
			if err := s.Client.Patch(ctx, live, client.RawPatch(types.MergePatchType, withoutLabels(owner))); client.IgnoreNotFound(err) != nil {
				errs = append(errs, fmt.Errorf("taking the Application's labels off %s, which is kept: %w", describe(ref), err))
				continue
			}
			out.Kept = append(out.Kept, ref)
		case FateDeleting:
			out.Waiting = append(out.Waiting, ref)
		case FateDelete:
			if err := s.Client.Delete(ctx, live, client.PropagationPolicy(policy)); client.IgnoreNotFound(err) != nil {
				errs = append(errs, fmt.Errorf("deleting %s: %w", describe(ref), err))
				continue
			}
			out.Deleted++
			out.Waiting = append(out.Waiting, ref)
		}
	}
	return out, errors.Join(errs...)
}

// withoutLabels is a merge patch removing labels.
func withoutLabels(labels map[string]string) []byte {
	remove := map[string]any{}
	for k := range labels {
		remove[k] = nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": remove}})
	return patch
}

// describe names an object in a message: its kind, and its namespace and
// name.
func describe(ref gitopsv1alpha1.ObjectRef) string {
	if ref.Namespace == "" {
		return ref.Kind + " " + ref.Name
	}
	return ref.Kind + " " + ref.Namespace + "/" + ref.Name
}
