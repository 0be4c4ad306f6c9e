package plan

import (
	"slices"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sluicehq/sluice/traffic"
)

// validateMirrorRoute checks a setMirrorRoute step against the routing: a
// managed route's name, an HTTPRoute to write it to, a percentage and
// matches Gateway API can express.
func validateMirrorRoute(step *rolloutsv1alpha1.SetMirrorRoute, routing *traffic.Settings, path *field.Path) *field.Error {
	if !slices.Contains(routing.ManagedRoutes, step.Name) {
		return field.Invalid(path.Child("name"), step.Name, "must be one of trafficRouting.managedRoutes")
	}
	if !slices.ContainsFunc(routing.HeaderRoutes, func(k traffic.RouteKey) bool { return k.Kind == traffic.HTTPRouteKind }) {
		return field.Invalid(path, field.OmitValueType{},
			"no HTTPRoute takes managed routes: name it with httpRoute, or set useHeaderRoutes on one of httpRoutes")
	}
	if p := step.Percentage; p != nil && (*p < 0 || *p > 100) {
		return field.Invalid(path.Child("percentage"), *p, "must be between 0 and 100")
	}
	for i, m := range step.Match {
		if err := traffic.ValidateMirrorMatch(m); err != nil {
			return field.Invalid(path.Child("match").Index(i), field.OmitValueType{}, err.Error())
		}
	}
	return nil
}
