package application

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
)

// The labels that name an applied object's Application.
const (
	ownerNameLabel      = gitops.OwnerGroup + "/name"
	ownerNamespaceLabel = gitops.OwnerGroup + "/namespace"
)

// ownedWatches watches the kinds Applications applied, by metadata only and
// only objects labelled as an Application's, and wakes the owning
// Application on every change or deletion: self-heal in seconds, not at
// the next poll. A kind is watched from the first sync that applies it.
type ownedWatches struct {
	cache      cache.Cache
	controller controller.Controller
	mu         sync.Mutex
	watched    map[schema.GroupVersionKind]bool
	// changed holds the Applications one of whose objects changed since
	// their last apply began.
	changed sync.Map // types.NamespacedName -> struct{}
}

// newOwnedWatches makes the watches' cache: cluster-wide, or only namespace
// when one is given (namespaced mode).
func newOwnedWatches(mgr ctrl.Manager, c controller.Controller, namespace string) (*ownedWatches, error) {
	owned, err := labels.NewRequirement(ownerNameLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	opts := cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		DefaultLabelSelector: labels.NewSelector().Add(*owned),
		DefaultTransform:     cache.TransformStripManagedFields(),
	}
	if namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{namespace: {}}
	}
	objects, err := cache.New(mgr.GetConfig(), opts)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(objects); err != nil {
		return nil, err
	}
	return &ownedWatches{cache: objects, controller: c, watched: map[schema.GroupVersionKind]bool{}}, nil
}

// watch starts watching the kinds of objects not watched yet.
func (w *ownedWatches) watch(objects []*unstructured.Unstructured) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range objects {
		gvk := o.GroupVersionKind()
		if w.watched[gvk] {
			continue
		}
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(gvk)
		if err := w.controller.Watch(source.Kind[client.Object](w.cache, meta,
			handler.EnqueueRequestsFromMapFunc(w.ownerOf))); err != nil {
			return err
		}
		w.watched[gvk] = true
	}
	return nil
}

// ownerOf maps an applied object to its Application, and notes that the
// Application's objects changed.
func (w *ownedWatches) ownerOf(_ context.Context, obj client.Object) []reconcile.Request {
	l := obj.GetLabels()
	if l[ownerNameLabel] == "" || l[ownerNamespaceLabel] == "" {
		return nil
	}
	app := types.NamespacedName{Namespace: l[ownerNamespaceLabel], Name: l[ownerNameLabel]}
	w.changed.Store(app, struct{}{})
	return []reconcile.Request{{NamespacedName: app}}
}

// watching reports whether every kind of objects is watched, so a change
// to any of them would have been seen.
func (w *ownedWatches) watching(refs []gitopsv1alpha1.ObjectRef) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range refs {
		if !w.watched[schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}] {
			return false
		}
	}
	return true
}

// takeChanged reports whether the Application's objects changed since the
// last call, and starts noting afresh.
func (w *ownedWatches) takeChanged(app types.NamespacedName) bool {
	_, changed := w.changed.LoadAndDelete(app)
	return changed
}
