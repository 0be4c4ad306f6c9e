package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("Old blue-green revisions kept for scaleDownDelaySeconds", func() {
	It("are the newest scaleDownDelayRevisionLimit ones by revision, even when created within one second", func() {
		w := newWorld(builders.Rollout("bg").Replicas(1).BlueGreen("active", "").Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = ptr.To[int32](86400)
			ro.Spec.Strategy.BlueGreen.ScaleDownDelayRevisionLimit = ptr.To[int32](2)
		}).Obj(), "active")
		w.run()
		for _, image := range []string{"app:v2", "app:v3", "app:v4"} {
			w.setImage(image)
			w.run()
		}
		for _, rs := range w.rss {
			rs.CreationTimestamp = w.rss[0].CreationTimestamp // one second for all
		}
		// Listed newest first, as a cache may list them.
		for i, j := 0, len(w.rss)-1; i < j; i, j = i+1, j-1 {
			w.rss[i], w.rss[j] = w.rss[j], w.rss[i]
		}
		w.ro.Spec.Strategy.BlueGreen.ScaleDownDelayRevisionLimit = ptr.To[int32](1)
		w.ro.Generation++
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v4": 1, "app:v3": 1}))
	})
})
