package e2e

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var _ = Describe("A Rollout switched from blue-green to canary on the simulated cluster", Ordered, func() {
	BeforeAll(func() {
		startManager("--leader-elect=false")
	})

	It("runs the canary steps from the blue-green stable revision and gives the old active Service back", func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "switch-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns := namespace.Name
		createServices(ctx, ns, "shop", "shop")
		ro := applyRollout(ctx, ns, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  replicas: 2
  strategy:
    blueGreen:
      activeService: shop
      scaleDownDelaySeconds: 5
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
      - name: app
        image: registry.example/app:v1`)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)

		Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{
  "template":{"metadata":{"annotations":{"foo":"bar"}}},
  "strategy":{"blueGreen":null,"canary":{"steps":[{"setWeight":50},{"pause":{}}]}}}}`)))).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect([]int32{ro.Status.Replicas, ro.Status.UpdatedReplicas, ro.Status.ReadyReplicas, ro.Status.AvailableReplicas}).
				To(Equal([]int32{2, 1, 2, 2}), "current, updated, ready, available")
			g.Expect(ro.Status.BlueGreen.ActiveSelector).To(BeEmpty())
			var svc corev1.Service
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop"}, &svc)).To(Succeed())
			g.Expect(svc.Spec.Selector).To(Equal(map[string]string{"app": "shop"}))
			g.Expect(svc.Annotations).NotTo(HaveKey("argo-rollouts.argoproj.io/managed-by-rollouts"))
		}).WithContext(ctx).Should(Succeed())
	})
})
