package plan

import (
	argohash "github.com/argoproj/argo-rollouts/utils/hash"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

// A cluster moving from Argo Rollouts to Sluice keeps its ReplicaSets only if
// both name a template's ReplicaSet alike; Argo's own function is the oracle.
var _ = Describe("PodTemplateHash", func() {
	DescribeTable("is the hash Argo Rollouts computes",
		func(template corev1.PodTemplateSpec, collisionCount *int32) {
			Expect(PodTemplateHash(&template, collisionCount)).To(Equal(argohash.ComputePodTemplateHash(&template, collisionCount)))
		},
		Entry("a minimal template", builders.Rollout("web").Obj().Spec.Template, nil),
		Entry("with a collision count", builders.Rollout("web").Obj().Spec.Template, ptr.To[int32](3)),
		Entry("with probes, env and annotations", func() corev1.PodTemplateSpec {
			t := builders.Rollout("api").Image("registry.example/api:1.2.3").Obj().Spec.Template
			t.Annotations = map[string]string{"prometheus.io/scrape": "true"}
			t.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "canary"}}
			t.Spec.Containers[0].ReadinessProbe = &corev1.Probe{InitialDelaySeconds: 5}
			return t
		}(), nil),
	)
})
