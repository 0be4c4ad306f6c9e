// Package instance decides which objects one controller instance handles,
// so that Sluice can share a cluster with another controller of Argo
// Rollouts' API (or a second Sluice) without either touching the other's
// objects. The rule is Argo's: a controller started with --instance-id=X
// handles only objects labelled
// argo-rollouts.argoproj.io/controller-instance-id=X, and one started
// without handles only objects with no such label.
//
// Every controller applies the same rule in two places: in the manager's
// cache (controllers.CacheSelectors), so another instance's objects are not
// even held in memory, and in its watch predicate, so a controller that
// reads a kind through a cache another controller filled never reconciles
// an object of another instance.
package instance

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// Label is the label that assigns an object to a controller instance.
const Label = rolloutsv1alpha1.LabelKeyControllerInstanceID

// Selector selects the objects the instance id handles: those labelled
// with it, or, for an empty id, those without the label.
func Selector(id string) labels.Selector {
	op, values := selection.DoesNotExist, []string(nil)
	if id != "" {
		op, values = selection.Equals, []string{id}
	}
	req, err := labels.NewRequirement(Label, op, values)
	if err != nil {
		// The key is a constant; only an id that is not a valid label
		// value fails, and the manager refuses such an id at start-up
		// (Validate).
		panic(err)
	}
	return labels.NewSelector().Add(*req)
}

// Handles reports whether the instance id handles an object: Selector's
// rule, for one object.
func Handles(id string, obj client.Object) bool {
	value, labelled := obj.GetLabels()[Label]
	if id == "" {
		return !labelled
	}
	return labelled && value == id
}

// Predicate lets only the instance's objects through a watch.
func Predicate(id string) predicate.Predicate {
	return predicate.NewPredicateFuncs(func(obj client.Object) bool { return Handles(id, obj) })
}

// Validate says why an id cannot be an instance id: it must be a valid
// label value, since objects carry it as one.
func Validate(id string) error {
	_, err := labels.NewRequirement(Label, selection.Equals, []string{id})
	return err
}
