package gitops

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Owner is the API group whose labels tie an applied object to the object
// that applied it: <Group>/name and <Group>/namespace. Each door to the
// engine (Sluice's Application, Argo CD's, Flux's Kustomization) has its
// own, so two doors' objects of the same name never prune, heal or delete
// each other's objects, and a Flux Kustomization labels what it applies as
// Flux does.
type Owner struct{ Group string }

// The owners of the engine's doors.
var (
	// ApplicationOwner labels what Sluice's own Application applies.
	ApplicationOwner = Owner{Group: OwnerGroup}
	// ArgoCDApplicationOwner labels what an argoproj.io Application applies.
	// Argo CD itself tracks objects by app.kubernetes.io/instance, which
	// carries no namespace: Sluice keeps its own pair of labels.
	ArgoCDApplicationOwner = Owner{Group: "argocd.sluice.dev"}
	// KustomizationOwner labels what a Flux Kustomization applies, with
	// Flux's own labels.
	KustomizationOwner = Owner{Group: "kustomize.toolkit.fluxcd.io"}
)

// NameLabel is the label holding the owner's name.
func (o Owner) NameLabel() string { return o.Group + "/name" }

// NamespaceLabel is the label holding the owner's namespace.
func (o Owner) NamespaceLabel() string { return o.Group + "/namespace" }

// Of names the owner an object's labels point to, if they point to one.
func (o Owner) Of(labels map[string]string) (types.NamespacedName, bool) {
	key := types.NamespacedName{Namespace: labels[o.NamespaceLabel()], Name: labels[o.NameLabel()]}
	return key, key.Name != "" && key.Namespace != ""
}

// Label marks objects as the owner's of key, which is how pruning and the
// controller's watches know them.
func (o Owner) Label(objects []*unstructured.Unstructured, key types.NamespacedName) {
	for _, obj := range objects {
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[o.NameLabel()] = key.Name
		labels[o.NamespaceLabel()] = key.Namespace
		obj.SetLabels(labels)
	}
}
