package integration

import (
	"context"
	"encoding/json"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/traffic"
)

// The Rollout controller shifting a canary's traffic on a real HTTPRoute,
// against the real Gateway API CRDs.
var _ = Describe("A canary routed through a Gateway API HTTPRoute", Ordered, func() {
	var (
		ns     string
		writes *writeCounter
	)

	BeforeAll(func(ctx context.Context) {
		writes = startRolloutController("")
		ns = newNamespaceWithFakeKubelet("traffic-")
		for _, name := range []string{"web-canary", "web-stable"} {
			Expect(k8sClient.Create(ctx, builders.Service(ns, name, "web"))).To(Succeed())
		}
	})

	backend := func(name string, weight int32) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
			Weight:                 ptr.To(weight),
		}}
	}
	weightsOf := func(g Gomega, ctx context.Context) (map[string]int32, map[string]string) {
		var route gatewayv1.HTTPRoute
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &route)).To(Succeed())
		out := map[string]int32{}
		for _, ref := range route.Spec.Rules[0].BackendRefs {
			out[string(ref.Name)] = *ref.Weight
		}
		return out, route.Labels
	}

	It("moves the route's weights step by step, writing only weights and the label", func(ctx context.Context) {
		docs := gatewayv1.HTTPRouteRule{
			Name:        ptr.To[gatewayv1.SectionName]("docs"),
			Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/docs")}}},
			BackendRefs: []gatewayv1.HTTPBackendRef{backend("docs", 1)},
		}
		route := &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Labels: map[string]string{"team": "shop"}},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gateway"}}},
				Hostnames:       []gatewayv1.Hostname{"shop.example"},
				Rules: []gatewayv1.HTTPRouteRule{
					{Name: ptr.To[gatewayv1.SectionName]("app"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("web-stable", 100), backend("web-canary", 0)}},
					docs,
				},
			},
		}
		Expect(k8sClient.Create(ctx, route)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), route)).To(Succeed())
		docs = route.Spec.Rules[1] // as the API server defaulted it

		ro := builders.Rollout("web").Namespace(ns).Replicas(4).Services("web-canary", "web-stable").Canary(
			builders.SetWeight(25), builders.Pause(),
		).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				Plugins: map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"web"}`)},
			}
			ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](2)
		}).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		waitHealthyAt(ctx, ro, "app:v1")
		writes.waitQuiet(ctx)
		writes.reset()

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		ro.Spec.Template.Spec.Containers[0].Image = "app:v2"
		Expect(k8sClient.Update(ctx, ro)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), ro.Status.Message)
			g.Expect(ro.Status.Canary.Weights).NotTo(BeNil())
			g.Expect(ro.Status.Canary.Weights.Canary.Weight).To(Equal(int32(25)))
			g.Expect(ro.Status.Canary.Weights.Verified).To(Equal(ptr.To(true)))
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) {
			weights, labels := weightsOf(g, ctx)
			g.Expect(weights).To(Equal(map[string]int32{"web-canary": 25, "web-stable": 75}))
			g.Expect(labels).To(Equal(map[string]string{"team": "shop", traffic.DefaultInProgressLabelKey: "in-progress"}))
		}).WithContext(ctx).Should(Succeed())

		By("promoting the way the plugin does")
		patch := client.MergeFrom(ro.DeepCopy())
		ro.Status.PauseConditions = nil
		Expect(k8sClient.Status().Patch(ctx, ro, patch)).To(Succeed())
		waitHealthyAt(ctx, ro, "app:v2")
		Eventually(func(g Gomega) {
			weights, labels := weightsOf(g, ctx)
			g.Expect(weights).To(Equal(map[string]int32{"web-canary": 0, "web-stable": 100}))
			g.Expect(labels).To(Equal(map[string]string{"team": "shop"}), "the in-progress label is gone")
		}).WithContext(ctx).Should(Succeed())
		writes.waitQuiet(ctx)

		var after gatewayv1.HTTPRoute
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(route), &after)).To(Succeed())
		Expect(after.Spec.Hostnames).To(Equal(route.Spec.Hostnames))
		Expect(after.Spec.ParentRefs).To(Equal(route.Spec.ParentRefs))
		Expect(after.Spec.Rules[1]).To(Equal(docs), "a rule not sending to both Services is never touched")
		// 25%, all of it before promotion, back to 0 after.
		Expect(writes.counts).To(HaveKeyWithValue("PATCH httproutes", 3), writes.summary())
		GinkgoWriter.Println("writes of the routed update:", writes.summary())

		By("writing nothing to the route while the finished Rollout is reconciled")
		writes.reset()
		patch = client.MergeFrom(ro.DeepCopy())
		ro.Annotations = map[string]string{"poke": "1"}
		Expect(k8sClient.Patch(ctx, ro, patch)).To(Succeed())
		writes.waitQuiet(ctx)
		Expect(writes.counts).NotTo(HaveKey("PATCH httproutes"), writes.summary())
	})

	It("is InvalidSpec until the route it names is created", func(ctx context.Context) {
		for _, name := range []string{"late-canary", "late-stable"} {
			Expect(k8sClient.Create(ctx, builders.Service(ns, name, "late-route"))).To(Succeed())
		}
		ro := builders.Rollout("late-route").Namespace(ns).Replicas(1).Services("late-canary", "late-stable").Canary(
			builders.SetWeight(50),
		).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				Plugins: map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"late"}`)},
			}
		}).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Message).To(ContainSubstring("HTTPRoute " + ns + "/late not found"))
		}).WithContext(ctx).Should(Succeed())

		Expect(k8sClient.Create(ctx, &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
				{BackendRefs: []gatewayv1.HTTPBackendRef{backend("late-stable", 100), backend("late-canary", 0)}},
			}},
		})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
		}).WithContext(ctx).Should(Succeed())
	})
})
