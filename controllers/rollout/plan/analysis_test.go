package plan

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/internal/instance/inherit"
	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("An analysis step", func() {
	// 4 replicas: setWeight 25, analysis, setWeight 100; paused at the
	// analysis step of revision v2.
	atAnalysis := func(change ...func(*rolloutsv1alpha1.Rollout)) *world {
		stable := rolloutsv1alpha1.Stable
		ro := builders.Rollout("web").Replicas(4).Canary(
			builders.SetWeight(25),
			rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}},
				Args: []rolloutsv1alpha1.AnalysisRunArgument{
					{Name: "service", Value: "web"},
					{Name: "baseline", ValueFrom: &rolloutsv1alpha1.ArgumentValueFrom{PodTemplateHashValue: &stable}},
					{Name: "image", ValueFrom: &rolloutsv1alpha1.ArgumentValueFrom{
						FieldRef: &rolloutsv1alpha1.FieldRef{FieldPath: "spec.template.spec.containers[0].image"}}},
				},
			}},
			builders.SetWeight(100),
		).Obj()
		for _, c := range change {
			c(ro)
		}
		w := newWorld(ro)
		w.templates = map[string]*rolloutsv1alpha1.AnalysisTemplate{"error-rate": {
			ObjectMeta: metav1.ObjectMeta{Name: "error-rate"},
			Spec: rolloutsv1alpha1.AnalysisTemplateSpec{
				Args:    []rolloutsv1alpha1.Argument{{Name: "service"}, {Name: "baseline"}, {Name: "image"}},
				Metrics: []rolloutsv1alpha1.Metric{{Name: "error-rate", SuccessCondition: "result[0] < 0.05"}},
			},
		}}
		w.run()
		w.setImage("app:v2")
		w.run()
		return w
	}
	runWith := func(w *world, phase rolloutsv1alpha1.AnalysisPhase) {
		Expect(w.runs).To(HaveLen(1))
		w.runs[0].Status.Phase = phase
	}

	DescribeTable("gives its AnalysisRun the Rollout's controller instance",
		func(rolloutLabel *string, metadataLabel *string, want *string) {
			w := atAnalysis(func(ro *rolloutsv1alpha1.Rollout) {
				if rolloutLabel != nil {
					ro.Labels = map[string]string{rolloutsv1alpha1.LabelKeyControllerInstanceID: *rolloutLabel}
				}
				if metadataLabel != nil {
					ro.Spec.Strategy.Canary.Steps[1].Analysis.AnalysisRunMetadata = &rolloutsv1alpha1.AnalysisRunMetadata{
						Labels: map[string]string{rolloutsv1alpha1.LabelKeyControllerInstanceID: *metadataLabel}}
				}
			})
			Expect(w.runs).To(HaveLen(1))
			id, labelled := w.runs[0].Labels[rolloutsv1alpha1.LabelKeyControllerInstanceID]
			if want == nil {
				Expect(labelled).To(BeFalse(), "no label, as the Rollout has none")
				return
			}
			Expect(labelled).To(BeTrue())
			Expect(id).To(Equal(*want))
		},
		Entry("an unlabelled Rollout's run has no label, for the controller without an instance id", nil, nil, nil),
		Entry("a labelled Rollout's run carries its value, as Argo copies it", ptr.To("blue"), nil, ptr.To("blue")),
		Entry("analysisRunMetadata cannot move the run to another instance", ptr.To("blue"), ptr.To("green"), ptr.To("blue")),
		Entry("nor label an unlabelled Rollout's run away from its controller", nil, ptr.To("green"), nil),
	)

	DescribeTable("puts its ReplicaSets and AnalysisRun in the Rollout's shard, whatever the templates and metadata say",
		func(rolloutShard, elsewhere string) {
			w := atAnalysis(func(ro *rolloutsv1alpha1.Rollout) {
				if rolloutShard != "" {
					ro.Labels = map[string]string{inherit.ShardLabel: rolloutShard}
				}
				if elsewhere != "" {
					ro.Spec.Template.Labels[inherit.ShardLabel] = elsewhere
					ro.Spec.Strategy.Canary.Steps[1].Analysis.AnalysisRunMetadata = &rolloutsv1alpha1.AnalysisRunMetadata{
						Labels: map[string]string{inherit.ShardLabel: elsewhere}}
				}
			})
			Expect(w.runs).To(HaveLen(1))
			Expect(w.rss).To(HaveLen(2))
			for _, labels := range []map[string]string{w.runs[0].Labels, w.rss[0].Labels, w.rss[1].Labels} {
				if rolloutShard == "" {
					Expect(labels).NotTo(HaveKey(inherit.ShardLabel))
				} else {
					Expect(labels).To(HaveKeyWithValue(inherit.ShardLabel, rolloutShard))
				}
			}
			if elsewhere != "" {
				Expect(w.rss[1].Spec.Template.Labels).To(HaveKeyWithValue(inherit.ShardLabel, elsewhere),
					"the pods keep the template's labels: only the objects the manager caches must be in its shard")
			}
		},
		Entry("a Rollout in a shard", "a", ""),
		Entry("a Rollout in no shard", "", ""),
		Entry("a Rollout in a shard whose template and run metadata name another", "a", "b"),
		Entry("a Rollout in no shard whose template and run metadata name one", "", "b"),
	)

	It("creates its AnalysisRun from the templates, as Argo names and labels it, and waits for it", func() {
		w := atAnalysis()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)))
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 1}))
		Expect(w.runs).To(HaveLen(1), "one run, however many reconciles")
		run := w.runs[0]
		hash, stable := w.ro.Status.CurrentPodHash, w.ro.Status.StableRS
		Expect(run.Name).To(Equal("web-"+hash+"-2-1"), "rollout, hash, revision, step")
		Expect(run.Labels).To(Equal(map[string]string{rolloutsv1alpha1.RolloutTypeLabel: rolloutsv1alpha1.RolloutTypeStepLabel, rolloutsv1alpha1.RolloutCanaryStepIndexLabel: "1", rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: hash}))
		Expect(run.OwnerReferences[0].Name).To(Equal("web"))
		Expect(run.Spec.Metrics).To(HaveLen(1))
		Expect(run.Spec.Args).To(HaveLen(3))
		Expect(*run.Spec.Args[0].Value).To(Equal("web"))
		Expect(*run.Spec.Args[1].Value).To(Equal(stable), "podTemplateHashValue: Stable")
		Expect(*run.Spec.Args[2].Value).To(Equal("app:v2"), "valueFrom.fieldRef: a field of the Rollout")

		runWith(w, rolloutsv1alpha1.AnalysisPhaseRunning)
		w.run()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)))
		Expect(w.ro.Status.Canary.CurrentStepAnalysisRunStatus.Name).To(Equal(run.Name))
	})

	It("terminates its run when the rollout is aborted", func() {
		w := atAnalysis()
		runWith(w, rolloutsv1alpha1.AnalysisPhaseRunning)
		w.ro.Status.Abort = true
		w.run()
		Expect(w.runs[0].Spec.Terminate).To(BeTrue())
	})

	It("is InvalidSpec while a template it names is missing", func() {
		w := atAnalysis()
		w.templates = nil
		res := w.step()
		Expect(res.Status.Message).To(ContainSubstring(`spec.strategy.canary.steps[1].analysis.templates[0].templateName: Invalid value: "error-rate": AnalysisTemplate "error-rate" not found`))
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

	It("runs the analysis again, as a new attempt, when retried after it failed", func() {
		w := atAnalysis()
		runWith(w, rolloutsv1alpha1.AnalysisPhaseFailed)
		w.run()
		Expect(w.ro.Status.Abort).To(BeTrue())
		failed := w.runs[0].Name

		w.ro.Status.Abort = false // kubectl argo rollouts retry
		w.run()
		Expect(w.ro.Status.Abort).To(BeFalse(), "the old result does not abort the retry")
		Expect(w.runNamed(failed).Annotations).To(HaveKeyWithValue(SupersededAnnotation, "true"))
		Expect(w.runNamed(failed+".1")).NotTo(BeNil(), "runs: %v", w.runs)
		Expect(w.ro.Status.Canary.CurrentStepAnalysisRunStatus.Name).To(Equal(failed + ".1"))

		w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
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

var _ = Describe("Finished AnalysisRuns", func() {
	It("are kept up to successfulRunHistoryLimit and unsuccessfulRunHistoryLimit, newest first", func() {
		w := newWorld(builders.Rollout("web").Replicas(1).Canary().Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Analysis = &rolloutsv1alpha1.AnalysisRunStrategy{
				SuccessfulRunHistoryLimit: new(int32(2)), UnsuccessfulRunHistoryLimit: new(int32(1)),
			}
		}).Obj())
		w.run()
		for i, phase := range []rolloutsv1alpha1.AnalysisPhase{"Successful", "Failed", "Successful", "Error", "Successful", "Running"} {
			w.runs = append(w.runs, &rolloutsv1alpha1.AnalysisRun{
				ObjectMeta: metav1.ObjectMeta{Name: "run-" + itoa(int32(i)), CreationTimestamp: metav1.Time{Time: w.now.Add(time.Duration(i) * time.Minute)}},
				Status:     rolloutsv1alpha1.AnalysisRunStatus{Phase: phase},
			})
		}
		w.run()
		var left []string
		for _, run := range w.runs {
			left = append(left, run.Name)
		}
		Expect(left).To(ConsistOf("run-2", "run-4", "run-3", "run-5"), "two successful, one unsuccessful, and the running one")
	})
})

var _ = Describe("Background analysis", func() {
	// 4 replicas, steps setWeight 25, pause, setWeight 100, and
	// canary.analysis from step 1 on.
	withBackground := func() *world {
		w := newWorld(builders.Rollout("web").Replicas(4).
			Canary(builders.SetWeight(25), builders.Pause(), builders.SetWeight(100)).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.Analysis = &rolloutsv1alpha1.RolloutAnalysisBackground{
					RolloutAnalysis: rolloutsv1alpha1.RolloutAnalysis{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}}},
					StartingStep:    new(int32(1)),
				}
			}).Obj())
		w.templates = map[string]*rolloutsv1alpha1.AnalysisTemplate{"error-rate": {
			ObjectMeta: metav1.ObjectMeta{Name: "error-rate"},
			Spec:       rolloutsv1alpha1.AnalysisTemplateSpec{Metrics: []rolloutsv1alpha1.Metric{{Name: "m"}}},
		}}
		w.run()
		w.setImage("app:v2")
		w.run()
		return w
	}
	background := func(w *world) *rolloutsv1alpha1.AnalysisRun {
		for _, run := range w.runs {
			if run.Labels[rolloutsv1alpha1.RolloutTypeLabel] == rolloutsv1alpha1.RolloutTypeBackgroundRunLabel {
				return run
			}
		}
		return nil
	}

	It("starts at startingStep with Argo's name and labels, and is terminated once the revision is promoted", func() {
		w := withBackground()
		run := background(w)
		Expect(run).NotTo(BeNil(), "the rollout is at the pause, step index 1")
		Expect(run.Name).To(Equal("web-" + w.ro.Status.CurrentPodHash + "-2"))
		run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
		w.ro.Status.PauseConditions = nil // promote
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(run.Spec.Terminate).To(BeTrue())
	})

	It("aborts the rollout when it fails", func() {
		w := withBackground()
		background(w).Status.Phase = rolloutsv1alpha1.AnalysisPhaseFailed
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4}))
	})

	It("pauses once when inconclusive, and a promote goes past it for good", func() {
		w := withBackground()
		background(w).Status.Phase = rolloutsv1alpha1.AnalysisPhaseInconclusive
		w.run()
		Expect(w.ro.Status.PauseConditions).To(HaveLen(2), "the step's pause and the analysis's")
		w.ro.Status.PauseConditions = nil // promote past both
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), "not paused again")
	})
})
