package plan

import (
	"fmt"
	"slices"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sluicehq/sluice/traffic"
)

// SetHeaderRoutes makes the managed header rules of the routes that take
// header routes exactly Routes: adding, changing and removing only rules
// named after trafficRouting.managedRoutes.
type SetHeaderRoutes struct {
	Routes []traffic.HeaderRoute
}

func (a SetHeaderRoutes) String() string {
	names := make([]string, 0, len(a.Routes))
	for _, r := range a.Routes {
		names = append(names, r.Name)
	}
	return fmt.Sprintf("set the header routes to %v", names)
}

// headerRoutesAt is what the setHeaderRoute steps up to index hold: each
// managed route's latest match; a step with no match removes its route.
func (p *planner) headerRoutesAt(index int32) []traffic.HeaderRoute {
	var out []traffic.HeaderRoute
	steps := p.steps()
	for i := int32(0); i <= index && i < int32(len(steps)); i++ {
		step := steps[i].SetHeaderRoute
		if step == nil {
			continue
		}
		out = slices.DeleteFunc(out, func(r traffic.HeaderRoute) bool { return r.Name == step.Name })
		if len(step.Match) > 0 {
			out = append(out, traffic.HeaderRoute{Name: step.Name, Match: step.Match})
		}
	}
	return out
}

// headerRoutes is what the routes should carry now: the header routes of
// the steps so far, while the canary is in progress and has pods to take
// the requests; none once it is promoted or aborted.
func (p *planner) headerRoutes(promoted bool) []traffic.HeaderRoute {
	if promoted || p.status.Abort || p.current == nil || p.current.Status.AvailableReplicas == 0 {
		return nil
	}
	return p.headerRoutesAt(p.stepIndex())
}

// headerRoutesCarried reports whether every route that takes header routes
// was read back carrying exactly want.
func (p *planner) headerRoutesCarried(want []traffic.HeaderRoute) bool {
	for _, route := range p.obs.Routes {
		if !slices.Contains(p.routing.HeaderRoutes, route.Key) {
			continue
		}
		if ops, err := traffic.HeaderRoutePatch(route, p.routing, want); err != nil || len(ops) > 0 {
			return false
		}
	}
	return true
}

// headerRouteStep reports whether a setHeaderRoute step is done: the canary
// has pods to take the requests, and the routes carry its rule.
func (p *planner) headerRouteStep(index int32) bool {
	if p.current == nil || p.current.Status.AvailableReplicas == 0 {
		return false
	}
	return p.headerRoutesCarried(p.headerRoutesAt(index))
}

// validateHeaderRoute checks a setHeaderRoute step against the routing.
func validateHeaderRoute(step *rolloutsv1alpha1.SetHeaderRoute, routing *traffic.Settings, path *field.Path) *field.Error {
	if !slices.Contains(routing.ManagedRoutes, step.Name) {
		return field.Invalid(path.Child("name"), step.Name, "must be one of trafficRouting.managedRoutes")
	}
	if len(routing.HeaderRoutes) == 0 {
		return field.Invalid(path, field.OmitValueType{},
			"no route takes header routes: name it with httpRoute, or set useHeaderRoutes on one of httpRoutes or grpcRoutes")
	}
	for i, m := range step.Match {
		if _, _, err := traffic.HeaderMatchValue(m); err != nil {
			return field.Invalid(path.Child("match").Index(i), field.OmitValueType{}, err.Error())
		}
	}
	return nil
}
