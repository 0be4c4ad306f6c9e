package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("Edge cases of the canary planner", func() {
	It("never promotes an aborted revision of a Rollout with no steps", func() {
		w := newWorld(builders.Rollout("web").Replicas(4).Surge(1, 0).Canary().Obj())
		w.run()
		w.setImage("app:v2")
		w.step() // the v2 ReplicaSet gets its first pod
		w.settle()
		w.ro.Status.Abort = true
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 4}))
		Expect(w.ro.Status.StableRS).NotTo(Equal(w.ro.Status.CurrentPodHash))
		Expect(eventNotes(w.events)).NotTo(ContainElement(HavePrefix("RolloutCompleted: Rollout completed update to revision 2")))
		Expect(eventNotes(w.events)).To(ContainElement(HavePrefix("RolloutCompleted: Rollout completed update to revision 1")), "the first deploy")
	})

	It("lets a full promote override an abort, ending Healthy", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50), builders.Pause()).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		w.ro.Status.Abort = true
		w.run()
		w.ro.Status.PromoteFull = true
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 2}))
		Expect(w.ro.Status.Abort).To(BeFalse())
		Expect(w.ro.Status.AbortedAt).To(BeNil())
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
	})

	It("walks the steps again for a redeploy after a fast rollback", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50), builders.Pause()).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.RollbackWindow = &rolloutsv1alpha1.RollbackWindowSpec{Revisions: 3}
			}).Obj())
		w.run()
		w.setImage("app:v2")
		w.run()
		w.ro.Status.PauseConditions = nil
		w.run() // v2 is stable
		w.setImage("app:v1")
		w.run() // back to v1 within the window: no pause
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))

		w.setImage("app:v2") // v2 again: its ReplicaSet is newer than the stable v1, so not a rollback
		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
	})

	It("does not count the surplus available pods of a shrinking ReplicaSet", func() {
		// 10 replicas, maxUnavailable 1: an old ReplicaSet asked for 4 but
		// still reports 5 available (its status lags our scale-down).
		w := newWorld(builders.Rollout("web").Replicas(10).Surge(1, 1).Canary().Obj())
		w.run()
		stable := w.rss[0]
		stable.Spec.Replicas, stable.Status.Replicas, stable.Status.AvailableReplicas = ptr.To[int32](6), 6, 6
		old := stable.DeepCopy()
		old.Name, old.Labels = "web-old", map[string]string{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: "old"}
		old.Spec.Template.Spec.Containers[0].Image = "app:v0"
		old.CreationTimestamp = metav1.Time{Time: stable.CreationTimestamp.Add(-1)}
		old.Spec.Replicas, old.Status.Replicas, old.Status.AvailableReplicas = ptr.To[int32](4), 5, 5
		w.rss = append([]*appsv1.ReplicaSet{old}, w.rss...)

		res := Plan(w.observe())
		for _, a := range res.Actions {
			if s, ok := a.(ScaleReplicaSet); ok && s.Name == "web-old" {
				Expect(s.To).To(BeNumerically(">=", 3), "6 + 3 available keeps the floor of 9")
			}
		}
	})

	It("freezes the pods while a person has paused the Rollout", func() {
		w := newWorld(builders.Rollout("web").Replicas(10).Surge(1, 0).Canary(builders.SetWeight(50), builders.Pause()).Obj())
		w.run()
		w.setImage("app:v2")
		w.step()
		w.settle()
		before := w.counts()
		w.ro.Spec.Paused = true
		w.run()
		Expect(w.counts()).To(Equal(before))
	})

	It("moves the canary Service to the stable pods before an abort scales the canary down", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Services("web-canary", "web-stable").
			Canary(builders.SetWeight(50), builders.Pause()).Obj(), "web-canary", "web-stable")
		w.run()
		w.setImage("app:v2")
		w.run()
		v1, v2 := w.ro.Status.StableRS, w.ro.Status.CurrentPodHash
		Expect(w.services["web-canary"].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(v2))

		w.ro.Status.Abort = true
		res := w.step()
		Expect(res.Actions[0]).To(Equal(SetServiceSelector{Service: "web-canary", Hash: v1}), "first, before any scaling: %v", res.Actions)
	})

	It("takes over a Service it does not manage yet only with a fully available ReplicaSet", func() {
		w := newWorld(builders.Rollout("web").Replicas(3).Services("", "web").Canary().Obj(), "web")
		w.step()
		w.rss[0].Status.Replicas, w.rss[0].Status.AvailableReplicas = 3, 1
		res := Plan(w.observe())
		Expect(res.Actions).NotTo(ContainElement(BeAssignableToTypeOf(SetServiceSelector{})))
		w.settle()
		res = Plan(w.observe())
		Expect(res.Actions).To(ContainElement(BeAssignableToTypeOf(SetServiceSelector{})))
	})

	DescribeTable("keeps a patched step index within the steps",
		func(index int32) {
			w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50), builders.Pause()).Obj())
			w.run()
			w.setImage("app:v2")
			w.step()
			w.ro.Status.CurrentStepIndex = ptr.To(index)
			Expect(func() { w.step() }).NotTo(Panic())
			Expect(*w.ro.Status.CurrentStepIndex).To(BeNumerically(">=", 0))
			Expect(*w.ro.Status.CurrentStepIndex).To(BeNumerically("<=", 2))
		},
		Entry("negative", int32(-1)),
		Entry("past the end", int32(99)),
	)
})

var _ = Describe("Orphaned ReplicaSets", func() {
	It("are adopted before anything else is planned, leaving the status as it is", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary().Obj())
		w.run()
		obs := w.observe()
		obs.Orphans, obs.ReplicaSets = obs.ReplicaSets, nil
		res := Plan(obs)
		Expect(res.Actions).To(Equal([]Action{AdoptReplicaSet{Name: w.rss[0].Name}}))
		Expect(res.Status).To(Equal(w.ro.Status))
		Expect(StatusNeedsWrite(&w.ro.Status, &res.Status)).To(BeFalse())
	})
})
