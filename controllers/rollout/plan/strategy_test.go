package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("A Rollout switched from one strategy to the other", func() {
	It("goes from blue-green to canary: the steps run from the blue-green stable, and the old active Service is released", func() {
		w := blueGreen(2, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.PreviewService = ""
			bg.ScaleDownDelaySeconds = ptr.To[int32](5)
		})
		delete(w.services, "preview")
		Expect(w.selects("active")).To(Equal("app:v1"))

		w.ro.Spec.Strategy = rolloutsv1alpha1.RolloutStrategy{Canary: &rolloutsv1alpha1.CanaryStrategy{
			Steps: []rolloutsv1alpha1.CanaryStep{builders.SetWeight(50), builders.Pause()},
		}}
		w.setImage("app:v2")
		w.run()

		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 1, "app:v2": 1}))
		Expect(w.ro.Status.StableRS).To(Equal(w.hashOf("app:v1")))
		Expect(w.ro.Status.BlueGreen).To(Equal(rolloutsv1alpha1.BlueGreenStatus{}), "no blue-green selectors left in status")
		active := w.services["active"]
		Expect(active.Spec.Selector).To(Equal(map[string]string{"app": "bg"}), "selects every revision's pods again")
		Expect(active.Annotations).NotTo(HaveKey(rolloutsv1alpha1.ManagedByRolloutsKey))
	})

	It("goes from canary to blue-green: the canary's Services it no longer names are released, the active one pinned", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50)).Services("web-canary", "web").Obj(),
			"web-canary", "web")
		w.run()
		Expect(w.services["web-canary"].Annotations).To(HaveKeyWithValue(rolloutsv1alpha1.ManagedByRolloutsKey, "web"))

		w.ro.Spec.Strategy = rolloutsv1alpha1.RolloutStrategy{BlueGreen: &rolloutsv1alpha1.BlueGreenStrategy{ActiveService: "web"}}
		w.setImage("app:v2")
		w.run()

		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		Expect(w.selects("web")).To(Equal("app:v2"))
		Expect(w.services["web-canary"].Spec.Selector).To(Equal(map[string]string{"app": "web"}))
		Expect(w.ro.Status.Canary).To(Equal(rolloutsv1alpha1.CanaryStatus{}))
		Expect(w.ro.Status.CurrentStepIndex).To(BeNil())
	})

	It("leaves alone a Service another Rollout steers", func() {
		w := newWorld(builders.Rollout("web").Replicas(1).Canary().Obj())
		w.services["other"] = builders.Service("default", "other", "other")
		w.services["other"].Annotations = map[string]string{rolloutsv1alpha1.ManagedByRolloutsKey: "someone-else"}
		res := w.step()
		Expect(res.Actions).NotTo(ContainElement(BeAssignableToTypeOf(ReleaseService{})))
	})
})
