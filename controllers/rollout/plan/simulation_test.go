package plan

import (
	"fmt"
	"math/rand/v2"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sluicehq/sluice/test/builders"
)

// The simulation drives plan -> apply -> pods turning available at random,
// with people promoting, aborting and retrying at random, and checks the
// invariants that must hold at every tick, whatever the order of events.
var _ = Describe("The canary planner, simulated", func() {
	for seed := uint64(1); seed <= 40; seed++ {
		It(fmt.Sprintf("holds its invariants with seed %d", seed), func() {
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			replicas := int32(1 + rng.IntN(8))
			surge, unavailable := rng.IntN(3), rng.IntN(3)
			if surge == 0 && unavailable == 0 {
				surge = 1
			}
			ro := builders.Rollout("sim").Replicas(replicas).Surge(surge, unavailable).
				Services("sim-canary", "sim-stable").
				Canary(builders.SetWeight(int32(rng.IntN(50))), builders.Pause(),
					builders.SetWeight(int32(50+rng.IntN(50))), builders.PauseFor(time.Minute),
					builders.SetWeight(100)).Obj()
			w := newWorld(ro, "sim-canary", "sim-stable")
			l, err := resolveLimits(ro.Spec.Strategy.Canary.MaxSurge, ro.Spec.Strategy.Canary.MaxUnavailable, replicas)
			Expect(err).NotTo(HaveOccurred())

			steer := steering(rng, time.Minute)
			for tick := range 300 {
				steer(w)
				before := availableWithin(w)
				res := w.step()
				checkInvariants(w, l, replicas, before, tick)
				_ = res
				makeSomePodsAvailable(w, rng)
			}

			By("settling with nobody steering")
			w.ro.Status.Abort = false
			w.ro.Status.PromoteFull = true
			w.run()
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
			Expect(w.counts()).To(HaveLen(1))
		})
	}

	It("always ends an abort with no canary pods and the stable at full size", func() {
		for seed := uint64(1); seed <= 20; seed++ {
			rng := rand.New(rand.NewPCG(seed, 1))
			replicas := int32(2 + rng.IntN(6))
			w := newWorld(builders.Rollout("abort").Replicas(replicas).Surge(1+rng.IntN(2), rng.IntN(2)).
				Canary(builders.SetWeight(int32(10+rng.IntN(80))), builders.Pause(), builders.SetWeight(100)).Obj())
			w.run()
			w.setImage("app:v2")
			// The controller has seen the new revision: an abort set before
			// that would belong to the previous one, which a new revision
			// clears.
			w.step()
			for range rng.IntN(6) {
				w.step()
				makeSomePodsAvailable(w, rng)
			}
			w.ro.Status.Abort = true
			w.run()
			Expect(w.counts()).To(Equal(map[string]int32{"app:v1": replicas}), "seed %d", seed)
		}
	})
})

// steering returns what people do to a rollout at each tick, at random: a
// new image now and then, promotes, aborts, retries, and time passing by
// the step given.
func steering(rng *rand.Rand, timeStep time.Duration) func(*world) {
	version := 1
	return func(w *world) {
		switch r := rng.IntN(100); {
		case r < 4:
			version++
			w.setImage(fmt.Sprintf("app:v%d", version))
		case r < 10:
			w.ro.Status.PauseConditions = nil // promote
		case r < 13:
			w.ro.Status.Abort = true
		case r < 16:
			w.ro.Status.Abort = false // retry
		case r < 20:
			w.now = w.now.Add(timeStep)
		}
	}
}

// availableWithin counts available pods that their ReplicaSets keep.
func availableWithin(w *world) int32 {
	var n int32
	for _, rs := range w.rss {
		n += min(*rs.Spec.Replicas, rs.Status.AvailableReplicas)
	}
	return n
}

func checkInvariants(w *world, l limits, replicas, availableBefore int32, tick int) {
	GinkgoHelper()
	var total int32
	for _, rs := range w.rss {
		total += *rs.Spec.Replicas
	}
	// A new template can arrive while old ReplicaSets still run more than
	// the surge allows; the planner must then only shrink towards the limit.
	Expect(total).To(Or(BeNumerically("<=", replicas+l.surge), BeNumerically("<=", specTotalBefore(w))),
		"tick %d: %d pods planned, surge allows %d", tick, total, replicas+l.surge)

	minAvailable := replicas - l.unavailable
	Expect(availableWithin(w)).To(BeNumerically(">=", min(minAvailable, availableBefore)),
		"tick %d: the plan removed available pods below the floor of %d", tick, minAvailable)

	anyAvailable := false
	for _, rs := range w.rss {
		anyAvailable = anyAvailable || rs.Status.AvailableReplicas > 0
	}
	for name, svc := range w.services {
		hash, set := svc.Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
		if !set || !anyAvailable {
			continue
		}
		var available int32
		for _, rs := range w.rss {
			if rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == hash {
				available = rs.Status.AvailableReplicas
			}
		}
		Expect(available).To(BeNumerically(">", 0), "tick %d: Service %s selects %s, which has no available pods", tick, name, hash)
	}
}

// specTotalBefore is what the ReplicaSets asked for before the last plan;
// the world records it as it applies actions.
func specTotalBefore(w *world) int32 { return w.lastSpecTotal }

// makeSomePodsAvailable creates the pods each ReplicaSet asks for and makes a
// random share of the unavailable ones available; removed pods go at once.
func makeSomePodsAvailable(w *world, rng *rand.Rand) {
	for _, rs := range w.rss {
		want := *rs.Spec.Replicas
		rs.Status.Replicas = want
		if rs.Status.AvailableReplicas > want {
			rs.Status.AvailableReplicas = want
		}
		if pending := want - rs.Status.AvailableReplicas; pending > 0 {
			rs.Status.AvailableReplicas += int32(rng.IntN(int(pending) + 1))
		}
		rs.Status.ReadyReplicas = rs.Status.AvailableReplicas
	}
}
