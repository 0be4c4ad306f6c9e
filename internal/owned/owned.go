// Package owned picks, out of a list read from the API server or a cache,
// the objects one owner controls.
package owned

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ControlledBy returns the items whose controller reference names owner, by
// UID, in list order; nil when there are none. Matching the UID, not only
// the name, keeps an owner deleted and made again under the same name from
// taking its predecessor's objects before they are collected.
func ControlledBy[T any, PT interface {
	*T
	metav1.Object
}](items []T, owner metav1.Object) []PT {
	var controlled []PT
	for i := range items {
		if item := PT(&items[i]); metav1.IsControlledBy(item, owner) {
			controlled = append(controlled, item)
		}
	}
	return controlled
}

// ControllerName is a cache index function: it maps an object to the name
// of its controller when that controller is of kind, and to nothing
// otherwise, so a reconcile lists its owner's objects alone.
func ControllerName(kind schema.GroupVersionKind) client.IndexerFunc {
	apiVersion := kind.GroupVersion().String()
	return func(obj client.Object) []string {
		owner := metav1.GetControllerOf(obj)
		if owner == nil || owner.Kind != kind.Kind || owner.APIVersion != apiVersion {
			return nil
		}
		return []string{owner.Name}
	}
}
