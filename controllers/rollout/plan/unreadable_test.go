package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("A Rollout with a field that does not decode", func() {
	unreadable := field.Invalid(field.NewPath("spec", "template", "spec", "containers").Index(0).Child("resources", "requests").Key("memory"),
		"invalid", "quantities must match the regular expression")

	It("is InvalidSpec naming the field, and nothing is created", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Obj())
		obs := w.observe()
		obs.Unreadable = unreadable
		res := Plan(obs)
		Expect(res.Actions).To(BeEmpty())
		Expect(res.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
		Expect(res.Status.Message).To(Equal(`InvalidSpec: spec.template.spec.containers[0].resources.requests[memory]: Invalid value: "invalid": quantities must match the regular expression`))
		Expect(eventReasons(res.Events)).To(Equal([]string{"InvalidSpec"}))
	})

	It("leaves a running Rollout's pods alone until the field is fixed", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Obj())
		w.run()
		w.setImage("app:v2") // the part that decoded changed too: still nothing is acted on
		obs := w.observe()
		obs.Unreadable = unreadable
		res := Plan(obs)
		w.apply(res)
		Expect(res.Actions).To(BeEmpty())
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 2}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))

		w.run()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), "fixed")
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 2}))
	})
})
