package plan

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	rolloutplan "github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/internal/instance/inherit"
	"github.com/sluicehq/sluice/test/builders"
)

const (
	successful   = rolloutsv1alpha1.AnalysisPhaseSuccessful
	failed       = rolloutsv1alpha1.AnalysisPhaseFailed
	running      = rolloutsv1alpha1.AnalysisPhaseRunning
	pending      = rolloutsv1alpha1.AnalysisPhasePending
	errored      = rolloutsv1alpha1.AnalysisPhaseError
	inconclusive = rolloutsv1alpha1.AnalysisPhaseInconclusive
)

// twoTemplates is an experiment comparing a baseline with a canary.
func twoTemplates() *builders.ExperimentBuilder {
	return builders.Experiment("exp").Template("baseline", "app:v1", nil).Template("canary", "app:v2", ptr.To[int32](2))
}

var _ = Describe("The experiment planner", func() {
	Describe("templates", func() {
		It("creates one ReplicaSet per template, named and labelled as Argo does, and waits Pending", func() {
			w := newWorld(twoTemplates().Obj())
			w.step()
			Expect(w.rs).To(HaveLen(2))
			rs := w.rs["exp-canary"]
			Expect(rs).NotTo(BeNil())
			hash := rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
			Expect(hash).NotTo(BeEmpty())
			Expect(hash).To(Equal(rolloutplan.PodTemplateHash(&w.ex.Spec.Templates[1].Template, nil)))
			Expect(rs.Spec.Selector.MatchLabels).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, hash))
			Expect(rs.Spec.Template.Labels).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, hash))
			Expect(rs.Annotations).To(Equal(map[string]string{
				rolloutsv1alpha1.ExperimentNameAnnotationKey: "exp", rolloutsv1alpha1.ExperimentTemplateNameAnnotationKey: "canary"}))
			Expect(rs.OwnerReferences).To(HaveLen(1))
			Expect(rs.OwnerReferences[0].Kind).To(Equal("Experiment"))
			Expect(*rs.OwnerReferences[0].Controller).To(BeTrue())
			Expect(*rs.Spec.Replicas).To(Equal(int32(2)), "the template's replicas")
			Expect(w.replicas("baseline")).To(Equal(int32(1)), "one replica by default")

			Expect(w.ex.Status.Phase).To(Equal(pending))
			Expect(w.templateStatus("canary").Status).To(Equal(rolloutsv1alpha1.TemplateStatusProgressing))
			Expect(w.templateStatus("canary").LastTransitionTime).NotTo(BeNil())
		})

		It("copies minReadySeconds to the ReplicaSet", func() {
			w := newWorld(twoTemplates().Edit(func(ex *rolloutsv1alpha1.Experiment) { ex.Spec.Templates[0].MinReadySeconds = 5 }).Obj())
			w.step()
			Expect(w.rs["exp-baseline"].Spec.MinReadySeconds).To(Equal(int32(5)))
		})

		It("runs once every template has all its pods available, and records availableAt", func() {
			w := newWorld(twoTemplates().Obj())
			w.step()
			w.step()
			w.available("baseline", 1)
			w.available("canary", 1)
			w.step()
			Expect(w.ex.Status.Phase).To(Equal(pending), "the canary has one of two pods")
			Expect(w.ex.Status.AvailableAt).To(BeNil())
			w.available("canary", 2)
			w.step()
			Expect(w.templateStatus("canary")).To(And(
				HaveField("Status", rolloutsv1alpha1.TemplateStatusRunning),
				HaveField("Replicas", int32(2)), HaveField("UpdatedReplicas", int32(2)),
				HaveField("ReadyReplicas", int32(2)), HaveField("AvailableReplicas", int32(2))))
			Expect(w.ex.Status.Phase).To(Equal(running))
			Expect(w.ex.Status.AvailableAt).NotTo(BeNil())
			Expect(w.ex.Status.AvailableAt.Time).To(Equal(w.now))
			cond := condition(&w.ex.Status, rolloutsv1alpha1.ExperimentProgressing)
			Expect(cond).NotTo(BeNil())
			Expect(cond.Status).To(Equal(corev1.ConditionTrue))
		})

		It("writes nothing new when planned again from what it wrote", func() {
			w := newWorld(twoTemplates().Duration("1m").Obj())
			w.step()
			w.allAvailable()
			w.step()
			w.step()
			before := w.ex.Status.DeepCopy()
			res := w.step()
			Expect(res.Actions).To(BeEmpty())
			Expect(equality.Semantic.DeepEqual(before, &w.ex.Status)).To(BeTrue())
		})

		It("fails a template, and the experiment, past progressDeadlineSeconds", func() {
			w := newWorld(twoTemplates().ProgressDeadline(60).Obj())
			w.step()
			w.available("baseline", 1)
			w.step()
			res := w.step()
			Expect(res.RequeueAfter).To(BeNumerically("~", 61*time.Second, time.Second), "looks again at the deadline")
			w.advance(61 * time.Second)
			w.step()
			Expect(w.templateStatus("canary").Status).To(Equal(rolloutsv1alpha1.TemplateStatusFailed))
			Expect(w.templateStatus("canary").Message).To(Equal("Template 'canary' exceeded its progressDeadlineSeconds (60)"))
			Expect(w.ex.Status.Phase).To(Equal(failed))
			Expect(w.ex.Status.Message).To(ContainSubstring("progressDeadlineSeconds"))
			w.settle()
			Expect(w.replicas("baseline")).To(BeZero(), "a failed experiment scales its templates down")
			Expect(w.replicas("canary")).To(BeZero())
		})
	})

	Describe("ending", func() {
		It("runs until terminated when it has neither duration nor analyses", func() {
			w := newWorld(twoTemplates().Obj())
			w.step()
			w.allAvailable()
			w.step()
			for range 5 {
				w.advance(time.Hour)
				res := w.step()
				Expect(res.RequeueAfter).To(BeZero())
			}
			Expect(w.ex.Status.Phase).To(Equal(running))

			w.ex.Spec.Terminate = true
			w.step()
			Expect(w.ex.Status.Phase).To(Equal(successful), "a terminated experiment ends Successful")
			Expect(w.templateStatus("canary").Status).To(Equal(rolloutsv1alpha1.TemplateStatusSuccessful))
			cond := condition(&w.ex.Status, rolloutsv1alpha1.ExperimentProgressing)
			Expect(cond.Status).To(Equal(corev1.ConditionFalse))
			Expect(cond.Reason).To(Equal("ExperimentCompleted"))
		})

		It("keeps pods for scaleDownDelaySeconds (30 by default) after the end, then scales to zero", func() {
			w := newWorld(twoTemplates().Obj())
			w.step()
			w.allAvailable()
			w.step()
			w.ex.Spec.Terminate = true
			w.step()
			res := w.step()
			Expect(w.rs["exp-canary"].Annotations).To(HaveKeyWithValue(
				rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, w.now.Add(30*time.Second).Format(time.RFC3339)))
			Expect(w.replicas("canary")).To(Equal(int32(2)))
			Expect(res.RequeueAfter).To(Equal(30 * time.Second))
			w.advance(29 * time.Second)
			w.step()
			Expect(w.replicas("canary")).To(Equal(int32(2)))
			w.advance(2 * time.Second)
			w.step()
			Expect(w.replicas("canary")).To(BeZero())
			Expect(w.replicas("baseline")).To(BeZero())
		})

		It("scales down at once with scaleDownDelaySeconds 0", func() {
			w := newWorld(twoTemplates().ScaleDownDelay(0).Obj())
			w.step()
			w.allAvailable()
			w.step()
			w.ex.Spec.Terminate = true
			w.step()
			w.step()
			Expect(w.replicas("canary")).To(BeZero())
			Expect(w.rs["exp-canary"].Annotations).NotTo(HaveKey(rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey))
		})

		It("ends Successful when the duration has passed since availableAt", func() {
			w := newWorld(twoTemplates().Duration("5m").Obj())
			w.step()
			w.allAvailable()
			res := w.step()
			Expect(res.RequeueAfter).To(Equal(5*time.Minute+time.Second), "looks again when the duration is over")
			w.advance(4 * time.Minute)
			w.step()
			Expect(w.ex.Status.Phase).To(Equal(running))
			w.advance(time.Minute + time.Second)
			w.step()
			Expect(w.ex.Status.Phase).To(Equal(successful))
			w.settle()
			Expect(w.replicas("canary")).To(BeZero())
		})
	})

	Describe("analyses", func() {
		It("checks its templates before the experiment is available, and errors on a missing one", func() {
			w := newWorld(twoTemplates().Analysis("a", "missing", false).Obj())
			w.step()
			w.step()
			Expect(w.analysisStatus("a").Phase).To(Equal(errored))
			Expect(w.analysisStatus("a").Message).To(ContainSubstring(`AnalysisTemplate "missing" not found`))
			Expect(w.ex.Status.Phase).To(Equal(errored))
			Expect(w.runs).To(BeEmpty())
		})

		It("puts its ReplicaSets, Services and runs in its shard, whatever the templates and metadata say", func() {
			ex := twoTemplates().Service("").
				Analysis("compare", "compare", true).
				Edit(func(ex *rolloutsv1alpha1.Experiment) {
					ex.Labels = map[string]string{inherit.ShardLabel: "a"}
					ex.Spec.Templates[0].Template.Labels[inherit.ShardLabel] = "b"
					ex.Spec.AnalysisRunMetadata = rolloutsv1alpha1.AnalysisRunMetadata{Labels: map[string]string{inherit.ShardLabel: "b"}}
				}).Obj()
			w := newWorld(ex, analysisTemplate("compare"))
			w.step()
			w.allAvailable()
			w.step()
			w.step()
			Expect(w.rs).To(HaveLen(2))
			for _, rs := range w.rs {
				Expect(rs.Labels).To(HaveKeyWithValue(inherit.ShardLabel, "a"), rs.Name)
			}
			Expect(w.runs).To(HaveKey("exp-compare"))
			Expect(w.runs["exp-compare"].Labels).To(HaveKeyWithValue(inherit.ShardLabel, "a"))
			Expect(w.services).NotTo(BeEmpty())
			for name, svc := range w.services {
				Expect(svc.Labels).To(HaveKeyWithValue(inherit.ShardLabel, "a"), name)
			}
		})

		It("starts runs once available, with resolved arguments, dry-run, retention and metadata", func() {
			ex := twoTemplates().
				Analysis("compare", "compare", true,
					rolloutsv1alpha1.Argument{Name: "canary-hash", Value: ptr.To("{{templates.canary.podTemplateHash}}")},
					rolloutsv1alpha1.Argument{Name: "baseline-rs", Value: ptr.To("{{ templates.baseline.replicaset.name }}")},
					rolloutsv1alpha1.Argument{Name: "unknown", Value: ptr.To("ignored: the template has no such argument")}).
				Edit(func(ex *rolloutsv1alpha1.Experiment) {
					ex.Labels = map[string]string{rolloutsv1alpha1.LabelKeyControllerInstanceID: "blue"}
					ex.Spec.DryRun = []rolloutsv1alpha1.DryRun{{MetricName: "compare-metric"}}
					ex.Spec.MeasurementRetention = []rolloutsv1alpha1.MeasurementRetention{{MetricName: "compare-metric", Limit: 3}}
					ex.Spec.AnalysisRunMetadata = rolloutsv1alpha1.AnalysisRunMetadata{
						Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "n"}}
				}).Obj()
			w := newWorld(ex, analysisTemplate("compare", "canary-hash", "baseline-rs"))
			w.step()
			w.allAvailable()
			w.step()
			Expect(w.runs).To(BeEmpty(), "a run starts on the pass after availableAt is recorded")
			w.step()
			run := w.runs["exp-compare"]
			Expect(run).NotTo(BeNil())
			Expect(run.Labels).To(Equal(map[string]string{rolloutsv1alpha1.LabelKeyControllerInstanceID: "blue", "team": "a"}))
			Expect(run.Annotations).To(Equal(map[string]string{"note": "n"}))
			Expect(run.OwnerReferences[0].Kind).To(Equal("Experiment"))
			Expect(run.Spec.Metrics).To(HaveLen(1))
			Expect(run.Spec.Args).To(ConsistOf(
				rolloutsv1alpha1.Argument{Name: "canary-hash", Value: ptr.To(w.rs["exp-canary"].Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey])},
				rolloutsv1alpha1.Argument{Name: "baseline-rs", Value: ptr.To("exp-baseline")}))
			Expect(run.Spec.DryRun).To(Equal(ex.Spec.DryRun))
			Expect(run.Spec.MeasurementRetention).To(Equal(ex.Spec.MeasurementRetention))
			Expect(w.analysisStatus("compare")).To(And(HaveField("AnalysisRun", "exp-compare"), HaveField("Phase", pending)))
		})

		It("errors an analysis whose argument names an unknown placeholder or stays without a value", func() {
			ex := twoTemplates().Analysis("a", "t", false,
				rolloutsv1alpha1.Argument{Name: "x", Value: ptr.To("{{templates.nope.podTemplateHash}}")}).Obj()
			w := newWorld(ex, analysisTemplate("t", "x"))
			w.step()
			w.allAvailable()
			w.step()
			w.step()
			Expect(w.analysisStatus("a").Phase).To(Equal(errored))
			Expect(w.analysisStatus("a").Message).To(ContainSubstring("failed to resolve {{templates.nope.podTemplateHash}}"))
			Expect(w.ex.Status.Phase).To(Equal(errored))

			w = newWorld(twoTemplates().Analysis("a", "t", false).Obj(), analysisTemplate("t", "x"))
			w.step()
			w.allAvailable()
			w.step()
			w.step()
			Expect(w.analysisStatus("a").Message).To(ContainSubstring("args.x was not resolved"))
		})

		DescribeTable("an analysis that ends badly ends the experiment with its phase, and stops the others",
			func(phase rolloutsv1alpha1.AnalysisPhase) {
				w := newWorld(twoTemplates().Analysis("a", "t", false).Analysis("b", "t", false).Obj(), analysisTemplate("t"))
				w.step()
				w.allAvailable()
				w.step()
				w.step()
				w.endRun("a", phase)
				w.step()
				Expect(w.ex.Status.Phase).To(Equal(phase))
				Expect(w.ex.Status.Message).To(Equal("ended " + string(phase)))
				w.step()
				Expect(w.runs["exp-b"].Spec.Terminate).To(BeTrue())
				w.settle()
				Expect(w.ex.Status.Phase).To(Equal(phase), "the phase stays")
				Expect(w.replicas("canary")).To(BeZero())
			},
			Entry("Failed", failed), Entry("Error", errored), Entry("Inconclusive", inconclusive))

		It("ends Successful once every analysis required for completion succeeded, stopping the rest", func() {
			w := newWorld(twoTemplates().Analysis("req", "t", true).Analysis("other", "t", false).Obj(), analysisTemplate("t"))
			w.step()
			w.allAvailable()
			w.step()
			w.step()
			w.runs["exp-other"].Status.Phase = running
			w.endRun("req", successful)
			w.step()
			Expect(w.ex.Status.Phase).To(Equal(running), "the non-required analysis still runs")
			w.step()
			Expect(w.runs["exp-other"].Spec.Terminate).To(BeTrue())
			w.settle()
			Expect(w.ex.Status.Phase).To(Equal(successful))
			Expect(w.analysisStatus("other").Phase).To(Equal(successful), "the terminated run's end is mirrored")
			Expect(w.replicas("canary")).To(BeZero())
		})

		It("ends Successful with Argo's message when only required analyses run", func() {
			w := newWorld(twoTemplates().Analysis("req", "t", true).Obj(), analysisTemplate("t"))
			w.step()
			w.allAvailable()
			w.step()
			w.step()
			w.endRun("req", successful)
			w.step()
			Expect(w.ex.Status.Phase).To(Equal(successful))
			Expect(w.ex.Status.Message).To(Equal("Required AnalysisRuns completed"))
		})

		It("defers to analyses that are still running when the duration ends, then succeeds with them", func() {
			w := newWorld(twoTemplates().Duration("1m").Analysis("a", "t", false).Obj(), analysisTemplate("t"))
			w.step()
			w.allAvailable()
			w.step()
			w.step()
			w.runs["exp-a"].Status.Phase = running
			w.advance(2 * time.Minute)
			w.step()
			Expect(w.ex.Status.Phase).To(Equal(successful), "templates succeeded and no analysis is required")
		})

		It("adopts a run an earlier pass made whose status write was lost", func() {
			w := newWorld(twoTemplates().Analysis("a", "t", false).Obj(), analysisTemplate("t"))
			w.step()
			w.allAvailable()
			w.step()
			saved := w.ex.Status.DeepCopy()
			w.step()
			Expect(w.runs).To(HaveKey("exp-a"))
			w.ex.Status = *saved
			res := w.step()
			Expect(res.Actions).To(BeEmpty())
			Expect(w.analysisStatus("a").AnalysisRun).To(Equal("exp-a"))
		})

		It("errors an analysis whose run is gone", func() {
			w := newWorld(twoTemplates().Analysis("a", "t", false).Obj(), analysisTemplate("t"))
			w.step()
			w.allAvailable()
			w.step()
			w.step()
			delete(w.runs, "exp-a")
			obs := w.observation()
			obs.MissingRuns = []string{"exp-a"}
			res := Plan(obs)
			Expect(analysisStatus(&res.Status, "a").Phase).To(Equal(errored))
		})
	})

	Describe("services", func() {
		It("creates a template's Service once its ReplicaSet exists, and removes it once its pods are gone", func() {
			w := newWorld(twoTemplates().Service("").ScaleDownDelay(0).Obj())
			w.step()
			Expect(w.services).To(BeEmpty())
			w.step()
			svc := w.services["exp-canary"]
			Expect(svc).NotTo(BeNil())
			rs := w.rs["exp-canary"]
			Expect(svc.Spec.Selector).To(Equal(rs.Labels))
			Expect(svc.Spec.Ports).To(Equal([]corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080, TargetPort: intstr.FromInt32(8080)}}))
			Expect(svc.Annotations).To(HaveKeyWithValue(rolloutsv1alpha1.ExperimentTemplateNameAnnotationKey, "canary"))
			Expect(w.templateStatus("canary")).To(And(HaveField("ServiceName", "exp-canary"),
				HaveField("PodTemplateHash", rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey])))
			Expect(w.services).NotTo(HaveKey("exp-baseline"), "only templates that ask get one")

			w.allAvailable()
			w.step()
			w.ex.Spec.Terminate = true
			w.settle()
			Expect(w.services).To(BeEmpty())
			Expect(w.templateStatus("canary").ServiceName).To(BeEmpty())
		})

		It("uses the name the template gives, and refuses one that belongs to something else", func() {
			w := newWorld(twoTemplates().Service("canary-preview").Obj())
			w.step()
			w.step()
			Expect(w.services).To(HaveKey("canary-preview"))

			w = newWorld(twoTemplates().Service("taken").Obj())
			w.services["taken"] = builders.Service("default", "taken", "other")
			w.step()
			w.step()
			Expect(w.templateStatus("canary").Status).To(Equal(rolloutsv1alpha1.TemplateStatusError))
			w.step()
			Expect(w.ex.Status.Phase).To(Equal(errored))
		})
	})

	DescribeTable("refuses a spec it cannot run with InvalidSpec naming the field, and makes nothing",
		func(edit func(*rolloutsv1alpha1.Experiment), field string) {
			w := newWorld(twoTemplates().Edit(edit).Obj())
			res := w.step()
			Expect(res.Actions).To(BeEmpty())
			cond := condition(&w.ex.Status, rolloutsv1alpha1.InvalidExperimentSpec)
			Expect(cond).NotTo(BeNil())
			Expect(cond.Message).To(HavePrefix(field))
		},
		Entry("no selector", func(ex *rolloutsv1alpha1.Experiment) { ex.Spec.Templates[1].Selector = nil }, "spec.templates[1].selector"),
		Entry("a selector of everything", func(ex *rolloutsv1alpha1.Experiment) {
			ex.Spec.Templates[0].Selector.MatchLabels = nil
		}, "spec.templates[0].selector"),
		Entry("a selector the labels do not match", func(ex *rolloutsv1alpha1.Experiment) {
			ex.Spec.Templates[0].Selector.MatchLabels = map[string]string{"app": "other"}
		}, "spec.templates[0].selector"),
		Entry("a template without a name", func(ex *rolloutsv1alpha1.Experiment) { ex.Spec.Templates[0].Name = "" }, "spec.templates[0].name"),
		Entry("two templates of one name", func(ex *rolloutsv1alpha1.Experiment) { ex.Spec.Templates[1].Name = "baseline" }, "spec.templates[1].name"),
		Entry("minReadySeconds past the deadline", func(ex *rolloutsv1alpha1.Experiment) {
			ex.Spec.Templates[0].MinReadySeconds = 601
		}, "spec.templates[0].minReadySeconds"),
		Entry("two templates asking for one Service", func(ex *rolloutsv1alpha1.Experiment) {
			ex.Spec.Templates[0].Service = &rolloutsv1alpha1.TemplateService{Name: "exp-canary"}
			ex.Spec.Templates[1].Service = &rolloutsv1alpha1.TemplateService{}
		}, "spec.templates[1].service.name"),
		Entry("a negative replica count", func(ex *rolloutsv1alpha1.Experiment) { ex.Spec.Templates[1].Replicas = ptr.To[int32](-1) },
			"spec.templates[1].replicas"),
		Entry("a duration that does not parse", func(ex *rolloutsv1alpha1.Experiment) { ex.Spec.Duration = "soon" }, "spec.duration"),
		Entry("two analyses of one name", func(ex *rolloutsv1alpha1.Experiment) {
			ex.Spec.Analyses = []rolloutsv1alpha1.ExperimentAnalysisTemplateRef{{Name: "a", TemplateName: "t"}, {Name: "a", TemplateName: "t"}}
		}, "spec.analyses[1].name"),
	)

	It("clears InvalidSpec once the spec is fixed", func() {
		w := newWorld(twoTemplates().Edit(func(ex *rolloutsv1alpha1.Experiment) { ex.Spec.Templates[1].Selector = nil }).Obj())
		w.step()
		w.ex.Spec.Templates[1].Selector = twoTemplates().Obj().Spec.Templates[1].Selector
		w.step()
		Expect(condition(&w.ex.Status, rolloutsv1alpha1.InvalidExperimentSpec)).To(BeNil())
		Expect(w.rs).To(HaveLen(2))
	})
})
