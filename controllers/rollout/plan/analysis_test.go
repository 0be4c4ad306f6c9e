package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("An analysis step", func() {
	// 4 replicas: setWeight 25, analysis, setWeight 100; paused at the
	// analysis step of revision v2.
	atAnalysis := func() *world {
		w := newWorld(builders.Rollout("web").Replicas(4).Canary(
			builders.SetWeight(25),
			rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}},
			}},
			builders.SetWeight(100),
		).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		return w
	}
	runWith := func(w *world, phase rolloutsv1alpha1.AnalysisPhase) {
		w.runs = []*rolloutsv1alpha1.AnalysisRun{{
			ObjectMeta: metav1.ObjectMeta{Name: "web-run", Labels: map[string]string{
				rolloutsv1alpha1.RolloutTypeLabel:            rolloutsv1alpha1.RolloutTypeStepLabel,
				rolloutsv1alpha1.RolloutCanaryStepIndexLabel: "1",
				PodTemplateHashLabel:                         w.ro.Status.CurrentPodHash,
			}},
			Status: rolloutsv1alpha1.AnalysisRunStatus{Phase: phase},
		}}
	}

	It("waits for its AnalysisRun", func() {
		w := atAnalysis()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)))
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 1}))
		runWith(w, rolloutsv1alpha1.AnalysisPhaseRunning)
		w.run()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)))
		Expect(w.ro.Status.Canary.CurrentStepAnalysisRunStatus.Name).To(Equal("web-run"))
	})

	It("continues when the run succeeds", func() {
		w := atAnalysis()
		runWith(w, rolloutsv1alpha1.AnalysisPhaseSuccessful)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 4}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(w.ro.Status.Canary.CurrentStepAnalysisRunStatus).To(BeNil())
	})

	It("aborts when the run fails", func() {
		w := atAnalysis()
		runWith(w, rolloutsv1alpha1.AnalysisPhaseFailed)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
		Expect(eventReasons(w.events)).To(ContainElement("AnalysisRunFailed"))
	})

	It("pauses on an inconclusive run until promoted the way the plugin promotes", func() {
		w := atAnalysis()
		runWith(w, rolloutsv1alpha1.AnalysisPhaseInconclusive)
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(w.ro.Status.Message).To(Equal(string(rolloutsv1alpha1.PauseReasonInconclusiveAnalysis)))
		Expect(w.ro.Status.Canary.CurrentStepAnalysisRunStatus.Status).To(Equal(rolloutsv1alpha1.AnalysisPhaseInconclusive))

		w.ro.Status.PauseConditions = nil // promote
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 4}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})
})
