package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("A Rollout with a workloadRef", func() {
	deployment := func() *appsv1.Deployment {
		labels := map[string]string{"app": "legacy"}
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "default", Generation: 4},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "legacy:v1"}}},
				},
			},
		}
	}
	referencing := func(scaleDown string) *world {
		ro := builders.Rollout("legacy").Replicas(3).Canary(builders.SetWeight(50), builders.Pause()).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Template = corev1.PodTemplateSpec{}
				ro.Spec.Selector = nil
				ro.Spec.WorkloadRef = &rolloutsv1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "legacy", ScaleDown: scaleDown}
			}).Obj()
		w := newWorld(ro)
		w.workload = deployment()
		return w
	}

	It("runs the Deployment's pod template and records the Deployment's generation", func() {
		w := referencing("")
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"legacy:v1": 3}))
		Expect(w.ro.Status.WorkloadObservedGeneration).To(Equal("4"))
		Expect(*w.workload.Spec.Replicas).To(Equal(int32(3)), "scaleDown never leaves the Deployment alone")

		By("a new image in the Deployment starts the canary")
		w.workload.Spec.Template.Spec.Containers[0].Image = "legacy:v2"
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"legacy:v1": 2, "legacy:v2": 2}))
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
	})

	It("empties the Deployment once the Rollout is healthy, with scaleDown onsuccess", func() {
		w := referencing(rolloutsv1alpha1.ScaleDownOnSuccess)
		res := w.step()
		Expect(res.Actions).NotTo(ContainElement(BeAssignableToTypeOf(ScaleDeployment{})), "not before the Rollout's pods are up")
		w.settle()
		w.run()
		Expect(*w.workload.Spec.Replicas).To(BeZero())
	})

	It("shrinks the Deployment as the Rollout's pods become available, with scaleDown progressively", func() {
		w := referencing(rolloutsv1alpha1.ScaleDownProgressively)
		w.step()
		Expect(*w.workload.Spec.Replicas).To(Equal(int32(3)), "no Rollout pod is available yet")
		w.rss[0].Status.Replicas, w.rss[0].Status.AvailableReplicas = 3, 1
		w.step()
		Expect(*w.workload.Spec.Replicas).To(Equal(int32(2)))
		w.settle()
		w.run()
		Expect(*w.workload.Spec.Replicas).To(BeZero())
	})

	DescribeTable("is InvalidSpec when the reference cannot work",
		func(edit func(w *world), message string) {
			w := referencing("")
			edit(w)
			res := w.step()
			Expect(res.Actions).To(BeEmpty())
			Expect(res.Status.Message).To(ContainSubstring(message))
		},
		Entry("a missing Deployment", func(w *world) { w.workload = nil },
			`spec.workloadRef.name: Invalid value: "legacy": deployment "legacy" not found`),
		Entry("a template as well, in Argo's words", func(w *world) { w.ro.Spec.Template = builders.Rollout("x").Obj().Spec.Template },
			"spec.template: Forbidden: template must be empty for workload reference rollout"),
		Entry("another kind", func(w *world) { w.ro.Spec.WorkloadRef.Kind = "StatefulSet" },
			`spec.workloadRef.kind: Unsupported value: "apps/v1 StatefulSet"`),
		Entry("an unknown scaleDown", func(w *world) { w.ro.Spec.WorkloadRef.ScaleDown = "sometimes" },
			`spec.workloadRef.scaleDown: Unsupported value: "sometimes"`),
	)

	It("gives a new Rollout refused for a template beside workloadRef only the InvalidSpec condition, as Argo does", func() {
		w := referencing("")
		w.ro.Spec.Template = builders.Rollout("x").Obj().Spec.Template
		w.step()
		Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
		Expect(w.ro.Status.Conditions).To(HaveLen(1))
		Expect(w.ro.Status.Conditions[0].Type).To(Equal(rolloutsv1alpha1.InvalidSpec))
		Expect(w.ro.Status.Conditions[0].Message).To(ContainSubstring("template must be empty for workload reference rollout"))
	})
})
