package gitops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	"github.com/fluxcd/pkg/ssa/utils"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Replace=true writes an object whole, as kubectl create and kubectl
// replace do: what the object does not set is cleared, where a
// server-side apply would leave other managers' fields alone. It is for
// objects an apply cannot write: too large for the last-applied
// annotation a client-side tool would add, or whose fields a stale
// manager holds. Only an object that changed is written: a dry run of the
// update is compared with the live object first, so a resync writes
// nothing. The fields the rollout controller owns (RolloutOwnedFields)
// are kept from the live object, as an apply leaves them: a replace must
// not undo a canary either.

// replaceAll replaces objects in order, adding what it did to changes.
func (s *Syncer) replaceAll(ctx context.Context, objects []*unstructured.Unstructured, options SyncOptions, changes *ssa.ChangeSet) error {
	for _, o := range objects {
		action, err := s.replace(ctx, o, options.ForObject(o.GetAnnotations()).Force)
		if err != nil {
			return err
		}
		changes.Add(ssa.ChangeSetEntry{
			ObjMetadata:  object.UnstructuredToObjMetadata(o),
			GroupVersion: o.GroupVersionKind().Version,
			Subject:      utils.FmtUnstructured(o),
			Action:       action,
		})
	}
	return nil
}

// replace creates o, or updates the live object to it when that changes
// it; with force, an update refused for an immutable field deletes the
// object and creates it again.
func (s *Syncer) replace(ctx context.Context, o *unstructured.Unstructured, force bool) (ssa.Action, error) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	err := s.Client.Get(ctx, client.ObjectKeyFromObject(o), live)
	if apierrors.IsNotFound(err) {
		if err := s.Client.Create(ctx, o.DeepCopy(), client.FieldOwner(FieldManager)); err != nil {
			return "", fmt.Errorf("%s: creating: %w", subject(o), err)
		}
		return ssa.CreatedAction, nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: reading: %w", subject(o), err)
	}
	desired, err := keepRolloutOwned(live, o)
	if err != nil {
		return "", err
	}
	desired.SetResourceVersion(live.GetResourceVersion())
	dryRun := desired.DeepCopy()
	if err := s.Client.Update(ctx, dryRun, client.DryRunAll, client.FieldOwner(FieldManager)); err != nil {
		if force && ssaerrors.IsImmutableError(err) {
			return s.recreate(ctx, live, o)
		}
		return "", fmt.Errorf("%s: replacing: %w", subject(o), err)
	}
	if sameObject(live, dryRun) {
		return ssa.UnchangedAction, nil
	}
	if err := s.Client.Update(ctx, desired, client.FieldOwner(FieldManager)); err != nil {
		return "", fmt.Errorf("%s: replacing: %w", subject(o), err)
	}
	return ssa.ConfiguredAction, nil
}

// recreate deletes live, waits until it is gone (its finalizers done),
// and creates o.
func (s *Syncer) recreate(ctx context.Context, live, o *unstructured.Unstructured) (ssa.Action, error) {
	if err := s.Client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return "", fmt.Errorf("%s: deleting to recreate it (Force): %w", subject(o), err)
	}
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		gone := &metav1.PartialObjectMetadata{}
		gone.SetGroupVersionKind(o.GroupVersionKind())
		err := s.Client.Get(ctx, client.ObjectKeyFromObject(o), gone)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return "", fmt.Errorf("%s: waiting for it to be deleted (Force): %w", subject(o), err)
	}
	if err := s.Client.Create(ctx, o.DeepCopy(), client.FieldOwner(FieldManager)); err != nil {
		return "", fmt.Errorf("%s: creating again (Force): %w", subject(o), err)
	}
	return ssa.CreatedAction, nil
}

// keepRolloutOwned returns a copy of desired holding the live object's
// values of the fields the rollout controller owns, where a rule of
// RolloutOwnedFields selects the live object, and the annotation or label
// that made it select it.
func keepRolloutOwned(live, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	out := desired.DeepCopy()
	for _, rule := range RolloutOwnedFields {
		selector, err := jsondiff.NewSelectorRegex(rule.Selector)
		if err != nil {
			return nil, err
		}
		if !selector.MatchUnstructured(live) {
			continue
		}
		paths := append([]string{}, rule.Paths...)
		if key := rule.Selector.AnnotationSelector; key != "" {
			paths = append(paths, "/metadata/annotations/"+strings.ReplaceAll(key, "/", "~1"))
		}
		if key := rule.Selector.LabelSelector; key != "" {
			paths = append(paths, "/metadata/labels/"+strings.ReplaceAll(key, "/", "~1"))
		}
		for _, p := range paths {
			fields := pointerFields(p)
			value, found, err := unstructured.NestedFieldCopy(live.Object, fields...)
			if err != nil || !found {
				continue
			}
			if err := unstructured.SetNestedField(out.Object, value, fields...); err != nil {
				return nil, fmt.Errorf("%s: keeping %s: %w", subject(desired), p, err)
			}
		}
	}
	return out, nil
}

// pointerFields splits a JSON pointer (RFC 6901) into its fields.
func pointerFields(pointer string) []string {
	fields := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	for i, f := range fields {
		fields[i] = strings.ReplaceAll(strings.ReplaceAll(f, "~1", "/"), "~0", "~")
	}
	return fields
}

// sameObject reports whether a dry run of an update left the object as it
// is: everything but the bookkeeping of who wrote it.
func sameObject(live, dryRun *unstructured.Unstructured) bool {
	strip := func(u *unstructured.Unstructured) map[string]any {
		c := u.DeepCopy()
		c.SetManagedFields(nil)
		c.SetResourceVersion("")
		return c.Object
	}
	return apiequality.Semantic.DeepEqual(strip(live), strip(dryRun))
}

func subject(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + "/" + o.GetName()
	}
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}
