package integration

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/builders"
)

// The Rollout controller's API writes are counted at the HTTP transport of
// its own manager, events included, while a fake kubelet in the test makes
// pods available. envtest has no nodes; the fake kubelet's own writes go
// through another client and are not counted.
var _ = Describe("The Rollout controller's API writes", Ordered, func() {
	var (
		writes *writeCounter
		ns     string
	)

	BeforeAll(func() {
		writes = startRolloutController("")
		ns = newNamespaceWithFakeKubelet("writes-")
	})

	// The ReplicaSet created and scaled 3 times, 4 status patches, and the
	// 11 events Argo records: RolloutUpdated, ScalingReplicaSet (4),
	// RolloutStepCompleted (3), RolloutPaused, RolloutResumed,
	// RolloutCompleted.
	It("costs at most 19 writes for a 2-replica canary: setWeight 50, pause 1s, setWeight 100", func(ctx context.Context) {
		ro := builders.Rollout("web").Namespace(ns).Replicas(2).
			Canary(builders.SetWeight(50), builders.PauseFor(time.Second), builders.SetWeight(100)).Obj()
		updateCounted(ctx, writes, ro, "canary")
		Expect(writes.total()).To(BeNumerically("<=", 19), writes.summary())
	})

	// The new ReplicaSet, the preview and active switches, the old
	// ReplicaSet's deadline and scale-down, 4 status patches, and the 5
	// events Argo records: RolloutUpdated, ScalingReplicaSet (2),
	// SwitchService, RolloutCompleted.
	It("costs at most 14 writes for a 2-replica blue-green update: switch, promotion, old pods gone after 1 s", func(ctx context.Context) {
		bgNamespace := newNamespaceWithFakeKubelet("writes-bg-")
		for _, name := range []string{"shop", "shop-preview"} {
			Expect(k8sClient.Create(ctx, builders.Service(bgNamespace, name, "shop"))).To(Succeed())
		}
		ro := builders.Rollout("shop").Namespace(bgNamespace).Replicas(2).BlueGreen("shop", "shop-preview").
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = ptr.To[int32](1)
			}).Obj()
		updateCounted(ctx, writes, ro, "blue-green")
		Expect(writes.total()).To(BeNumerically("<=", 14), writes.summary())
	})

	It("writes nothing while a finished Rollout is reconciled again and again", func(ctx context.Context) {
		var ro rolloutsv1alpha1.Rollout
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &ro)).To(Succeed())
		writes.reset()
		// Each annotation change is a watch event that makes the controller
		// reconcile the Rollout once more, with nothing to do.
		for i := range 5 {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{"test.sluice.dev/poke":"%d"}}}`, i)
			Expect(k8sClient.Patch(ctx, &ro, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())
		}
		writes.waitQuiet(ctx)
		Expect(writes.total()).To(BeZero(), writes.summary())
	})
})

// updateCounted creates a Rollout at app:v1, then counts the writes of
// its update to app:v2, from the new image to Healthy and quiet.
func updateCounted(ctx context.Context, writes *writeCounter, ro *rolloutsv1alpha1.Rollout, what string) {
	GinkgoHelper()
	Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	waitHealthyAt(ctx, ro, "app:v1")
	writes.waitQuiet(ctx)

	writes.reset()
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
	ro.Spec.Template.Spec.Containers[0].Image = "app:v2"
	Expect(k8sClient.Update(ctx, ro)).To(Succeed())
	waitHealthyAt(ctx, ro, "app:v2")
	writes.waitQuiet(ctx)

	AddReportEntry("API writes for the "+what+" update", writes.summary())
	fmt.Fprintf(GinkgoWriter, "writes: %s\n", writes.summary())
}
