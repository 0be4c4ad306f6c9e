package plan

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/traffic"
)

// blueGreen is a world with a settled blue-green Rollout at app:v1, its
// active Service "active" and preview Service "preview".
func blueGreen(replicas int32, edit func(*rolloutsv1alpha1.BlueGreenStrategy)) *world {
	ro := builders.Rollout("bg").Replicas(replicas).BlueGreen("active", "preview").Obj()
	if edit != nil {
		edit(ro.Spec.Strategy.BlueGreen)
	}
	w := newWorld(ro, "active", "preview")
	w.templates = passingTemplate
	w.run()
	return w
}

// selects is the revision's image a Service selects, or "" when it is not
// pinned to one.
func (w *world) selects(service string) string {
	hash := w.services[service].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
	for _, rs := range w.rss {
		if rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == hash {
			return rs.Spec.Template.Spec.Containers[0].Image
		}
	}
	return ""
}

// hashOf is the pod-template hash of the ReplicaSet running image.
func (w *world) hashOf(image string) string {
	for _, rs := range w.rss {
		if rs.Spec.Template.Spec.Containers[0].Image == image {
			return rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
		}
	}
	return ""
}

// promote clears the pause conditions, as the plugins' promote does.
func (w *world) promote() { w.ro.Status.PauseConditions = nil }

// finishRuns ends every AnalysisRun still running in the given phase.
func (w *world) finishRuns(phase rolloutsv1alpha1.AnalysisPhase) {
	for _, run := range w.runs {
		if !run.Status.Phase.Completed() {
			run.Status.Phase = phase
		}
	}
}

func (w *world) runNamed(name string) *rolloutsv1alpha1.AnalysisRun {
	for _, run := range w.runs {
		if run.Name == name {
			return run
		}
	}
	return nil
}

func hasPause(st rolloutsv1alpha1.RolloutStatus, reason rolloutsv1alpha1.PauseReason) bool {
	for _, c := range st.PauseConditions {
		if c.Reason == reason {
			return true
		}
	}
	return false
}

var passingTemplate = map[string]*rolloutsv1alpha1.AnalysisTemplate{"checks": {
	Spec: rolloutsv1alpha1.AnalysisTemplateSpec{Metrics: []rolloutsv1alpha1.Metric{{
		Name: "ok", Provider: rolloutsv1alpha1.MetricProvider{Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: "up"}},
	}}},
}}

func checks() *rolloutsv1alpha1.RolloutAnalysis {
	return &rolloutsv1alpha1.RolloutAnalysis{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "checks"}}}
}

var _ = Describe("The blue-green planner", func() {
	It("sends a first revision straight to the active Service, with no pause", func() {
		w := blueGreen(3, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.AutoPromotionEnabled = ptr.To(false) })

		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3}))
		Expect(w.selects("active")).To(Equal("app:v1"))
		Expect(w.selects("preview")).To(Equal("app:v1"))
		Expect(w.ro.Status.StableRS).To(Equal(w.hashOf("app:v1")))
		Expect(w.ro.Status.BlueGreen.ActiveSelector).To(Equal(w.hashOf("app:v1")))
		Expect(w.ro.Status.PauseConditions).To(BeEmpty())
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})

	It("pins the active Service only once the first revision is fully available", func() {
		ro := builders.Rollout("bg").Replicas(3).BlueGreen("active", "").Obj()
		w := newWorld(ro, "active")
		w.step()
		w.step()
		Expect(w.services["active"].Spec.Selector).NotTo(HaveKey(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseProgressing))
		Expect(w.ro.Status.Message).To(Equal("more replicas need to be updated"))
		w.settle()
		w.step()
		Expect(w.selects("active")).To(Equal("app:v1"))
	})

	It("waits behind the preview until promoted, then switches and keeps blue warm for the delay", func() {
		w := blueGreen(3, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.AutoPromotionEnabled = ptr.To(false) })
		w.setImage("app:v2")
		w.run()

		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 3}))
		Expect(w.selects("active")).To(Equal("app:v1"))
		Expect(w.selects("preview")).To(Equal("app:v2"))
		Expect(hasPause(w.ro.Status, rolloutsv1alpha1.PauseReasonBlueGreenPause)).To(BeTrue())
		Expect(w.ro.Status.ControllerPause).To(BeTrue())
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))

		w.promote()
		res := w.step()
		Expect(res.Actions).To(ContainElement(SetServiceSelector{Service: "active", Hash: w.hashOf("app:v2")}))
		Expect(w.ro.Status.StableRS).To(Equal(w.hashOf("app:v2")))
		Expect(w.ro.Status.ControllerPause).To(BeFalse())
		Expect(w.events).To(ContainElement(HaveField("Reason", "SwitchService")))
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 3}), "blue stays up for scaleDownDelaySeconds")
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))

		w.now = w.now.Add(30 * time.Second)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 3}))
	})

	It("never switches the active Service to a revision with unavailable pods", func() {
		w := blueGreen(3, nil)
		w.setImage("app:v2")
		for range 5 {
			w.step()
			Expect(w.selects("active")).To(Equal("app:v1"))
		}
		green := w.rs(w.ro.Name + "-" + w.hashOf("app:v2"))
		green.Status.Replicas, green.Status.AvailableReplicas = 3, 2
		w.step()
		Expect(w.selects("active")).To(Equal("app:v1"))
		green.Status.AvailableReplicas = 3
		w.step()
		Expect(w.selects("active")).To(Equal("app:v2"), "autoPromotionEnabled defaults to true, with no pause")
	})

	It("switches on its own autoPromotionSeconds after the preview is ready", func() {
		w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.AutoPromotionSeconds = 60 })
		w.setImage("app:v2")
		w.run()
		Expect(hasPause(w.ro.Status, rolloutsv1alpha1.PauseReasonBlueGreenPause)).To(BeTrue())
		res := w.step()
		Expect(res.RequeueAfter).To(Equal(60 * time.Second))

		w.now = w.now.Add(59 * time.Second)
		w.run()
		Expect(w.selects("active")).To(Equal("app:v1"))
		w.now = w.now.Add(time.Second)
		w.run()
		Expect(w.selects("active")).To(Equal("app:v2"))
		Expect(w.ro.Status.PauseConditions).To(BeEmpty())
	})

	It("runs the preview at previewReplicaCount and at full size before the switch", func() {
		w := blueGreen(4, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.AutoPromotionEnabled = ptr.To(false)
			bg.PreviewReplicaCount = ptr.To[int32](1)
		})
		w.setImage("app:v2")
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4, "app:v2": 1}))

		w.promote()
		w.step()
		Expect(w.ro.Status.BlueGreen.ScaleUpPreviewCheckPoint).To(BeTrue())
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4, "app:v2": 4}))
		Expect(w.selects("active")).To(Equal("app:v1"), "not before the four are available")
		w.settle()
		w.step()
		Expect(w.selects("active")).To(Equal("app:v2"))
		Expect(w.ro.Status.BlueGreen.ScaleUpPreviewCheckPoint).To(BeFalse(), "reset once promoted")
	})

	Context("with prePromotionAnalysis", func() {
		var w *world
		BeforeEach(func() {
			w = blueGreen(3, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
				bg.AutoPromotionEnabled = ptr.To(false)
				bg.PrePromotionAnalysis = checks()
				bg.AbortScaleDownDelaySeconds = ptr.To[int32](5)
			})
			w.setImage("app:v2")
			w.run()
		})

		It("starts the run once the preview is ready, and pauses only after it passed", func() {
			pre := w.runNamed("bg-" + w.hashOf("app:v2") + "-2-pre")
			Expect(pre).NotTo(BeNil())
			Expect(pre.Labels).To(HaveKeyWithValue(rolloutsv1alpha1.RolloutTypeLabel, rolloutsv1alpha1.RolloutTypePrePromotionLabel))
			Expect(w.ro.Status.PauseConditions).To(BeEmpty())
			Expect(w.ro.Status.BlueGreen.PrePromotionAnalysisRunStatus.Name).To(Equal(pre.Name))

			w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
			w.run()
			Expect(hasPause(w.ro.Status, rolloutsv1alpha1.PauseReasonBlueGreenPause)).To(BeTrue())
			w.promote()
			w.run()
			Expect(w.selects("active")).To(Equal("app:v2"))
		})

		It("aborts on a failed run with the active Service on blue, and scales green down after the abort delay", func() {
			w.finishRuns(rolloutsv1alpha1.AnalysisPhaseFailed)
			w.run()
			Expect(w.ro.Status.Abort).To(BeTrue())
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			Expect(w.selects("active")).To(Equal("app:v1"))
			Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 3}), "kept for abortScaleDownDelaySeconds")
			Expect(w.selects("preview")).To(Equal("app:v2"), "the preview shows what failed while it runs")

			w.now = w.now.Add(5 * time.Second)
			w.run()
			Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3}))
			Expect(w.selects("preview")).To(Equal("app:v1"))
		})

		It("runs the analysis again, as a new attempt, when retried", func() {
			w.finishRuns(rolloutsv1alpha1.AnalysisPhaseFailed)
			w.run()
			w.ro.Status.Abort = false
			w.run()
			retry := w.runNamed("bg-" + w.hashOf("app:v2") + "-2-pre.1")
			Expect(retry).NotTo(BeNil(), "runs: %v", w.runs)
			Expect(w.ro.Status.Abort).To(BeFalse())
			Expect(w.ro.Status.BlueGreen.PrePromotionAnalysisRunStatus.Name).To(Equal(retry.Name))

			w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
			w.run()
			Expect(hasPause(w.ro.Status, rolloutsv1alpha1.PauseReasonBlueGreenPause)).To(BeTrue())
		})

		It("pauses on an inconclusive run, and a promote passes it", func() {
			w.finishRuns(rolloutsv1alpha1.AnalysisPhaseInconclusive)
			w.run()
			Expect(hasPause(w.ro.Status, rolloutsv1alpha1.PauseReasonInconclusiveAnalysis)).To(BeTrue())
			Expect(w.selects("active")).To(Equal("app:v1"))

			w.promote()
			w.run()
			Expect(hasPause(w.ro.Status, rolloutsv1alpha1.PauseReasonBlueGreenPause)).To(BeTrue(), "then the blue-green pause")
			w.promote()
			w.run()
			Expect(w.selects("active")).To(Equal("app:v2"))
		})

		It("skips the analysis and the pause on a full promotion", func() {
			w.ro.Status.PromoteFull = true
			w.run()
			Expect(w.selects("active")).To(Equal("app:v2"))
			Expect(w.ro.Status.StableRS).To(Equal(w.hashOf("app:v2")))
			Expect(w.runNamed("bg-" + w.hashOf("app:v2") + "-2-pre").Spec.Terminate).To(BeTrue())
		})
	})

	Context("with postPromotionAnalysis", func() {
		var w *world
		BeforeEach(func() {
			w = blueGreen(3, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.PostPromotionAnalysis = checks() })
			w.setImage("app:v2")
			w.run()
		})

		It("switches first and makes green stable only once the run passes", func() {
			Expect(w.selects("active")).To(Equal("app:v2"))
			Expect(w.ro.Status.StableRS).To(Equal(w.hashOf("app:v1")))
			Expect(w.runNamed("bg-" + w.hashOf("app:v2") + "-2-post")).NotTo(BeNil())
			Expect(w.ro.Status.Message).To(Equal("waiting for analysis to complete"))
			Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 3}))

			w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
			w.run()
			Expect(w.ro.Status.StableRS).To(Equal(w.hashOf("app:v2")))
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		})

		It("switches back to blue when the run fails", func() {
			w.finishRuns(rolloutsv1alpha1.AnalysisPhaseFailed)
			w.run()
			Expect(w.ro.Status.Abort).To(BeTrue())
			Expect(w.selects("active")).To(Equal("app:v1"))
			Expect(w.ro.Status.StableRS).To(Equal(w.hashOf("app:v1")))
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			w.now = w.now.Add(30 * time.Second)
			w.run()
			Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3}))
		})
	})

	It("runs the analysis anew for a revision rolled back to, whatever its earlier run said", func() {
		w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.PrePromotionAnalysis = checks() })
		w.setImage("app:v2")
		w.run()
		first := w.ro.Status.BlueGreen.PrePromotionAnalysisRunStatus.Name
		w.setImage("app:v3")
		w.run()
		Expect(w.runNamed(first).Spec.Terminate).To(BeTrue())
		w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful) // a terminated run ends Successful

		w.setImage("app:v2")
		w.run()
		Expect(w.selects("active")).To(Equal("app:v1"), "the terminated run of revision 2 decides nothing for revision 4")
		again := w.runNamed("bg-" + w.hashOf("app:v2") + "-4-pre")
		Expect(again).NotTo(BeNil())
		w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
		w.run()
		Expect(w.selects("active")).To(Equal("app:v2"))
	})

	It("is past its pause once promoted, for tools reading controllerPause", func() {
		w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.AutoPromotionEnabled = ptr.To(false)
			bg.PostPromotionAnalysis = checks()
		})
		w.setImage("app:v2")
		w.run()
		w.promote()
		w.run()
		Expect(w.selects("active")).To(Equal("app:v2"))
		Expect(w.ro.Status.ControllerPause).To(BeFalse())
		Expect(w.ro.Status.Message).To(Equal("waiting for analysis to complete"))
	})

	It("keeps the old active ReplicaSet's pods for at least the plan after the switch, even with no delay", func() {
		w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.ScaleDownDelaySeconds = ptr.To[int32](0) })
		w.setImage("app:v2")
		w.step()
		w.step()
		Expect(w.selects("preview")).To(Equal("app:v2"), "so only the active Service holds blue")
		w.settle()
		switched := w.step()
		Expect(switched.Actions).To(ContainElement(SetServiceSelector{Service: "active", Hash: w.hashOf("app:v2")}))
		Expect(switched.Actions).NotTo(ContainElement(ScaleReplicaSet{Name: "bg-" + w.hashOf("app:v1"), From: 2, To: 0}))
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 2}))
	})

	It("times out a green that never becomes fully available", func() {
		w := blueGreen(3, nil)
		w.ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
		w.ro.Spec.ProgressDeadlineAbort = true
		w.setImage("app:v2")
		w.step()
		w.step()
		green := w.rs("bg-" + w.hashOf("app:v2"))
		green.Status.Replicas, green.Status.ReadyReplicas, green.Status.AvailableReplicas = 3, 2, 2
		for range 5 {
			w.now = w.now.Add(61 * time.Second)
			w.step()
		}
		Expect(w.ro.Status.Abort).To(BeTrue())
		Expect(eventReasons(w.events)).To(ContainElement("ProgressDeadlineExceeded"))
		Expect(w.selects("active")).To(Equal("app:v1"))
	})

	It("goes back to blue on an abort, and keeps green with abortScaleDownDelaySeconds 0", func() {
		w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.AutoPromotionEnabled = ptr.To(false)
			bg.AbortScaleDownDelaySeconds = ptr.To[int32](0)
		})
		w.setImage("app:v2")
		w.run()
		w.ro.Status.Abort = true
		w.run()
		w.now = w.now.Add(time.Hour)
		w.run()
		Expect(w.selects("active")).To(Equal("app:v1"))
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 2, "app:v2": 2}))
		Expect(w.ro.Status.PauseConditions).To(BeEmpty())
	})

	It("holds the switch while a person pauses the rollout", func() {
		w := blueGreen(2, nil)
		w.ro.Spec.Paused = true
		w.setImage("app:v2")
		w.run()
		Expect(w.selects("active")).To(Equal("app:v1"))
		w.ro.Spec.Paused = false
		w.run()
		Expect(w.selects("active")).To(Equal("app:v2"))
	})

	It("drops the new revision with no pause when the template goes back to the stable one", func() {
		w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.AutoPromotionEnabled = ptr.To(false) })
		w.setImage("app:v2")
		w.run()
		w.setImage("app:v1")
		w.run()
		Expect(w.selects("active")).To(Equal("app:v1"))
		Expect(w.selects("preview")).To(Equal("app:v1"))
		Expect(w.ro.Status.PauseConditions).To(BeEmpty())
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		w.now = w.now.Add(30 * time.Second)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 2}))
	})

	It("keeps at most scaleDownDelayRevisionLimit old revisions warm", func() {
		w := blueGreen(1, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.ScaleDownDelayRevisionLimit = ptr.To[int32](1) })
		for _, image := range []string{"app:v2", "app:v3"} {
			w.setImage(image)
			w.run()
		}
		Expect(w.selects("active")).To(Equal("app:v3"))
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 1, "app:v3": 1}))
	})

	It("labels the preview's and the active revision's pods", func() {
		w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.AutoPromotionEnabled = ptr.To(false)
			bg.PreviewMetadata = &rolloutsv1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "preview"}}
			bg.ActiveMetadata = &rolloutsv1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "active"}}
		})
		w.setImage("app:v2")
		w.run()
		roles := func() map[string]string {
			out := map[string]string{}
			for _, rs := range w.rss {
				out[rs.Spec.Template.Spec.Containers[0].Image] = rs.Spec.Template.Labels["role"]
			}
			return out
		}
		Expect(roles()).To(Equal(map[string]string{"app:v1": "active", "app:v2": "preview"}))
		w.promote()
		w.run()
		Expect(roles()).To(HaveKeyWithValue("app:v2", "active"))
	})

	DescribeTable("keeps green's pods off blue's nodes with antiAffinity",
		func(anti rolloutsv1alpha1.AntiAffinity, preferred bool) {
			w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.AntiAffinity = &anti })
			blue := w.hashOf("app:v1")
			Expect(w.rss[0].Spec.Template.Spec.Affinity).To(BeNil(), "a first revision has nothing to avoid")
			w.setImage("app:v2")
			w.run()
			Expect(w.rss).To(HaveLen(2), "the injected term does not make the template look new")
			affinity := w.rs(w.ro.Name + "-" + w.hashOf("app:v2")).Spec.Template.Spec.Affinity
			Expect(affinity).NotTo(BeNil())
			var term = affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
			if preferred {
				Expect(affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(HaveLen(1))
				Expect(affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight).To(Equal(int32(40)))
				term = append(term, affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm)
			}
			Expect(term).To(HaveLen(1))
			Expect(term[0].TopologyKey).To(Equal("kubernetes.io/hostname"))
			Expect(term[0].LabelSelector.MatchExpressions[0].Values).To(Equal([]string{blue}))
		},
		Entry("required", rolloutsv1alpha1.AntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &rolloutsv1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}, false),
		Entry("preferred", rolloutsv1alpha1.AntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: &rolloutsv1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 40}}, true),
	)

	DescribeTable("rejects an invalid blue-green spec, naming the field",
		func(edit func(*rolloutsv1alpha1.Rollout), message string) {
			ro := builders.Rollout("bg").Replicas(2).BlueGreen("active", "preview").Edit(edit).Obj()
			w := newWorld(ro, "active", "preview")
			w.step()
			Expect(w.rss).To(BeEmpty())
			cond := findCondition(&w.ro.Status, rolloutsv1alpha1.InvalidSpec)
			Expect(cond).NotTo(BeNil())
			Expect(cond.Message).To(ContainSubstring(message))
		},
		Entry("no active Service", func(ro *rolloutsv1alpha1.Rollout) { ro.Spec.Strategy.BlueGreen.ActiveService = "" },
			"spec.strategy.blueGreen.activeService: Required value"),
		Entry("a missing Service", func(ro *rolloutsv1alpha1.Rollout) { ro.Spec.Strategy.BlueGreen.PreviewService = "nope" },
			`spec.strategy.blueGreen.previewService: Invalid value: "nope": service "nope" not found`),
		Entry("one Service for both", func(ro *rolloutsv1alpha1.Rollout) { ro.Spec.Strategy.BlueGreen.PreviewService = "active" },
			"spec.strategy.blueGreen.previewService"),
		Entry("both strategies", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary = &rolloutsv1alpha1.CanaryStrategy{}
		}, "spec.strategy: Invalid value"),
		Entry("a negative previewReplicaCount", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.PreviewReplicaCount = ptr.To[int32](-1)
		}, "spec.strategy.blueGreen.previewReplicaCount: Invalid value: -1: must not be negative"),
		Entry("a negative autoPromotionSeconds, which would promote at once", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.AutoPromotionSeconds = -30
		}, "spec.strategy.blueGreen.autoPromotionSeconds: Invalid value: -30: must not be negative"),
		Entry("a negative scaleDownDelaySeconds, which would drop blue at once", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = ptr.To[int32](-30)
		}, "spec.strategy.blueGreen.scaleDownDelaySeconds: Invalid value: -30: must not be negative"),
		Entry("a negative scaleDownDelayRevisionLimit, which would keep every old revision warm", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.ScaleDownDelayRevisionLimit = ptr.To[int32](-1)
		}, "spec.strategy.blueGreen.scaleDownDelayRevisionLimit: Invalid value: -1: must not be negative"),
		Entry("a negative abortScaleDownDelaySeconds", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds = ptr.To[int32](-30)
		}, "spec.strategy.blueGreen.abortScaleDownDelaySeconds: Invalid value: -30: must not be negative"),
		Entry("a negative maxUnavailable, which would never count the rollout available", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.MaxUnavailable = ptr.To(intstr.FromInt32(-1))
		}, `spec.strategy.blueGreen.maxUnavailable: Invalid value: "-1": must not be negative`),
		Entry("a bad maxUnavailable", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.MaxUnavailable = ptr.To(intstr.FromString("lots"))
		}, "spec.strategy.blueGreen.maxUnavailable"),
		Entry("antiAffinity of both kinds", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.AntiAffinity = &rolloutsv1alpha1.AntiAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: &rolloutsv1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 1},
				RequiredDuringSchedulingIgnoredDuringExecution:  &rolloutsv1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{},
			}
		}, "spec.strategy.blueGreen.antiAffinity"),
		Entry("a missing analysis template", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.PrePromotionAnalysis = checks()
		}, "spec.strategy.blueGreen.prePromotionAnalysis"),
	)
})

var _ = Describe("A blue-green Rollout with a preview header route", func() {
	// previewed is a blue-green Rollout whose production HTTPRoute sends to
	// the active Service, with a rule of someone else's beside it, and whose
	// annotation asks for X-Preview: true to reach the preview.
	previewed := func(annotation string) *world {
		ro := builders.Rollout("web").Replicas(2).BlueGreen("web", "web-preview").Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Annotations = map[string]string{traffic.PreviewHeaderRouteAnnotation: annotation}
			ro.Spec.Strategy.BlueGreen.AutoPromotionEnabled = ptr.To(false)
		}).Obj()
		w := newWorld(ro, "web", "web-preview")
		w.routes = []*gatewayv1.HTTPRoute{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
				{Name: ptr.To[gatewayv1.SectionName]("app"),
					Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/api")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("web", 1)}},
				{Name: ptr.To[gatewayv1.SectionName]("docs"), BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("docs", 1)}},
			}},
		}}
		w.run()
		return w
	}
	const annotation = "httpRoute: web\nmatch:\n- headerName: X-Preview\n  headerValue: {exact: \"true\"}\n"
	ruleNames := func(w *world) []string {
		var names []string
		for _, rule := range w.routes[0].Spec.Rules {
			names = append(names, string(*rule.Name))
		}
		return names
	}

	It("sends matching requests to the preview while it waits, and stops at the switch", func() {
		w := previewed(annotation)
		Expect(ruleNames(w)).To(Equal([]string{"app", "docs"}), "nothing to preview after a first deploy")

		w.setImage("app:v2")
		w.run()
		Expect(hasPause(w.ro.Status, rolloutsv1alpha1.PauseReasonBlueGreenPause)).To(BeTrue())
		Expect(ruleNames(w)).To(Equal([]string{"app", "docs", "sluice-preview"}))
		rule := w.routes[0].Spec.Rules[2]
		Expect(rule.BackendRefs).To(HaveLen(1))
		Expect(rule.BackendRefs[0].Name).To(Equal(gatewayv1.ObjectName("web-preview")))
		Expect(*rule.BackendRefs[0].Port).To(Equal(gatewayv1.PortNumber(80)))
		Expect(*rule.Matches[0].Path.Value).To(Equal("/api"), "the production rule's matches, narrowed by the header")
		Expect(rule.Matches[0].Headers).To(ConsistOf(HaveField("Name", gatewayv1.HTTPHeaderName("X-Preview"))))
		Expect(w.routes[0].Labels).To(HaveKeyWithValue(traffic.DefaultInProgressLabelKey, traffic.DefaultInProgressLabelValue),
			"a GitOps sync leaves the rules alone meanwhile")

		w.promote()
		w.run()
		Expect(w.selects("web")).To(Equal("app:v2"))
		Expect(ruleNames(w)).To(Equal([]string{"app", "docs"}))
		Expect(w.routes[0].Labels).NotTo(HaveKey(traffic.DefaultInProgressLabelKey))
	})

	It("removes the rule on an abort", func() {
		w := previewed(annotation)
		w.setImage("app:v2")
		w.run()
		Expect(ruleNames(w)).To(ContainElement("sluice-preview"))
		w.ro.Status.Abort = true
		res := w.step()
		Expect(res.Actions).To(ContainElement(SetManagedRoutes{}))
		Expect(ruleNames(w)).To(Equal([]string{"app", "docs"}))
	})

	DescribeTable("rejects a bad annotation, naming it",
		func(value, message string) {
			w := previewed(value)
			cond := findCondition(&w.ro.Status, rolloutsv1alpha1.InvalidSpec)
			Expect(cond).NotTo(BeNil())
			Expect(cond.Message).To(ContainSubstring("metadata.annotations[rollouts.sluice.dev/preview-header-route]"))
			Expect(cond.Message).To(ContainSubstring(message))
		},
		Entry("no route", "match:\n- headerName: X-Preview\n  headerValue: {exact: \"true\"}\n", "name one route"),
		Entry("no match", "httpRoute: web\n", "needs at least one match"),
		Entry("an unknown field", "httpRoute: web\nheader: X-Preview\n", `unknown field "header"`),
	)
})
