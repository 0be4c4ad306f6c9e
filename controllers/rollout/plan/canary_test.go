package plan

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("Planning a canary", func() {
	// The seed's canary: 5 replicas, setWeight 20, pause 1m, setWeight 50,
	// pause 2m, setWeight 100.
	seed := func() *rolloutsv1alpha1.Rollout {
		return builders.Rollout("my-app").Replicas(5).Canary(
			builders.SetWeight(20), builders.PauseFor(time.Minute),
			builders.SetWeight(50), builders.PauseFor(2*time.Minute),
			builders.SetWeight(100),
		).Obj()
	}

	It("deploys the first revision straight to full size, with no steps", func() {
		ro := seed()
		ro.Spec.MinReadySeconds = 7
		w := newWorld(ro)
		res := w.step()
		Expect(res.Actions).To(HaveLen(1))
		create, ok := res.Actions[0].(CreateReplicaSet)
		Expect(ok).To(BeTrue())
		rs := create.ReplicaSet
		Expect(*rs.Spec.Replicas).To(Equal(int32(5)))
		Expect(rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(res.Status.CurrentPodHash))
		Expect(rs.Spec.Selector.MatchLabels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(res.Status.CurrentPodHash))
		Expect(rs.Spec.Template.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(res.Status.CurrentPodHash))
		Expect(rs.Annotations[RevisionAnnotation]).To(Equal("1"))
		Expect(rs.Spec.MinReadySeconds).To(Equal(int32(7)))
		Expect(rs.OwnerReferences).To(HaveLen(1))
		Expect(*rs.OwnerReferences[0].Controller).To(BeTrue())
		Expect(res.Status.StableRS).To(Equal(res.Status.CurrentPodHash), "the first revision is stable at once")

		w.settle()
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(5)))
		Expect(w.ro.Status.AvailableReplicas).To(Equal(int32(5)))
	})

	It("walks the seed's steps: 20%, pause, 50%, pause, 100%, then completes", func() {
		w := newWorld(seed())
		w.run()
		w.setImage("app:v2")

		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4, "app:v2": 1}), "20% of 5")
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)))
		Expect(w.ro.Status.PauseConditions).To(HaveLen(1))

		By("the pause ending after its minute")
		res := Plan(w.observe())
		Expect(res.RequeueAfter).To(Equal(time.Minute))
		w.now = w.now.Add(time.Minute)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 3}), "50% of 5, with the surge pod")
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(3)))

		w.now = w.now.Add(2 * time.Minute)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 5}))
		Expect(w.ro.Status.StableRS).To(Equal(w.ro.Status.CurrentPodHash))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(5)))
		v1, v2 := "my-app-"+w.hashOf("app:v1"), "my-app-"+w.hashOf("app:v2")
		Expect(eventNotes(w.events)).To(Equal([]string{
			"RolloutUpdated: Rollout updated to revision 1",
			"ScalingReplicaSet: Scaled up ReplicaSet " + v1 + " (revision 1) from 0 to 5",
			"RolloutCompleted: Rollout completed update to revision 1 (" + w.hashOf("app:v1") + "): Initial deploy",
			"RolloutUpdated: Rollout updated to revision 2",
			"ScalingReplicaSet: Scaled up ReplicaSet " + v2 + " (revision 2) from 0 to 1",
			"ScalingReplicaSet: Scaled down ReplicaSet " + v1 + " (revision 1) from 5 to 4",
			"RolloutStepCompleted: Rollout step 1/5 completed (setWeight: 20)",
			"RolloutPaused: Rollout is paused (CanaryPauseStep)",
			"RolloutStepCompleted: Rollout step 2/5 completed (pause: 1m0s)",
			"ScalingReplicaSet: Scaled up ReplicaSet " + v2 + " (revision 2) from 1 to 3",
			"ScalingReplicaSet: Scaled down ReplicaSet " + v1 + " (revision 1) from 4 to 3",
			"RolloutResumed: Rollout is resumed",
			"RolloutStepCompleted: Rollout step 3/5 completed (setWeight: 50)",
			"RolloutPaused: Rollout is paused (CanaryPauseStep)",
			"RolloutStepCompleted: Rollout step 4/5 completed (pause: 2m0s)",
			"ScalingReplicaSet: Scaled up ReplicaSet " + v2 + " (revision 2) from 3 to 4",
			"ScalingReplicaSet: Scaled down ReplicaSet " + v1 + " (revision 1) from 3 to 1",
			"RolloutResumed: Rollout is resumed",
			"ScalingReplicaSet: Scaled up ReplicaSet " + v2 + " (revision 2) from 4 to 5",
			"ScalingReplicaSet: Scaled down ReplicaSet " + v1 + " (revision 1) from 1 to 0",
			"RolloutStepCompleted: Rollout step 5/5 completed (setWeight: 100)",
			"RolloutCompleted: Rollout completed update to revision 2 (" + w.hashOf("app:v2") + "): Completed all 5 canary steps",
		}))
	})

	It("waits at an indefinite pause until the pause condition is cleared, as the plugin's promote does", func() {
		w := newWorld(builders.Rollout("web").Replicas(4).Canary(builders.SetWeight(25), builders.Pause(), builders.SetWeight(100)).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(w.ro.Status.ControllerPause).To(BeTrue())

		w.now = w.now.Add(24 * time.Hour)
		res := w.step()
		Expect(res.Actions).To(BeEmpty(), "a day later it still waits")
		Expect(res.RequeueAfter).To(BeZero(), "no timer runs for an indefinite pause")

		By("promoting: {\"status\":{\"pauseConditions\":null}}")
		w.ro.Status.PauseConditions = nil
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 4}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})

	It("skips every remaining step on a full promote", func() {
		w := newWorld(builders.Rollout("web").Replicas(4).Canary(builders.SetWeight(25), builders.Pause()).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		w.ro.Status.PromoteFull = true
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 4}))
		Expect(w.ro.Status.PromoteFull).To(BeFalse(), "cleared once promoted")
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})

	It("returns to stable on abort, reports Degraded, and starts over on retry", func() {
		w := newWorld(seed())
		w.run()
		w.setImage("app:v2")
		w.run()
		w.now = w.now.Add(time.Minute)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 3, "app:v2": 3}))

		By("aborting: {\"status\":{\"abort\":true}}")
		w.ro.Status.Abort = true
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 5}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
		Expect(w.ro.Status.Message).To(HavePrefix("RolloutAborted: Rollout aborted update to revision 2"))
		Expect(*w.ro.Status.CurrentStepIndex).To(BeZero())
		Expect(eventReasons(w.events)).To(ContainElement("RolloutAborted"))

		By("retrying: {\"status\":{\"abort\":false}}")
		w.ro.Status.Abort = false
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4, "app:v2": 1}), "back at the first step")
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
	})

	It("holds the step machine while spec.paused is set", func() {
		w := newWorld(builders.Rollout("web").Replicas(4).Canary(builders.SetWeight(50), builders.SetWeight(100)).Obj())
		w.run()
		w.ro.Spec.Paused = true
		w.setImage("app:v2")
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(w.ro.Status.Message).To(Equal("manually paused"))
		Expect(*w.ro.Status.CurrentStepIndex).To(BeZero())

		w.ro.Spec.Paused = false
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 4}))
	})

	It("goes back to an older template by reusing its ReplicaSet and renumbering it", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50)).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		Expect(w.rss).To(HaveLen(2))

		w.setImage("app:v1") // kubectl argo rollouts undo
		w.run()
		Expect(w.rss).To(HaveLen(2), "no new ReplicaSet for a template that has one")
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 2}))
		for _, rs := range w.rss {
			if rs.Spec.Template.Spec.Containers[0].Image == "app:v1" {
				Expect(rs.Annotations[RevisionAnnotation]).To(Equal("3"))
			}
		}
	})

	It("points the canary and stable Services at their revisions once pods are available", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Services("web-canary", "web-stable").
			Canary(builders.SetWeight(50), builders.Pause()).Obj(), "web-canary", "web-stable")
		w.run()
		v1 := w.ro.Status.StableRS
		Expect(w.services["web-stable"].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(v1))
		Expect(w.services["web-canary"].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(v1))

		w.setImage("app:v2")
		res := w.step()
		Expect(w.services["web-canary"].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(v1),
			"the canary Service waits for a v2 pod to be available; actions: %v", res.Actions)
		w.settle()
		w.run()
		v2 := w.ro.Status.CurrentPodHash
		Expect(w.services["web-canary"].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(v2))
		Expect(w.services["web-stable"].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(v1))
	})

	It("writes nothing and plans nothing for a finished Rollout", func() {
		w := newWorld(seed(), "svc")
		w.run()
		before := w.ro.Status.DeepCopy()
		w.now = w.now.Add(time.Hour)
		res := Plan(w.observe())
		Expect(res.Actions).To(BeEmpty())
		Expect(res.Events).To(BeEmpty())
		Expect(res.Status).To(Equal(*before))
	})

	It("keeps revisionHistoryLimit old ReplicaSets", func() {
		w := newWorld(builders.Rollout("web").Replicas(1).Canary().Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.RevisionHistoryLimit = new(int32(1))
		}).Obj())
		for _, image := range []string{"app:v1", "app:v2", "app:v3", "app:v4"} {
			w.setImage(image)
			w.run()
		}
		Expect(w.rss).To(HaveLen(2), "the current one and one old")
	})

	It("refuses a negative revisionHistoryLimit without deleting anything", func() {
		// Pruning keeps the newest limit empty ReplicaSets of the old ones;
		// a negative limit once asked it to delete more than there were.
		w := newWorld(builders.Rollout("web").Replicas(1).Canary().Obj())
		for _, image := range []string{"app:v1", "app:v2", "app:v3"} {
			w.setImage(image)
			w.run()
		}
		w.ro.Spec.RevisionHistoryLimit = new(int32(-1))
		var res Result
		Expect(func() { res = w.step() }).NotTo(Panic())
		Expect(res.Actions).To(BeEmpty())
		Expect(w.rss).To(HaveLen(3))
		Expect(res.Status.Message).To(ContainSubstring("spec.revisionHistoryLimit: Invalid value: -1"))
	})
})

var _ = Describe("An invalid Rollout", func() {
	DescribeTable("gets InvalidSpec naming the field, and nothing is touched",
		func(edit func(*rolloutsv1alpha1.Rollout), message string) {
			ro := builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50)).Edit(edit).Obj()
			res := Plan(Observation{Rollout: ro, Now: time.Now()})
			Expect(res.Actions).To(BeEmpty())
			Expect(res.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			Expect(res.Status.Message).To(HavePrefix("InvalidSpec: "))
			Expect(res.Status.Message).To(ContainSubstring(message))
			cond := findCondition(&res.Status, rolloutsv1alpha1.InvalidSpec)
			Expect(cond).NotTo(BeNil())
			Expect(cond.Status).To(Equal(corev1.ConditionTrue))
			Expect(res.Events).To(ContainElement(HaveField("Reason", "InvalidSpec")))

			By("planning again with that status: no new event")
			ro.Status = res.Status
			again := Plan(Observation{Rollout: ro, Now: time.Now()})
			Expect(again.Events).To(BeEmpty())
			Expect(again.Status).To(Equal(res.Status))
		},
		Entry("no selector", func(ro *rolloutsv1alpha1.Rollout) { ro.Spec.Selector = nil }, "spec.selector: Required value"),
		Entry("a selector that misses the template's labels", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
		}, "spec.selector: Invalid value: \"app=other\": does not match the labels of spec.template.metadata.labels"),
		Entry("an empty selector", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Selector.MatchLabels = nil
		}, "spec.selector: Invalid value"),
		Entry("a weight over 100", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{builders.SetWeight(120)}
		}, "spec.strategy.canary.steps[0].setWeight: Invalid value: 120: must be between 0 and 100"),
		Entry("an empty step", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{}}
		}, "spec.strategy.canary.steps[0]: Invalid value: \"\": a step must have exactly one of setWeight, pause, analysis, experiment or, with trafficRouting, setCanaryScale, setHeaderRoute or setMirrorRoute"),
		Entry("a step that needs a traffic router", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{SetCanaryScale: &rolloutsv1alpha1.SetCanaryScale{}}}
		}, "spec.strategy.canary.steps[0].setCanaryScale: Forbidden: needs trafficRouting"),
		Entry("maxSurge and maxUnavailable both zero", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.MaxSurge = new(intstrZero)
			ro.Spec.Strategy.Canary.MaxUnavailable = new(intstrZero)
		}, "spec.strategy.canary.maxUnavailable: Invalid value: \"0\": maxSurge and maxUnavailable cannot both be 0"),
		Entry("a missing canary Service", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.CanaryService = "nope"
		}, `spec.strategy.canary.canaryService: Invalid value: "nope": service "nope" not found`),
		Entry("an unparsable pause", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{Pause: &rolloutsv1alpha1.RolloutPause{Duration: new(intstrOf("soon"))}}}
		}, "spec.strategy.canary.steps[0].pause.duration: Invalid value: \"soon\""),

		// Numbers Argo's CRD leaves unbounded, each of which the planner
		// would otherwise act on.
		Entry("negative replicas, which would scale ReplicaSets below zero", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Replicas = new(int32(-1))
		}, "spec.replicas: Invalid value: -1: must not be negative"),
		Entry("a negative revisionHistoryLimit, which would prune more ReplicaSets than there are", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.RevisionHistoryLimit = new(int32(-1))
		}, "spec.revisionHistoryLimit: Invalid value: -1: must not be negative"),
		Entry("a negative minReadySeconds, which the ReplicaSets it is copied to would be refused for", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.MinReadySeconds = -5
		}, "spec.minReadySeconds: Invalid value: -5: must not be negative"),
		Entry("a negative progressDeadlineSeconds, which would time every rollout out at once", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.ProgressDeadlineSeconds = new(int32(-60))
		}, "spec.progressDeadlineSeconds: Invalid value: -60: must not be negative"),
		Entry("a progressDeadlineSeconds within minReadySeconds, which runs out before a pod can be available", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.MinReadySeconds = 30
			ro.Spec.ProgressDeadlineSeconds = new(int32(30))
		}, "spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds (30)"),
		Entry("a minReadySeconds past the default progress deadline", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.MinReadySeconds = 900
		}, "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds (900)"),
		Entry("a negative setWeight", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{builders.SetWeight(-10)}
		}, "spec.strategy.canary.steps[0].setWeight: Invalid value: -10: must be between 0 and 100"),
		Entry("a negative pause in seconds, which would end before it began", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{Pause: &rolloutsv1alpha1.RolloutPause{Duration: ptrInt(-30)}}}
		}, "spec.strategy.canary.steps[0].pause.duration: Invalid value: -30: must not be negative"),
		Entry("a negative pause as a duration", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{Pause: &rolloutsv1alpha1.RolloutPause{Duration: new(intstrOf("-1m"))}}}
		}, "spec.strategy.canary.steps[0].pause.duration: Invalid value: \"-1m\": must not be negative"),
		Entry("a pause longer than int32 seconds, which Argo's DurationSeconds would wrap around", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{Pause: &rolloutsv1alpha1.RolloutPause{Duration: new(intstrOf("600000h"))}}}
		}, "spec.strategy.canary.steps[0].pause.duration: Invalid value: \"600000h\": must be at most 2147483647 seconds"),
		Entry("a negative scaleDownDelaySeconds", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = new(int32(-30))
		}, "spec.strategy.canary.scaleDownDelaySeconds: Invalid value: -30: must not be negative"),
		Entry("a negative scaleDownDelayRevisionLimit, which would hold every old ReplicaSet", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.ScaleDownDelayRevisionLimit = new(int32(-1))
		}, "spec.strategy.canary.scaleDownDelayRevisionLimit: Invalid value: -1: must not be negative"),
		Entry("a negative abortScaleDownDelaySeconds", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = new(int32(-30))
		}, "spec.strategy.canary.abortScaleDownDelaySeconds: Invalid value: -30: must not be negative"),
		Entry("a negative maxSurge, which would cap the pods below spec.replicas", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.MaxSurge = ptrInt(-1)
		}, `spec.strategy.canary.maxSurge: Invalid value: "-1": must not be negative`),
		Entry("a negative maxUnavailable, which would let nothing scale down", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.MaxUnavailable = new(intstrOf("-10%"))
		}, `spec.strategy.canary.maxUnavailable: Invalid value: "-10%": must not be negative`),
		Entry("a maxSurge whose pods overflow a replica count", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Replicas = new(int32(1_000_000_000))
			ro.Spec.Strategy.Canary.MaxSurge = new(intstrOf("1000%"))
		}, `spec.strategy.canary.maxSurge: Invalid value: "1000%": with 1000000000 replicas, allows more than 2147483647 pods`),
		Entry("a negative minPodsPerReplicaSet", func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.MinPodsPerReplicaSet = new(int32(-2))
		}, "spec.strategy.canary.minPodsPerReplicaSet: Invalid value: -2: must not be negative"),
	)

	It("leaves running ReplicaSets alone", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50)).Obj())
		w.run()
		w.ro.Spec.Selector = nil
		w.setImage("app:v2")
		res := w.step()
		Expect(res.Actions).To(BeEmpty())
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 2}))
	})
})

func eventReasons(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Reason)
	}
	return out
}

// eventNotes lists events as "Reason: message", as kubectl shows them.
func eventNotes(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

var _ = Describe("The progress deadline", func() {
	stuck := func(abort bool) *world {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50), builders.SetWeight(100)).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.ProgressDeadlineSeconds = new(int32(60))
				ro.Spec.ProgressDeadlineAbort = abort
			}).Obj())
		w.run()
		w.setImage("app:v2")
		w.step() // the canary ReplicaSet is created; its pods never become available
		return w
	}

	It("marks a rollout that makes no progress Degraded, and says so once", func() {
		w := stuck(false)
		res := w.step()
		Expect(res.RequeueAfter).To(BeNumerically("~", time.Minute, time.Second), "woken at the deadline")

		w.now = w.now.Add(61 * time.Second)
		res = w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
		Expect(w.ro.Status.Message).To(HavePrefix("ProgressDeadlineExceeded: ReplicaSet"))
		Expect(eventReasons(res.Events)).To(Equal([]string{"ProgressDeadlineExceeded"}))
		Expect(w.ro.Status.Abort).To(BeFalse())

		Expect(w.step().Events).To(BeEmpty(), "no second event")

		By("pods becoming available: the rollout recovers")
		w.settle()
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})

	It("aborts with progressDeadlineAbort", func() {
		w := stuck(true)
		w.now = w.now.Add(61 * time.Second)
		res := w.step()
		Expect(w.ro.Status.Abort).To(BeTrue())
		Expect(eventReasons(res.Events)).To(Equal([]string{"ProgressDeadlineExceeded", "RolloutAborted"}))
		w.settle()
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 2}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
	})

	It("does not time out a rollout whose pods are still coming up", func() {
		w := stuck(false)
		w.now = w.now.Add(61 * time.Second)
		w.rss[len(w.rss)-1].Status.Replicas = 1 // a pod exists now, not yet available
		w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseProgressing))
	})

	It("does not count time spent paused", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50), builders.Pause()).
			Edit(func(ro *rolloutsv1alpha1.Rollout) { ro.Spec.ProgressDeadlineSeconds = new(int32(60)) }).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		w.now = w.now.Add(2 * time.Hour)
		w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
	})
})

var _ = Describe("The rollback window", func() {
	It("goes back to a recent revision without the steps", func() {
		w := newWorld(builders.Rollout("web").Replicas(4).Canary(builders.SetWeight(25), builders.Pause()).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.RollbackWindow = &rolloutsv1alpha1.RollbackWindowSpec{Revisions: 2}
			}).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		w.ro.Status.PauseConditions = nil // promote v2 to the end
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 4}))

		w.setImage("app:v1")
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4}), "no pause at 25%")
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})

	It("walks the steps for a rollback beyond the window", func() {
		w := newWorld(builders.Rollout("web").Replicas(4).Canary(builders.SetWeight(25), builders.Pause()).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		w.ro.Status.PauseConditions = nil
		w.run()
		w.setImage("app:v1")
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
	})
})
