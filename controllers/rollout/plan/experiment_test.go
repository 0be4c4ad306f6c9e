package plan

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("An experiment step", func() {
	stable := rolloutsv1alpha1.Stable
	experimentStep := func() *rolloutsv1alpha1.RolloutExperimentStep {
		return &rolloutsv1alpha1.RolloutExperimentStep{
			Duration: "1m",
			Templates: []rolloutsv1alpha1.RolloutExperimentTemplate{
				{Name: "baseline", SpecRef: rolloutsv1alpha1.StableSpecRef},
				{Name: "canary", SpecRef: rolloutsv1alpha1.CanarySpecRef, Replicas: ptr.To[int32](2),
					Metadata: rolloutsv1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "experiment"}},
					Service:  &rolloutsv1alpha1.TemplateService{}},
			},
			Analyses: []rolloutsv1alpha1.RolloutExperimentStepAnalysisTemplateRef{{
				Name: "compare", TemplateName: "error-rate", RequiredForCompletion: true,
				Args: []rolloutsv1alpha1.AnalysisRunArgument{
					{Name: "baseline", ValueFrom: &rolloutsv1alpha1.ArgumentValueFrom{PodTemplateHashValue: &stable}},
				},
			}},
		}
	}
	// 4 replicas: setWeight 25, experiment, setWeight 100; at the
	// experiment step of revision v2.
	atExperiment := func(edit func(*rolloutsv1alpha1.RolloutExperimentStep)) *world {
		step := experimentStep()
		if edit != nil {
			edit(step)
		}
		w := newWorld(builders.Rollout("web").Replicas(4).Canary(
			builders.SetWeight(25), rolloutsv1alpha1.CanaryStep{Experiment: step}, builders.SetWeight(100)).Obj())
		w.ro.Labels = map[string]string{"team": "shop", rolloutsv1alpha1.LabelKeyControllerInstanceID: "blue"}
		w.templates = map[string]*rolloutsv1alpha1.AnalysisTemplate{"error-rate": {
			ObjectMeta: metav1.ObjectMeta{Name: "error-rate"},
			Spec: rolloutsv1alpha1.AnalysisTemplateSpec{
				Args:    []rolloutsv1alpha1.Argument{{Name: "baseline"}},
				Metrics: []rolloutsv1alpha1.Metric{{Name: "error-rate", SuccessCondition: "result[0] < 0.05"}},
			},
		}}
		w.run()
		w.setImage("app:v2")
		w.run()
		return w
	}
	endWith := func(w *world, phase rolloutsv1alpha1.AnalysisPhase) {
		Expect(w.experiments).To(HaveLen(1))
		w.experiments[0].Status.Phase = phase
		w.experiments[0].Status.Message = "because"
	}

	It("creates its Experiment from the canary and stable templates, as Argo names and labels it, and waits", func() {
		w := atExperiment(nil)
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)))
		Expect(w.experiments).To(HaveLen(1), "one Experiment, however many reconciles")
		ex := w.experiments[0]
		hash := w.ro.Status.CurrentPodHash
		Expect(ex.Name).To(Equal("web-" + hash + "-2-1"))
		Expect(ex.Labels).To(Equal(map[string]string{"team": "shop", rolloutsv1alpha1.LabelKeyControllerInstanceID: "blue",
			rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: hash, "step-index": "1"}))
		Expect(ex.Annotations).To(HaveKeyWithValue(RevisionAnnotation, "2"))
		Expect(ex.OwnerReferences[0].Kind).To(Equal("Rollout"))
		Expect(string(ex.Spec.Duration)).To(Equal("1m"))
		Expect(ex.Spec.Templates).To(HaveLen(2))
		Expect(ex.Spec.Templates[0].Template.Spec.Containers[0].Image).To(Equal("app:v1"), "baseline is the stable spec")
		canary := ex.Spec.Templates[1]
		Expect(canary.Template.Spec.Containers[0].Image).To(Equal("app:v2"))
		Expect(canary.Replicas).To(Equal(ptr.To[int32](2)))
		Expect(canary.Template.Labels).To(HaveKeyWithValue("role", "experiment"))
		Expect(canary.Selector.MatchLabels).To(HaveKeyWithValue("role", "experiment"))
		Expect(canary.Service).NotTo(BeNil())
		Expect(ex.Spec.Analyses).To(ConsistOf(rolloutsv1alpha1.ExperimentAnalysisTemplateRef{
			Name: "compare", TemplateName: "error-rate", RequiredForCompletion: true,
			Args: []rolloutsv1alpha1.Argument{{Name: "baseline", Value: ptr.To(w.ro.Status.StableRS)}},
		}))
		Expect(w.ro.Status.Canary.CurrentExperiment).To(Equal(ex.Name))
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 1}), "the experiment's pods are its own")
	})

	It("goes on once the Experiment succeeds", func() {
		w := atExperiment(nil)
		endWith(w, rolloutsv1alpha1.AnalysisPhaseSuccessful)
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(w.ro.Status.Canary.CurrentExperiment).To(BeEmpty())
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 4}))
	})

	DescribeTable("aborts when the Experiment fails or errs, back to stable",
		func(phase rolloutsv1alpha1.AnalysisPhase) {
			w := atExperiment(nil)
			endWith(w, phase)
			w.run()
			Expect(w.ro.Status.Abort).To(BeTrue())
			Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4}))
			Expect(w.events).To(ContainElement(HaveField("Reason", "ExperimentFailed")))
		},
		Entry("Failed", rolloutsv1alpha1.AnalysisPhaseFailed), Entry("Error", rolloutsv1alpha1.AnalysisPhaseError))

	It("pauses on an inconclusive Experiment until promoted", func() {
		w := atExperiment(nil)
		endWith(w, rolloutsv1alpha1.AnalysisPhaseInconclusive)
		w.run()
		Expect(w.ro.Status.PauseConditions).To(ContainElement(HaveField("Reason", rolloutsv1alpha1.PauseReasonInconclusiveExperiment)))
		w.ro.Status.PauseConditions = nil // kubectl argo rollouts promote
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})

	It("terminates a running Experiment on abort, and runs a new one on retry", func() {
		w := atExperiment(nil)
		w.ro.Status.Abort = true
		w.run()
		Expect(w.experiments[0].Spec.Terminate).To(BeTrue())
		Expect(w.ro.Status.Canary.CurrentExperiment).To(BeEmpty())
		w.experiments[0].Status.Phase = rolloutsv1alpha1.AnalysisPhaseSuccessful

		w.ro.Status.Abort = false // kubectl argo rollouts retry
		w.run()
		Expect(w.experiments).To(HaveLen(2))
		Expect(w.experiments[0].Annotations).To(HaveKeyWithValue(SupersededAnnotation, "true"))
		Expect(w.experiments[1].Name).To(Equal(w.experiments[0].Name + "-1"))
		Expect(w.ro.Status.Canary.CurrentExperiment).To(Equal(w.experiments[1].Name))
	})

	It("does not time out while it waits for its Experiment", func() {
		w := atExperiment(func(s *rolloutsv1alpha1.RolloutExperimentStep) { s.Duration = "2h" })
		w.now = w.now.Add(time.Hour)
		w.run()
		Expect(w.ro.Status.Phase).NotTo(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), w.ro.Status.Message)
		Expect(w.ro.Status.Abort).To(BeFalse())
		Expect(findCondition(&w.ro.Status, rolloutsv1alpha1.RolloutProgressing).Reason).NotTo(Equal("ProgressDeadlineExceeded"))
	})

	It("keeps the newest finished Experiments within the history limits, and none of a revision that is gone", func() {
		w := atExperiment(nil)
		w.ro.Spec.Analysis = &rolloutsv1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](1)}
		hash := w.ro.Status.CurrentPodHash
		finished := func(name, hash string, phase rolloutsv1alpha1.AnalysisPhase, age time.Duration) *rolloutsv1alpha1.Experiment {
			ex := &rolloutsv1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Time{Time: w.now.Add(-age)},
				Labels: map[string]string{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: hash}, Annotations: map[string]string{}}}
			ex.Status.Phase = phase
			return ex
		}
		w.experiments = append(w.experiments,
			finished("older", hash, rolloutsv1alpha1.AnalysisPhaseSuccessful, 2*time.Hour),
			finished("newer", hash, rolloutsv1alpha1.AnalysisPhaseSuccessful, time.Hour),
			finished("failed", hash, rolloutsv1alpha1.AnalysisPhaseFailed, time.Hour),
			finished("orphaned", "gone", rolloutsv1alpha1.AnalysisPhaseSuccessful, time.Minute))
		w.step()
		var names []string
		for _, ex := range w.experiments {
			names = append(names, ex.Name)
		}
		Expect(names).To(ConsistOf(w.ro.Status.Canary.CurrentExperiment, "newer", "failed"))
	})

	It("terminates a running Experiment on a full promote", func() {
		w := atExperiment(nil)
		w.ro.Status.PromoteFull = true
		w.run()
		Expect(w.experiments[0].Spec.Terminate).To(BeTrue())
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})

	DescribeTable("refuses a step it cannot run with InvalidSpec naming the field",
		func(edit func(*rolloutsv1alpha1.RolloutExperimentStep), field string) {
			step := experimentStep()
			edit(step)
			w := newWorld(builders.Rollout("web").Canary(rolloutsv1alpha1.CanaryStep{Experiment: step}).Obj())
			w.templates = map[string]*rolloutsv1alpha1.AnalysisTemplate{"error-rate": {ObjectMeta: metav1.ObjectMeta{Name: "error-rate"},
				Spec: rolloutsv1alpha1.AnalysisTemplateSpec{Args: []rolloutsv1alpha1.Argument{{Name: "baseline"}}}}}
			w.step()
			cond := findCondition(&w.ro.Status, rolloutsv1alpha1.InvalidSpec)
			Expect(cond).NotTo(BeNil())
			Expect(cond.Message).To(HavePrefix(field))
		},
		Entry("a weight without trafficRouting", func(s *rolloutsv1alpha1.RolloutExperimentStep) {
			s.Templates[1].Weight = ptr.To[int32](10)
		}, "spec.strategy.canary.steps[0].experiment.templates[1].weight"),
		Entry("no template", func(s *rolloutsv1alpha1.RolloutExperimentStep) { s.Templates = nil },
			"spec.strategy.canary.steps[0].experiment.templates"),
		Entry("a specRef of neither", func(s *rolloutsv1alpha1.RolloutExperimentStep) { s.Templates[0].SpecRef = "other" },
			"spec.strategy.canary.steps[0].experiment.templates[0].specRef"),
		Entry("two templates of one name", func(s *rolloutsv1alpha1.RolloutExperimentStep) { s.Templates[1].Name = "baseline" },
			"spec.strategy.canary.steps[0].experiment.templates[1].name"),
		Entry("a missing analysis template", func(s *rolloutsv1alpha1.RolloutExperimentStep) { s.Analyses[0].TemplateName = "nope" },
			"spec.strategy.canary.steps[0].experiment.analyses[0].templates[0].templateName"),
		Entry("a duration that does not parse", func(s *rolloutsv1alpha1.RolloutExperimentStep) { s.Duration = "soon" },
			"spec.strategy.canary.steps[0].experiment.duration"),
	)
})
