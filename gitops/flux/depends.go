package flux

import (
	"fmt"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
)

// DependsOn applies Flux's rule for spec.dependsOn: ks may be reconciled
// once every Kustomization it depends on (in ks's namespace unless the
// entry names another) exists, has reconciled its current generation
// (observedGeneration == generation) and is Ready=True. deps holds the
// Kustomizations found, by name; one missing from it does not exist.
// When not ready, message names the first dependency that holds ks back,
// in the order of spec.dependsOn, in Flux's words.
func DependsOn(ks *kustomizev1.Kustomization, deps map[types.NamespacedName]*kustomizev1.Kustomization) (ready bool, message string) {
	for _, ref := range ks.Spec.DependsOn {
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		if key.Namespace == "" {
			key.Namespace = ks.Namespace
		}
		dep := deps[key]
		switch {
		case dep == nil:
			return false, fmt.Sprintf("unable to get '%s' dependency: not found", key)
		case dep.Generation != dep.Status.ObservedGeneration:
			return false, fmt.Sprintf("dependency '%s' is not ready: generation %d not reconciled yet (observed %d)",
				key, dep.Generation, dep.Status.ObservedGeneration)
		case !apimeta.IsStatusConditionTrue(dep.Status.Conditions, meta.ReadyCondition):
			return false, fmt.Sprintf("dependency '%s' is not ready", key)
		}
	}
	return true, ""
}

// Dependencies are the names of the Kustomizations ks depends on, each in
// ks's namespace unless its entry names another: what DependsOn looks up.
func Dependencies(ks *kustomizev1.Kustomization) []types.NamespacedName {
	out := make([]types.NamespacedName, 0, len(ks.Spec.DependsOn))
	for _, ref := range ks.Spec.DependsOn {
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		if key.Namespace == "" {
			key.Namespace = ks.Namespace
		}
		out = append(out, key)
	}
	return out
}
