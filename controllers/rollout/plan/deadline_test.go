package plan

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

// podsUp gives every ReplicaSet its pods, of which only ready are ready
// and available (at most what it asks for): pods that exist but whose
// readiness probe has not passed yet.
func (w *world) podsUp(ready int32) {
	for _, rs := range w.rss {
		n := *rs.Spec.Replicas
		rs.Status.Replicas = n
		rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = min(n, ready), min(n, ready)
	}
}

// stepWritingLikeTheController plans once and applies the result, but
// writes the status only when the controller would (StatusNeedsWrite).
func (w *world) stepWritingLikeTheController() Result {
	observed := w.ro.Status.DeepCopy()
	res := w.step()
	if !StatusNeedsWrite(observed, &res.Status) {
		w.ro.Status = *observed
	}
	return res
}

// progressing is the Rollout's Progressing condition.
func (w *world) progressing() rolloutsv1alpha1.RolloutCondition {
	c := findCondition(&w.ro.Status, rolloutsv1alpha1.RolloutProgressing)
	Expect(c).NotTo(BeNil(), "a Progressing condition")
	return *c
}

var _ = Describe("The progress deadline of a rollout that is not healthy yet", func() {
	withDeadline := func(b *builders.RolloutBuilder, abort bool) *rolloutsv1alpha1.Rollout {
		return b.Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
			ro.Spec.ProgressDeadlineAbort = abort
		}).Obj()
	}

	DescribeTable("times out a first deploy whose pods never turn ready, and recovers once they do",
		func(ro *rolloutsv1alpha1.Rollout, services ...string) {
			w := newWorld(ro, services...)
			w.step() // the ReplicaSet is created
			w.podsUp(0)
			w.step()
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseProgressing))

			w.now = w.now.Add(61 * time.Second)
			res := w.step()
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			Expect(w.ro.Status.Message).To(HavePrefix("ProgressDeadlineExceeded: ReplicaSet"))
			Expect(eventReasons(res.Events)).To(ContainElement("ProgressDeadlineExceeded"))
			Expect(w.ro.Status.Abort).To(BeFalse(), "a first deploy has nothing to go back to, even with progressDeadlineAbort")

			w.settle()
			w.run()
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
			Expect(w.progressing().Reason).To(Equal(reasonNewReplicaSetAvailable))
		},
		Entry("a canary", withDeadline(builders.Rollout("web").Replicas(3).Canary(builders.SetWeight(20), builders.Pause()), true)),
		Entry("a blue-green Rollout", withDeadline(builders.Rollout("bg").Replicas(1).BlueGreen("active", ""), true), "active"),
	)

	It("times out an update of a blue-green Rollout, then pauses it once its pods are ready, as Argo does", func() {
		w := newWorld(withDeadline(builders.Rollout("bg").Replicas(1).BlueGreen("active", "").
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.BlueGreen.AutoPromotionEnabled = ptr.To(false)
			}), false), "active")
		w.run()
		w.setImage("app:v2")
		w.step()
		w.podsUp(1) // blue stays ready; green's pod is not
		green := w.rs("bg-" + w.hashOf("app:v2"))
		green.Status.ReadyReplicas, green.Status.AvailableReplicas = 0, 0
		w.step()
		w.now = w.now.Add(61 * time.Second)
		w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))

		w.settle()
		w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(w.progressing().Reason).To(Equal(reasonPaused))
		w.promote()
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(w.selects("active")).To(Equal("app:v2"))
	})

	It("aborts a timed-out update when progressDeadlineAbort is set after the timeout", func() {
		w := newWorld(withDeadline(builders.Rollout("bg").Replicas(1).BlueGreen("active", ""), false), "active")
		w.run()
		w.setImage("app:v2")
		w.step()
		w.now = w.now.Add(61 * time.Second)
		w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
		Expect(w.ro.Status.Abort).To(BeFalse())

		w.ro.Spec.ProgressDeadlineAbort = true
		w.ro.Generation++
		res := w.step()
		Expect(w.ro.Status.Abort).To(BeTrue())
		Expect(eventReasons(res.Events)).To(ContainElement(reasonAborted))
		Expect(w.selects("active")).To(Equal("app:v1"))
	})

	It("records progress at most every quarter of the deadline, so a slow but moving rollout never times out", func() {
		w := newWorld(withDeadline(builders.Rollout("web").Replicas(4).Canary(), false))
		w.step()
		w.podsUp(0)
		for ready := int32(1); ready <= 3; ready++ {
			w.now = w.now.Add(50 * time.Second) // each pod takes 50 s, under the 60 s deadline
			w.podsUp(ready)
			w.step()
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseProgressing), "%d pods ready", ready)
			Expect(w.progressing().LastUpdateTime.Time).To(Equal(w.now), "the progress is recorded")
		}
	})

	It("records progress seen early at the first quarter of the deadline, with no write before", func() {
		w := newWorld(withDeadline(builders.Rollout("web").Replicas(2).Canary(), false))
		w.step()
		start := w.progressing().LastUpdateTime.Time
		w.now = w.now.Add(time.Second)
		w.podsUp(0) // the pods exist: progress
		res := w.stepWritingLikeTheController()
		Expect(w.progressing().LastUpdateTime.Time).To(Equal(start), "not written for a pod alone")
		Expect(w.ro.Status.UpdatedReplicas).To(BeZero(), "counters ride along with the next write")
		Expect(res.RequeueAfter).To(Equal(14 * time.Second))

		w.now = w.now.Add(res.RequeueAfter)
		w.stepWritingLikeTheController()
		Expect(w.progressing().LastUpdateTime.Time).To(Equal(w.now))
		w.now = w.now.Add(61 * time.Second)
		w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), "then stuck")
	})

	It("does not time out a promoted blue-green Rollout whose old pods wait for scaleDownDelaySeconds", func() {
		w := newWorld(withDeadline(builders.Rollout("bg").Replicas(1).BlueGreen("active", "").
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = ptr.To[int32](86400)
			}), false), "active")
		w.run()
		w.setImage("app:v2")
		w.run()
		w.now = w.now.Add(time.Hour)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 1, "app:v2": 1}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(w.progressing().Reason).To(Equal(reasonNewReplicaSetAvailable))
	})

	It("leaves the Progressing condition of a completed Rollout alone when it is paused", func() {
		w := newWorld(withDeadline(builders.Rollout("web").Replicas(3).Canary(builders.SetWeight(20)), false))
		w.run()
		w.ro.Spec.Paused = true
		w.ro.Generation++
		w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(w.progressing().Reason).To(Equal(reasonNewReplicaSetAvailable))
		Expect(w.progressing().Status).To(Equal(corev1.ConditionTrue))
		paused := findCondition(&w.ro.Status, rolloutsv1alpha1.RolloutPaused)
		Expect(paused).NotTo(BeNil())
		Expect(paused.Status).To(Equal(corev1.ConditionTrue))
	})
})
