package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
)

// lastAppliedAnnotation is where `kubectl apply` (and Argo CD's client-side
// apply) keeps a copy of the whole object as last applied: often as large
// as the rest of the object.
const lastAppliedAnnotation = corev1.LastAppliedConfigAnnotation

// CacheTransform is the manager cache's DefaultTransform: it drops from
// every cached object what no reconciler reads, before the informer stores
// it, so each cached object costs less memory.
//
//   - managedFields, on every kind: field ownership of server-side apply.
//   - the last-applied-configuration annotation, on every kind: a copy of
//     the object its owner applied, which Sluice never reads (Applications
//     are applied with an uncached client, see gitops/).
//   - of Services, everything but the metadata, spec.type, spec.selector and
//     spec.ports: the Rollout and Experiment controllers read the selector
//     (to pin it to a pod-template hash, or find whose it is) and the ports,
//     and the cache holds every Service of the cluster, not only theirs.
//
// What is dropped is never written back: every write of these kinds is a
// patch of the fields it changes (a merge patch of the selector, of an
// annotation), not an update of a cached copy, so the dropped fields of
// the stored object are left as they are.
func CacheTransform() toolscache.TransformFunc {
	return func(in any) (any, error) {
		obj, err := meta.Accessor(in)
		if err != nil {
			return in, nil // a tombstone of a deleted object, left as it is
		}
		obj.SetManagedFields(nil)
		if annotations := obj.GetAnnotations(); annotations[lastAppliedAnnotation] != "" {
			delete(annotations, lastAppliedAnnotation)
			obj.SetAnnotations(annotations)
		}
		if svc, ok := in.(*corev1.Service); ok {
			svc.Spec = corev1.ServiceSpec{Type: svc.Spec.Type, Selector: svc.Spec.Selector, Ports: svc.Spec.Ports}
			svc.Status = corev1.ServiceStatus{}
		}
		return in, nil
	}
}
