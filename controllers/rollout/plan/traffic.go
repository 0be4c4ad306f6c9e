package plan

import (
	"fmt"
	"maps"
	"math"
	"slices"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/traffic"
)

// SetTrafficWeight gives the canary Weight in every route of the Rollout's
// traffic routing, each Additional experiment Service its weight and the
// stable Service the rest, takes the Retired experiment Services out of the
// routes, and puts the in-progress label on the routes or takes it off.
type SetTrafficWeight struct {
	Weight     int32
	Additional []traffic.Destination
	Retired    []string
	InProgress bool
}

// Weights is what the routes' weighted rules should carry.
func (a SetTrafficWeight) Weights() traffic.Weights {
	return traffic.Weights{Canary: a.Weight, Additional: a.Additional, Retired: a.Retired}
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
	weight, _, known := p.routedWeights()
	return weight, known
}

// routedWeights is routedWeight with the weights the routes give the
// Rollout's experiment Services they carry. The rest is what the canary and
// these leave to the stable Service.
func (p *planner) routedWeights() (int32, map[string]int32, bool) {
	var weight int32
	var additional map[string]int32
	services := p.experimentServices()
	for i, route := range p.obs.Routes {
		canary, stable, err := route.Weights(p.routing.CanaryService, p.routing.StableService)
		if err != nil || (i > 0 && canary != weight) {
			return 0, nil, false
		}
		carried := map[string]int32{}
		sum := canary + stable
		for _, name := range services {
			w, in, err := route.BackendWeight(p.routing.CanaryService, p.routing.StableService, name)
			switch {
			case err != nil:
				return 0, nil, false
			case in:
				carried[name] = w
				sum += w
			}
		}
		if sum != p.routing.MaxWeight || (i > 0 && !maps.Equal(carried, additional)) {
			return 0, nil, false
		}
		weight, additional = canary, carried
	}
	return weight, additional, len(p.obs.Routes) > 0
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
func (p *planner) trafficWeight(weight int32, promoted, canaryReady bool) int32 {
	switch {
	case promoted:
		if svc := p.obs.Services[p.ro.Spec.Strategy.Canary.StableService]; svc != nil &&
			svc.Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == p.hash {
			return 0
		}
		// Until then the traffic stays where it is: all of it on the
		// canary at the end of the steps, none on a first revision.
		current, _ := p.routedWeight()
		return current
	case p.status.Abort && p.ro.Spec.Strategy.Canary.DynamicStableScale && !settledAt(p.stable, replicasOf(p.ro)):
		// With dynamicStableScale the stable ReplicaSet shrank with its
		// traffic: it takes the traffic back once it is whole again.
		current, _ := p.routedWeight()
		return current
	case p.status.Abort:
		return 0
	case p.current == nil || p.current.Status.AvailableReplicas == 0:
		return 0
	case !canaryReady:
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
func (p *planner) routeTraffic(weight int32, promoted bool) {
	if p.routing == nil {
		p.status.Canary.Weights = nil
		return
	}
	// Only the canary's readiness holds traffic back: under
	// dynamicStableScale the stable shrinks after its traffic moved.
	wantCanary, _ := p.desiredCounts(weight, promoted)
	want := p.trafficWeight(weight, promoted, p.canaryReached(wantCanary, promoted))
	managed := p.managedRoutes(promoted)
	destinations := p.experimentDestinations(promoted)
	var retired []string
	for _, name := range p.experimentServices() {
		if !slices.ContainsFunc(destinations, func(d traffic.Destination) bool { return d.Service == name }) {
			retired = append(retired, name)
		}
	}
	weights := traffic.Weights{Canary: want, Additional: destinations, Retired: retired}
	// The label tells GitOps tools to leave the route alone while the
	// canary or an experiment holds any of its traffic, header and mirror
	// routes included.
	inProgress := want != 0 || len(destinations) > 0 || !managed.Empty()
	for _, route := range p.obs.Routes {
		if len(traffic.WeightPatch(route, p.routing, weights, inProgress)) > 0 {
			p.result.Actions = append(p.result.Actions, SetTrafficWeight{
				Weight: want, Additional: destinations, Retired: retired, InProgress: inProgress,
			})
			break
		}
	}
	if !p.managedRoutesCarried(managed) {
		p.result.Actions = append(p.result.Actions, SetManagedRoutes{Rules: managed})
	}
	got, carried, known := p.routedWeights()
	stableHash := p.status.StableRS
	weightsStatus := &rolloutsv1alpha1.TrafficWeights{
		Canary: rolloutsv1alpha1.WeightDestination{Weight: got, ServiceName: p.routing.CanaryService, PodTemplateHash: p.hash},
		// Verified: the routes read back carry the weights asked for.
		Verified: ptr.To(known && got == want && carriesExactly(carried, destinations)),
	}
	// The experiment Services the routes carry, as Argo records them in
	// weights.additional; the stable Service has what is left.
	stable := p.routing.MaxWeight - got
	for _, name := range p.experimentServices() {
		if w, ok := carried[name]; ok {
			weightsStatus.Additional = append(weightsStatus.Additional, rolloutsv1alpha1.WeightDestination{
				Weight: w, ServiceName: name, PodTemplateHash: p.experimentHash(name),
			})
			stable -= w
		}
	}
	weightsStatus.Stable = rolloutsv1alpha1.WeightDestination{Weight: stable, ServiceName: p.routing.StableService, PodTemplateHash: stableHash}
	p.status.Canary.Weights = weightsStatus
}

// carriesExactly reports whether the experiment Services the routes carry
// are the destinations, at their weights.
func carriesExactly(carried map[string]int32, destinations []traffic.Destination) bool {
	if len(carried) != len(destinations) {
		return false
	}
	for _, d := range destinations {
		if w, ok := carried[d.Service]; !ok || w != d.Weight {
			return false
		}
	}
	return true
}

// routedCounts is the canary's and the stable's size at a weight with
// traffic routing. The canary gets enough pods for its share, rounded up,
// unless a setCanaryScale step at or before the current one says otherwise;
// at least minPodsPerReplicaSet when it has any. The stable stays whole, so
// traffic can return to it at once, unless dynamicStableScale shrinks it to
// the share of traffic it still has (never below what the routes send it).
func (p *planner) routedCounts(weight, replicas int32) (canary, stable int32) {
	canary = p.share(weight, replicas)
	if scale := p.canaryScale(); scale != nil && !scale.MatchTrafficWeight {
		switch {
		case scale.Replicas != nil:
			canary = *scale.Replicas
		case scale.Weight != nil:
			canary = p.share(*scale.Weight, replicas)
		}
	}
	stable = replicas
	if p.ro.Spec.Strategy.Canary.DynamicStableScale {
		routed, known := p.routedWeight()
		if !known {
			routed = 0 // unknown: keep the stable whole
		}
		stable = max(p.share(p.maxWeight()-weight, replicas), p.share(p.maxWeight()-routed, replicas))
	}
	return canary, stable
}

// share is the pods a weight of the traffic needs: rounded up, at least
// minPodsPerReplicaSet when any, at most replicas.
func (p *planner) share(weight, replicas int32) int32 {
	if weight <= 0 || replicas == 0 {
		return 0
	}
	n := int32(math.Ceil(float64(weight) * float64(replicas) / float64(p.maxWeight())))
	if m := p.ro.Spec.Strategy.Canary.MinPodsPerReplicaSet; m != nil && n < *m {
		n = *m
	}
	return min(n, replicas)
}

// canaryScale is the setCanaryScale of the last such step at or before the
// current one, while steps remain.
func (p *planner) canaryScale() *rolloutsv1alpha1.SetCanaryScale {
	steps := p.steps()
	index := p.stepIndex()
	if index >= int32(len(steps)) {
		return nil
	}
	for i := index; i >= 0; i-- {
		if s := steps[i].SetCanaryScale; s != nil {
			return s
		}
	}
	return nil
}
