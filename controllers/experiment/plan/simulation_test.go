package plan

import (
	"fmt"
	"math/rand/v2"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

// The simulation drives plan -> apply with pods turning available, runs
// ending every way, people terminating and time passing, all at random, and
// checks at every tick the rules that must hold whatever the order.
var _ = Describe("The experiment planner, simulated", func() {
	for seed := uint64(1); seed <= 40; seed++ {
		It(fmt.Sprintf("holds its invariants with seed %d", seed), func() {
			rng := rand.New(rand.NewPCG(seed, seed*104729))
			b := builders.Experiment("sim")
			for i := range 1 + rng.IntN(3) {
				b.Template(fmt.Sprintf("t%d", i), fmt.Sprintf("app:v%d", i), ptr.To(int32(1+rng.IntN(3))))
				if rng.IntN(2) == 0 {
					b.Service("")
				}
			}
			if rng.IntN(2) == 0 {
				b.Duration(fmt.Sprintf("%ds", 30+rng.IntN(300)))
			}
			b.ProgressDeadline(int32(60 + rng.IntN(600)))
			b.ScaleDownDelay(int32(rng.IntN(60)))
			for i := range rng.IntN(3) {
				b.Analysis(fmt.Sprintf("a%d", i), "t", rng.IntN(2) == 0)
			}
			w := newWorld(b.Obj(), analysisTemplate("t"))

			var finished rolloutsv1alpha1.AnalysisPhase
			var availableAt *time.Time
			for tick := range 200 {
				before := w.ex.DeepCopy()
				again := Plan(w.observation())
				res := w.step()
				Expect(equality.Semantic.DeepEqual(again, res)).To(BeTrue(), "tick %d: the same observation plans the same", tick)
				checkInvariants(w, before, res, tick)

				if finished != "" {
					Expect(w.ex.Status.Phase).To(Equal(finished), "tick %d: a finished experiment keeps its phase", tick)
				} else if w.ex.Status.Phase.Completed() {
					finished = w.ex.Status.Phase
				}
				if availableAt != nil {
					Expect(w.ex.Status.AvailableAt.Time).To(Equal(*availableAt), "tick %d: availableAt never moves", tick)
				} else if w.ex.Status.AvailableAt != nil {
					availableAt = &w.ex.Status.AvailableAt.Time
				}
				perturb(w, rng)
			}

			By("settling once it is told to stop")
			w.ex.Spec.Terminate = true
			w.allAvailable()
			w.settle()
			Expect(w.ex.Status.Phase.Completed()).To(BeTrue())
			for _, rs := range w.rs {
				Expect(*rs.Spec.Replicas).To(BeZero(), "ReplicaSet %s scaled down", rs.Name)
			}
			for _, run := range w.runs {
				Expect(run.Status.Phase.Completed()).To(BeTrue(), "run %s ended", run.Name)
			}
		})
	}
})

// perturb is what the cluster and people do between two passes.
func perturb(w *world, rng *rand.Rand) {
	for _, rs := range w.rs {
		if rng.IntN(3) == 0 {
			n := min(rs.Status.AvailableReplicas+1, *rs.Spec.Replicas)
			rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = *rs.Spec.Replicas, n, n
		}
	}
	for _, run := range w.runs {
		if run.Status.Phase.Completed() {
			continue
		}
		switch r := rng.IntN(40); {
		case r == 0:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseFailed
		case r == 1:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseInconclusive
		case r == 2:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseError
		case r < 8:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseSuccessful
		case r < 20:
			run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
		}
	}
	w.finishTerminated()
	if rng.IntN(150) == 0 {
		w.ex.Spec.Terminate = true
	}
	w.advance(time.Duration(rng.IntN(20)) * time.Second)
}

func checkInvariants(w *world, before *rolloutsv1alpha1.Experiment, res Result, tick int) {
	terminating := IsTerminating(before.Spec, &before.Status)
	for _, a := range res.Actions {
		switch a := a.(type) {
		case CreateAnalysisRun:
			Expect(terminating).To(BeFalse(), "tick %d: no run starts while the experiment winds down", tick)
			Expect(before.Status.AvailableAt).NotTo(BeNil(), "tick %d: no run starts before the experiment is available", tick)
		case ScaleReplicaSet:
			if a.To == 0 {
				deadline := w.rs[a.Name].Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]
				if before.Spec.ScaleDownDelaySeconds != nil && *before.Spec.ScaleDownDelaySeconds > 0 {
					at, err := time.Parse(time.RFC3339, deadline)
					Expect(err).NotTo(HaveOccurred(), "tick %d: %s scaled to zero without a deadline", tick, a.Name)
					Expect(w.now.Before(at)).To(BeFalse(), "tick %d: %s scaled to zero before its deadline", tick, a.Name)
				}
			}
		}
	}
	for _, t := range w.ex.Spec.Templates {
		rs := w.rs[ReplicaSetName(w.ex, t.Name)]
		if rs != nil {
			Expect(*rs.Spec.Replicas).To(BeNumerically("<=", replicasOf(&t)), "tick %d: %s never above its replicas", tick, rs.Name)
		}
		if old := templateStatus(&before.Status, t.Name); old != nil && old.Status.Completed() {
			Expect(w.templateStatus(t.Name).Status).To(Equal(old.Status), "tick %d: a finished template stays finished", tick)
		}
	}
	Expect(len(w.runs)).To(BeNumerically("<=", len(w.ex.Spec.Analyses)), "tick %d: one run per analysis", tick)
	if w.ex.Status.Phase == rolloutsv1alpha1.AnalysisPhaseSuccessful && before.Status.Phase != w.ex.Status.Phase {
		for _, st := range w.ex.Status.AnalysisRuns {
			Expect(st.Phase).NotTo(BeElementOf(rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseError,
				rolloutsv1alpha1.AnalysisPhaseInconclusive), "tick %d: an experiment with a bad analysis does not succeed", tick)
		}
	}
}
