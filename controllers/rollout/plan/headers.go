package plan

import (
	"fmt"
	"slices"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sluicehq/sluice/traffic"
)

// SetManagedRoutes makes the managed rules of the routes that take header
// routes exactly Rules: adding, changing and removing only rules named
// after trafficRouting.managedRoutes.
type SetManagedRoutes struct {
	Rules traffic.ManagedRules
}

func (a SetManagedRoutes) String() string {
	var names []string
	for _, r := range a.Rules.Headers {
		names = append(names, r.Name)
	}
	for _, r := range a.Rules.Mirrors {
		names = append(names, r.Name)
	}
	return fmt.Sprintf("set the managed routes to %v", names)
}

// managedRoutesAt is what the setHeaderRoute and setMirrorRoute steps up to
// index hold: each managed route's latest match; a step with no match
// removes its route.
func (p *planner) managedRoutesAt(index int32) traffic.ManagedRules {
	var out traffic.ManagedRules
	steps := p.steps()
	for i := int32(0); i <= index && i < int32(len(steps)); i++ {
		if step := steps[i].SetHeaderRoute; step != nil {
			out.Headers = slices.DeleteFunc(out.Headers, func(r traffic.HeaderRoute) bool { return r.Name == step.Name })
			if len(step.Match) > 0 {
				out.Headers = append(out.Headers, traffic.HeaderRoute{Name: step.Name, Match: step.Match})
			}
		}
		if step := steps[i].SetMirrorRoute; step != nil {
			out.Mirrors = slices.DeleteFunc(out.Mirrors, func(r traffic.MirrorRoute) bool { return r.Name == step.Name })
			if len(step.Match) > 0 {
				out.Mirrors = append(out.Mirrors, traffic.MirrorRoute{Name: step.Name, Match: step.Match, Percentage: step.Percentage})
			}
		}
	}
	return out
}

// managedRoutes is what the routes should carry now: the header and mirror
// routes of the steps so far, while the canary is in progress and has pods
// to take the requests; none once it is promoted or aborted.
func (p *planner) managedRoutes(promoted bool) traffic.ManagedRules {
	if promoted || p.status.Abort || p.current == nil || p.current.Status.AvailableReplicas == 0 {
		return traffic.ManagedRules{}
	}
	return p.managedRoutesAt(p.stepIndex())
}

// managedRoutesCarried reports whether every route that takes header
// routes was read back carrying exactly want.
func (p *planner) managedRoutesCarried(want traffic.ManagedRules) bool {
	for _, route := range p.obs.Routes {
		if !slices.Contains(p.routing.HeaderRoutes, route.Key) {
			continue
		}
		if ops, err := traffic.ManagedRulesPatch(route, p.routing, want); err != nil || len(ops) > 0 {
			return false
		}
	}
	return true
}

// managedRouteStep reports whether a setHeaderRoute or setMirrorRoute step
// is done: the canary has pods to take the requests, and the routes carry
// its rule (or no longer carry the rule a step without match removes).
func (p *planner) managedRouteStep(index int32) bool {
	if p.current == nil || p.current.Status.AvailableReplicas == 0 {
		return false
	}
	return p.managedRoutesCarried(p.managedRoutesAt(index))
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
