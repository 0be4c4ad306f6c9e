package plan

import (
	"fmt"
	"math"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/traffic"
)

// SetTrafficWeight gives the canary Weight in every route of the Rollout's
// traffic routing and the stable Service the rest, and puts the in-progress
// label on the routes or takes it off.
type SetTrafficWeight struct {
	Weight     int32
	InProgress bool
}

func (a SetTrafficWeight) String() string {
	return fmt.Sprintf("set the canary's traffic weight to %d", a.Weight)
}

// maxWeight is the weight that means "all the traffic": maxTrafficWeight
// with traffic routing, otherwise 100.
func (p *planner) maxWeight() int32 {
	if p.routing != nil {
		return p.routing.MaxWeight
	}
	return defaultMaxWeight
}

// routedWeight is the canary weight every route carries now, and whether
// they all carry it (the stable Service the rest). A route whose rules
// disagree, or that gives the stable Service more or less than the rest,
// carries no weight the planner can rely on.
func (p *planner) routedWeight() (int32, bool) {
	var weight int32
	for i, route := range p.obs.Routes {
		canary, stable, err := route.Weights(p.routing.CanaryService, p.routing.StableService)
		if err != nil || canary+stable != p.routing.MaxWeight || (i > 0 && canary != weight) {
			return 0, false
		}
		weight = canary
	}
	return weight, len(p.obs.Routes) > 0
}

// routedAt reports whether every route carries weight, so a setWeight step
// counts as reached only once its traffic is where it should be: the
// routes were read back after the write.
func (p *planner) routedAt(weight int32) bool {
	got, ok := p.routedWeight()
	return ok && got == weight
}

// fullyRouted reports whether the canary may be promoted as far as traffic
// goes: without routing, or on a first revision, always; otherwise once the
// routes were read back giving it all the traffic, as the last step of a
// rollout.
func (p *planner) fullyRouted() bool {
	return p.routing == nil || p.stable == nil || p.routedAt(p.maxWeight())
}

// trafficWeight is the weight the canary's traffic should have now. It is
// Argo's choice, with its ordering rules:
//   - after promotion the canary keeps its traffic until the stable
//     Service selects the new pods; only then does the weight go back to 0;
//   - an abort takes every bit of traffic back to stable;
//   - no weight goes to a canary without available pods;
//   - while the canary is still scaling up to a step, the traffic stays at
//     the weight of the step before.
func (p *planner) trafficWeight(weight int32, promoted, atDesired bool) int32 {
	switch {
	case promoted:
		if svc := p.obs.Services[p.ro.Spec.Strategy.Canary.StableService]; svc != nil &&
			svc.Spec.Selector[PodTemplateHashLabel] == p.hash {
			return 0
		}
		// Until then the traffic stays where it is: all of it on the
		// canary at the end of the steps, none on a first revision.
		current, _ := p.routedWeight()
		return current
	case p.status.Abort:
		return 0
	case p.current == nil || p.current.Status.AvailableReplicas == 0:
		return 0
	case !atDesired:
		return p.previousWeight()
	}
	return weight
}

// previousWeight is the weight of the last setWeight step before the
// current one, or 0.
func (p *planner) previousWeight() int32 {
	steps := p.steps()
	for i := min(p.stepIndex(), int32(len(steps))) - 1; i >= 0; i-- {
		if w := steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// routeTraffic plans the write that brings the routes to the weight the
// canary should have, and records the weights in status.canary.weights.
func (p *planner) routeTraffic(weight int32, promoted, atDesired bool) {
	if p.routing == nil {
		p.status.Canary.Weights = nil
		return
	}
	want := p.trafficWeight(weight, promoted, atDesired)
	inProgress := want != 0
	for _, route := range p.obs.Routes {
		if len(traffic.WeightPatch(route, p.routing, want, inProgress)) > 0 {
			p.result.Actions = append(p.result.Actions, SetTrafficWeight{Weight: want, InProgress: inProgress})
			break
		}
	}
	got, known := p.routedWeight()
	stableHash := p.status.StableRS
	p.status.Canary.Weights = &rolloutsv1alpha1.TrafficWeights{
		Canary: rolloutsv1alpha1.WeightDestination{Weight: got, ServiceName: p.routing.CanaryService, PodTemplateHash: p.hash},
		Stable: rolloutsv1alpha1.WeightDestination{Weight: p.routing.MaxWeight - got, ServiceName: p.routing.StableService, PodTemplateHash: stableHash},
		// Verified: the routes read back carry the weight asked for.
		Verified: ptr.To(known && got == want),
	}
}

// routedReplicas is the canary's size at a weight with traffic routing:
// enough pods for its share, at least minPodsPerReplicaSet when it has any,
// never more than replicas. The stable ReplicaSet stays at full size, so
// traffic can return to it at once.
func (p *planner) routedReplicas(weight, replicas int32) int32 {
	if weight <= 0 || replicas == 0 {
		return 0
	}
	n := int32(math.Ceil(float64(weight) * float64(replicas) / float64(p.maxWeight())))
	if m := p.ro.Spec.Strategy.Canary.MinPodsPerReplicaSet; m != nil && n < *m {
		n = *m
	}
	return min(n, replicas)
}
