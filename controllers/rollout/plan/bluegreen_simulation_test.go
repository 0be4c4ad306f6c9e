package plan

import (
	"fmt"
	"math/rand/v2"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
)

// The blue-green simulation drives random blue-green Rollouts through new
// images, promotes, aborts, retries, time passing, analyses ending every
// way and pods turning available at random, and checks at every tick that
// the active Service selects a ReplicaSet with every pod available.
var _ = Describe("The blue-green planner, simulated", func() {
	for seed := uint64(1); seed <= 40; seed++ {
		It(fmt.Sprintf("keeps the active Service on fully available pods with seed %d", seed), func() {
			rng := rand.New(rand.NewPCG(seed, seed*104729))
			replicas := int32(1 + rng.IntN(6))
			w := blueGreen(replicas, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
				bg.AutoPromotionEnabled = ptr.To(rng.IntN(2) == 0)
				bg.AutoPromotionSeconds = int32(rng.IntN(2) * 60)
				if rng.IntN(2) == 0 {
					bg.PreviewReplicaCount = ptr.To(int32(1 + rng.IntN(int(replicas))))
				}
				if rng.IntN(2) == 0 {
					bg.PrePromotionAnalysis = checks()
				}
				if rng.IntN(2) == 0 {
					bg.PostPromotionAnalysis = checks()
				}
				bg.ScaleDownDelaySeconds = ptr.To(int32(rng.IntN(2) * 30))
				bg.AbortScaleDownDelaySeconds = ptr.To(int32(rng.IntN(3) * 30))
			})

			steer := steering(rng, 30*time.Second)
			for tick := range 300 {
				steer(w)
				status := w.ro.Status.DeepCopy()
				res := w.step()
				checkEvents(status, res, tick)
				checkActiveServing(w, replicas, tick)
				endSomeRuns(w, rng)
				makeSomePodsAvailable(w, rng)
			}

			By("settling with nobody steering")
			w.ro.Status.Abort = false
			w.ro.Status.PromoteFull = true
			w.settle()
			w.run()
			w.now = w.now.Add(time.Minute) // past every scale-down delay
			w.run()
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
			Expect(w.counts()).To(HaveLen(1))
			current := w.ro.Spec.Template.Spec.Containers[0].Image
			Expect(w.selects("active")).To(Equal(current))
			Expect(w.selects("preview")).To(Equal(current))
		})
	}
})

// checkActiveServing asserts that the ReplicaSet the active Service selects
// runs the Rollout's full size with every pod available.
func checkActiveServing(w *world, replicas int32, tick int) {
	GinkgoHelper()
	hash, pinned := w.services["active"].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
	if !pinned {
		return
	}
	for _, rs := range w.rss {
		if rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == hash {
			Expect(*rs.Spec.Replicas).To(BeNumerically(">=", replicas), "tick %d: the active ReplicaSet %s was scaled down", tick, rs.Name)
			Expect(rs.Status.AvailableReplicas).To(BeNumerically(">=", replicas),
				"tick %d: the active Service selects %s, with %d of %d pods available", tick, rs.Name, rs.Status.AvailableReplicas, replicas)
			return
		}
	}
	Fail(fmt.Sprintf("tick %d: the active Service selects %s, which does not exist", tick, hash))
}

// endSomeRuns ends running AnalysisRuns at random, in every way a run ends.
func endSomeRuns(w *world, rng *rand.Rand) {
	for _, run := range w.runs {
		if run.Status.Phase.Completed() {
			continue
		}
		switch r := rng.IntN(100); {
		case run.Spec.Terminate || r < 30:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseSuccessful
		case r < 38:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseFailed
		case r < 42:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseInconclusive
		default:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
		}
	}
}
