package plan

import (
	"fmt"
	"math/rand/v2"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

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
				before, status := availableWithin(w), w.ro.Status.DeepCopy()
				res := w.step()
				checkInvariants(w, l, replicas, before, tick)
				checkEvents(status, res, tick)
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

// Whole rollouts through the planner, and the reasons of the events they
// record, in order: Argo's notification triggers are named after them. The
// ReplicaSets' scaling is left out of the lists (the simulations above
// check a ScalingReplicaSet for each).
var _ = Describe("A whole rollout's events", func() {
	analysisSteps := func() *world {
		w := newWorld(builders.Rollout("web").Replicas(4).Canary(
			builders.SetWeight(25), builders.Pause(), rolloutsv1alpha1.CanaryStep{Analysis: checks()}, builders.SetWeight(100),
		).Obj())
		w.templates = passingTemplate
		w.run()
		w.setImage("app:v2")
		w.run()
		w.promote()
		w.run()
		w.finishRuns(rolloutsv1alpha1.AnalysisPhaseRunning)
		w.run()
		return w
	}

	It("names each step of a canary that completes: setWeight, pause, analysis", func() {
		w := analysisSteps()
		w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(eventReasons(transitions(w.events))).To(Equal([]string{
			"RolloutUpdated", "RolloutCompleted", // the first deploy
			"RolloutUpdated",
			"RolloutStepCompleted", // setWeight: 25
			"RolloutPaused",
			"RolloutStepCompleted", // pause, promoted
			"AnalysisRunRunning",
			"AnalysisRunSuccessful",
			"RolloutStepCompleted", // analysis
			"RolloutStepCompleted", // setWeight: 100
			"RolloutCompleted",
		}))
	})

	It("names a canary's abort once, and again after a retry", func() {
		w := analysisSteps()
		w.finishRuns(rolloutsv1alpha1.AnalysisPhaseFailed)
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))

		By("retried, then aborted by a person at the pause")
		w.ro.Status.Abort = false
		w.run()
		w.ro.Status.Abort = true
		w.run()
		Expect(eventReasons(transitions(w.events))).To(Equal([]string{
			"RolloutUpdated", "RolloutCompleted",
			"RolloutUpdated",
			"RolloutStepCompleted",
			"RolloutPaused",
			"RolloutStepCompleted",
			"AnalysisRunRunning",
			"AnalysisRunFailed",
			"RolloutAborted",
			"RolloutStepCompleted", // the retry: setWeight: 25 again
			"RolloutPaused",
			"RolloutAborted", // no RolloutResumed: the abort cleared the pause
		}))
	})

	It("names a blue-green update with pre-promotion analysis, promoted by a person", func() {
		w := blueGreen(3, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.AutoPromotionEnabled = ptr.To(false)
			bg.PrePromotionAnalysis = checks()
		})
		w.setImage("app:v2")
		w.run()
		w.finishRuns(rolloutsv1alpha1.AnalysisPhaseRunning)
		w.run()
		w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
		w.run()
		w.promote()
		w.run()
		w.now = w.now.Add(30 * time.Second) // blue's scale-down delay
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 3}))
		Expect(eventReasons(transitions(w.events))).To(Equal([]string{
			"RolloutUpdated", "RolloutCompleted", "SwitchService", // the first deploy, then the active Service pinned to it
			"RolloutUpdated",
			"AnalysisRunRunning",
			"AnalysisRunSuccessful",
			"RolloutPaused",
			"SwitchService",
			"RolloutCompleted", // no RolloutResumed: the promote cleared the pause
		}))
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

// checkEvents checks that a plan's events are the transitions from the
// status it started from to the one it planned, each recorded once, and
// a ScalingReplicaSet for each ReplicaSet it scales.
func checkEvents(before *rolloutsv1alpha1.RolloutStatus, res Result, tick int) {
	GinkgoHelper()
	after := &res.Status
	count := map[string]int{}
	var steps []int
	for _, e := range res.Events {
		count[e.Reason]++
		var n, of int
		if _, err := fmt.Sscanf(e.Message, "Rollout step %d/%d completed", &n, &of); err == nil && e.Reason == reasonStepCompleted {
			steps = append(steps, n)
		}
	}
	once := func(happened bool) int {
		if happened {
			return 1
		}
		return 0
	}
	Expect(count[reasonUpdated]).To(Equal(once(before.CurrentPodHash != after.CurrentPodHash)),
		"tick %d: RolloutUpdated once for a new revision: %v", tick, res.Events)
	Expect(count[reasonCompleted]).To(Equal(once(before.StableRS != after.StableRS && after.StableRS == after.CurrentPodHash)),
		"tick %d: RolloutCompleted once when the revision becomes stable: %v", tick, res.Events)
	aborted := func(st *rolloutsv1alpha1.RolloutStatus) bool {
		c := findCondition(st, rolloutsv1alpha1.RolloutProgressing)
		return c != nil && c.Reason == reasonAborted
	}
	Expect(count[reasonAborted]).To(Equal(once(aborted(after) && !aborted(before))),
		"tick %d: RolloutAborted once per abort: %v", tick, res.Events)
	paused, wasPaused := len(after.PauseConditions) > 0, len(before.PauseConditions) > 0
	Expect(count[reasonPaused]).To(BeNumerically("<=", once(paused)), "tick %d: %v", tick, res.Events)
	Expect(count[reasonResumed]).To(BeNumerically("<=", once(wasPaused && !after.Abort)), "tick %d: %v", tick, res.Events)
	if paused && !wasPaused {
		Expect(count[reasonPaused]).To(Equal(1), "tick %d: RolloutPaused when paused: %v", tick, res.Events)
	}
	if wasPaused && !paused && !after.Abort && after.AbortedAt == nil {
		Expect(count[reasonResumed]).To(Equal(1), "tick %d: RolloutResumed when no longer paused: %v", tick, res.Events)
	}

	// The steps completed are consecutive, and end where the plan is.
	for i, n := range steps {
		Expect(n).To(Equal(int(*after.CurrentStepIndex)-len(steps)+i+1), "tick %d: steps completed %v, at index %d", tick, steps, *after.CurrentStepIndex)
	}

	var scaled []string
	for _, a := range res.Actions {
		switch a := a.(type) {
		case ScaleReplicaSet:
			scaled = append(scaled, fmt.Sprintf("%s %d %d", a.Name, a.From, a.To))
		case CreateReplicaSet:
			if n := *a.ReplicaSet.Spec.Replicas; n > 0 {
				scaled = append(scaled, fmt.Sprintf("%s 0 %d", a.ReplicaSet.Name, n))
			}
		}
	}
	var announced []string
	for _, e := range res.Events {
		var direction, name string
		var revision, from, to int
		if e.Reason != reasonScaling {
			continue
		}
		_, err := fmt.Sscanf(e.Message, "Scaled %s ReplicaSet %s (revision %d) from %d to %d", &direction, &name, &revision, &from, &to)
		Expect(err).NotTo(HaveOccurred(), e.Message)
		Expect(direction).To(Equal(map[bool]string{true: "up", false: "down"}[to > from]), e.Message)
		announced = append(announced, fmt.Sprintf("%s %d %d", name, from, to))
	}
	Expect(announced).To(ConsistOf(scaled), "tick %d: a ScalingReplicaSet for each ReplicaSet scaled", tick)
}
