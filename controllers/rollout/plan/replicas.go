package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Default surge and unavailability of a canary, as in Argo Rollouts.
var (
	defaultMaxSurge       = intstr.FromString("25%")
	defaultMaxUnavailable = intstr.FromString("25%")
	zeroSurge             = intstr.FromInt32(0)
)

// limits are the resolved maxSurge and maxUnavailable of a rollout.
type limits struct {
	surge       int32
	unavailable int32
}

// resolveLimits turns maxSurge (rounded up) and maxUnavailable (rounded down)
// into pod counts for a replica count, the way a Deployment does. When both
// come out as zero, one pod may be unavailable, or nothing could ever move.
func resolveLimits(maxSurge, maxUnavailable *intstr.IntOrString, replicas int32) (limits, error) {
	if maxSurge == nil {
		maxSurge = &defaultMaxSurge
	}
	if maxUnavailable == nil {
		maxUnavailable = &defaultMaxUnavailable
	}
	surge, err := resolveLimit("maxSurge", maxSurge, replicas, true)
	if err != nil {
		return limits{}, err
	}
	// The planner adds the surge to spec.replicas in int32, as a pod count
	// is kept: 1000% of a billion replicas would wrap around to a negative
	// ceiling on the pods.
	if float64(replicas)+surge > math.MaxInt32 {
		return limits{}, &limitError{field: "maxSurge", value: maxSurge.String(),
			why: fmt.Sprintf("with %d replicas, allows more than %d pods", replicas, math.MaxInt32)}
	}
	unavailable, err := resolveLimit("maxUnavailable", maxUnavailable, replicas, false)
	if err != nil {
		return limits{}, err
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return limits{surge: int32(surge), unavailable: int32(min(unavailable, float64(replicas)))}, nil
}

// resolveLimit is one maxSurge or maxUnavailable as pods for a replica
// count, rounded, as a float so that no value a tenant writes overflows.
// It computes what intstr.GetScaledValueFromIntOrPercent does, which
// converts an out-of-range float to an int without telling.
func resolveLimit(name string, v *intstr.IntOrString, replicas int32, roundUp bool) (float64, error) {
	if _, err := intstr.GetScaledValueFromIntOrPercent(v, 0, roundUp); err != nil {
		return 0, &limitError{field: name, value: v.String(), why: err.Error()}
	}
	pods := float64(v.IntVal)
	if v.Type == intstr.String {
		// An integer percentage: the call above parsed it.
		percent, _ := strconv.ParseFloat(strings.TrimSuffix(v.StrVal, "%"), 64)
		pods = percent * float64(replicas) / 100
	}
	if pods < 0 {
		return 0, &limitError{field: name, value: v.String(), why: "must not be negative"}
	}
	if roundUp {
		return math.Ceil(pods), nil
	}
	return math.Floor(pods), nil
}

// limitError names the maxSurge or maxUnavailable that cannot be resolved,
// for the InvalidSpec condition.
type limitError struct {
	field, value, why string
}

func (e *limitError) Error() string { return e.field + " " + e.value + ": " + e.why }

// weightedCounts picks the canary and stable replica counts whose split comes
// closest to weight out of maxWeight, as Argo Rollouts does, so a rollout
// moved from Argo keeps the same pod counts at every step.
//
// The candidates are the floor and the ceiling of replicas*weight/maxWeight
// canaries, out of replicas pods or, when surge is allowed, replicas+1. The
// closest split wins; on a tie the earlier candidate, so the ceiling is
// preferred. For a weight strictly between 0 and maxWeight, neither side is
// left with zero pods unless there is only one pod and no surge.
//
// Worked examples (maxWeight 100):
//
//	replicas 10, weight 30, surge 3 -> 3 canary, 7 stable
//	replicas 5,  weight 20, surge 2 -> 1 canary, 4 stable
//	replicas 3,  weight 50, surge 1 -> 2 canary, 2 stable (3 pods tie at 1 or 2; 4 pods split evenly)
//	replicas 1,  weight 5,  surge 1 -> 1 canary, 1 stable
//	replicas 1,  weight 5,  surge 0 -> 0 canary, 1 stable
func weightedCounts(replicas, weight, maxWeight, surge int32) (canary, stable int32) {
	if replicas == 0 {
		return 0, 0
	}
	exact := float64(replicas) * float64(weight) / float64(maxWeight)
	ceil, floor := int32(math.Ceil(exact)), int32(math.Floor(exact))
	zeroAllowed := weight == 0 || weight == maxWeight || (replicas == 1 && surge == 0)
	tied := func(total int32) bool {
		_, frac := math.Modf(float64(total) * float64(weight) / float64(maxWeight))
		return frac == 0.5
	}

	type split struct{ canary, total int32 }
	var candidates []split
	if ceil < replicas || zeroAllowed {
		candidates = append(candidates, split{ceil, replicas})
	}
	if !tied(replicas) && (floor != 0 || zeroAllowed) {
		candidates = append(candidates, split{floor, replicas})
	}
	if surge > 0 {
		candidates = append(candidates, split{ceil, replicas + 1})
		if !tied(replicas+1) && (floor != 0 || zeroAllowed) {
			candidates = append(candidates, split{floor, replicas + 1})
		}
	}
	if len(candidates) == 0 {
		return 0, replicas
	}
	distance := func(s split) float64 {
		return math.Abs(float64(s.canary)*float64(maxWeight)/float64(s.total) - float64(weight))
	}
	best := candidates[0]
	for _, c := range candidates[1:] {
		if distance(c) < distance(best) {
			best = c
		}
	}
	return best.canary, best.total - best.canary
}

// rsCounts is what the replica planner needs to know of one ReplicaSet.
type rsCounts struct {
	exists    bool
	spec      int32 // .spec.replicas
	available int32 // .status.availableReplicas
}

// scaleDownBase is how many of a ReplicaSet's pods count towards the
// availability floor when deciding how far others may shrink. A ReplicaSet
// already shrinking counts only what it keeps; one that is growing counts
// only its available pods, unless its availability is ignored (it is the side
// being drained, and its pods may never become available).
func (r rsCounts) scaleDownBase(ignoreAvailability bool) int32 {
	if !r.exists {
		return 0
	}
	if r.spec < r.available || ignoreAvailability {
		return r.spec
	}
	return r.available
}

// canaryTargets is the input of nextCanaryCounts.
type canaryTargets struct {
	replicas      int32 // spec.replicas
	desiredCanary int32
	desiredStable int32
	limits        limits
	canary        rsCounts
	stable        rsCounts
	othersSpec    int32 // spec.replicas summed over every other ReplicaSet
}

// nextCanaryCounts moves the canary and stable ReplicaSets one safe step
// towards their desired counts: never more than replicas+surge pods in all,
// never fewer than replicas-unavailable available. Growth goes to the stable
// side first (it serves the traffic), then to the canary. Other ReplicaSets
// are drained first: while any has pods, canary and stable only grow.
// The rules are Argo Rollouts', so pod counts match at every step.
//
// Worked examples (canary, stable spec = available):
//
//	10 replicas, surge 1, unavailable 1, desired 1/9, now 0/10 -> 1/9
//	10 replicas, surge 3, unavailable 0, desired 3/7, now 0/10 -> 3/10 (stable waits for canaries to be available)
//	10 replicas, surge 0, unavailable 5, desired 3/7, now 0/10 -> 0/7 (room first, canaries next time)
func nextCanaryCounts(t canaryTargets) (canary, stable int32) {
	canary, stable = t.canary.spec, t.stable.spec
	maxTotal := t.replicas + t.limits.surge
	room := maxTotal - (t.canary.spec + t.stable.spec + t.othersSpec)

	grow := func(current, desired int32) int32 {
		if current >= desired || room <= 0 {
			return current
		}
		next := min(desired, current+room)
		room -= next - current
		return next
	}
	if t.stable.exists {
		stable = grow(stable, t.desiredStable)
	}
	canary = grow(canary, t.desiredCanary)

	if t.othersSpec > 0 {
		return canary, stable
	}

	minAvailable := t.replicas - t.limits.unavailable
	// Growing the canary: the stable side may be drained regardless of
	// whether its pods are available. Shrinking it (an abort): the canary
	// side may be drained regardless of its availability.
	growingCanary := !t.canary.exists || t.desiredCanary >= t.canary.spec
	counted := t.canary.scaleDownBase(!growingCanary) + t.stable.scaleDownBase(growingCanary)
	if counted <= minAvailable {
		return canary, stable
	}
	spare := counted - minAvailable
	switch {
	case !growingCanary:
		canary = shrinkToward(t.canary, t.desiredCanary, spare, canary)
		canary, stable = keepWithinLimits(t.canary, t.stable, canary, stable, maxTotal, minAvailable)
	case t.stable.exists:
		stable = shrinkToward(t.stable, t.desiredStable, spare, stable)
		stable, canary = keepWithinLimits(t.stable, t.canary, stable, canary, maxTotal, minAvailable)
	}
	return canary, stable
}

// shrinkToward lowers a draining ReplicaSet by at most spare pods, never
// below its desired count.
func shrinkToward(rs rsCounts, desired, spare, current int32) int32 {
	if rs.exists && rs.spec > desired {
		return max(desired, rs.spec-spare)
	}
	return current
}

// keepWithinLimits trims the other side so the two stay within maxTotal,
// then gives back to it whatever availability the trim would cost below
// minAvailable, taking that back from the draining side instead.
func keepWithinLimits(drain, adjust rsCounts, drainCount, adjustCount, maxTotal, minAvailable int32) (int32, int32) {
	if !adjust.exists {
		return drainCount, adjustCount
	}
	available := int32(0)
	if drain.exists {
		available += min(drain.available, drainCount)
	}
	adjustCount -= max(0, adjustCount+drainCount-maxTotal)
	available += min(adjust.available, adjustCount)
	lostAvailability := max(0, adjust.available-adjustCount)
	shortfall := max(0, minAvailable-available)
	adjustCount += min(lostAvailability, shortfall)
	drainCount -= max(0, adjustCount+drainCount-maxTotal)
	return drainCount, adjustCount
}
