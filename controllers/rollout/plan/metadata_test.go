package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("canaryMetadata and stableMetadata", func() {
	roleOf := func(w *world, image string) map[string]string {
		for _, rs := range w.rss {
			if rs.Spec.Template.Spec.Containers[0].Image == image {
				return map[string]string{
					"role":  rs.Spec.Template.Labels["role"],
					"owner": rs.Spec.Template.Annotations["owner"],
				}
			}
		}
		return nil
	}

	It("labels the canary's pods and the stable's, and relabels the canary when it is promoted", func() {
		w := newWorld(builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50), builders.Pause()).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.CanaryMetadata = &rolloutsv1alpha1.PodTemplateMetadata{
					Labels: map[string]string{"role": "canary"}, Annotations: map[string]string{"owner": "canary-team"}}
				ro.Spec.Strategy.Canary.StableMetadata = &rolloutsv1alpha1.PodTemplateMetadata{
					Labels: map[string]string{"role": "stable"}}
			}).Obj())
		w.run()
		Expect(roleOf(w, "app:v1")).To(Equal(map[string]string{"role": "stable", "owner": ""}), "the first revision is stable")

		w.setImage("app:v2")
		w.run()
		Expect(roleOf(w, "app:v2")).To(Equal(map[string]string{"role": "canary", "owner": "canary-team"}))
		Expect(roleOf(w, "app:v1")).To(Equal(map[string]string{"role": "stable", "owner": ""}))

		By("promoting: v2's pods become stable, the canary annotation goes")
		w.ro.Status.PauseConditions = nil
		w.run()
		Expect(roleOf(w, "app:v2")).To(Equal(map[string]string{"role": "stable", "owner": ""}))
		Expect(Plan(w.observe()).Actions).To(BeEmpty(), "settled: nothing more to relabel")

		By("the template comparison ignores the role labels: no new ReplicaSet for the same template")
		Expect(w.rss).To(HaveLen(2))
	})
})
