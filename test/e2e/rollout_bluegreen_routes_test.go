package e2e

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/traffic"
)

// A blue-green Rollout whose Services are the backends of a production
// HTTPRoute, with the real Gateway API CRDs: the switch is the Services'
// selectors, and a header rule lets people reach the preview through the
// production route while it waits.
var _ = Describe("A blue-green Rollout behind a Gateway API route on the simulated cluster", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startManager("--leader-elect=false")
	})

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bg-route-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		for _, name := range []string{"web", "web-preview"} {
			Expect(k8sClient.Create(ctx, builders.Service(ns, name, "web"))).To(Succeed())
		}
	})

	backend := func(name string) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)}}}
	}
	ruleNames := func(ctx context.Context, g Gomega) []string {
		var route gatewayv1.HTTPRoute
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &route)).To(Succeed())
		var names []string
		for _, rule := range route.Spec.Rules {
			names = append(names, string(ptr.Deref(rule.Name, "")))
		}
		return names
	}

	It("adds a header rule to the preview while the rollout waits, and removes it at the switch", func(ctx context.Context) {
		docs := gatewayv1.HTTPRouteRule{Name: ptr.To[gatewayv1.SectionName]("docs"),
			Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/docs")}}},
			BackendRefs: []gatewayv1.HTTPBackendRef{backend("docs")}}
		Expect(k8sClient.Create(ctx, &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
				{Name: ptr.To[gatewayv1.SectionName]("app"), BackendRefs: []gatewayv1.HTTPBackendRef{backend("web")}}, docs}},
		})).To(Succeed())
		var created gatewayv1.HTTPRoute
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &created)).To(Succeed())
		docs = created.Spec.Rules[1] // as stored, with the CRD's defaults
		ro := builders.Rollout("web").Namespace(ns).Replicas(2).Image("registry.example/app:v1").BlueGreen("web", "web-preview").
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Annotations = map[string]string{traffic.PreviewHeaderRouteAnnotation: `{"httpRoute":"web","match":[{"headerName":"X-Preview","headerValue":{"exact":"yes"}}]}`}
				ro.Spec.Strategy.BlueGreen.AutoPromotionEnabled = ptr.To(false)
			}).Obj()
		ro = deployAndUpdate(ctx, ro)

		By("the preview rule is there while the new revision waits behind the preview")
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
		Eventually(func(g Gomega) {
			g.Expect(ruleNames(ctx, g)).To(Equal([]string{"app", "docs", "sluice-preview"}))
			var route gatewayv1.HTTPRoute
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &route)).To(Succeed())
			preview := route.Spec.Rules[2]
			g.Expect(preview.BackendRefs).To(HaveLen(1))
			g.Expect(preview.BackendRefs[0].Name).To(Equal(gatewayv1.ObjectName("web-preview")))
			g.Expect(preview.Matches[0].Headers).To(ConsistOf(HaveField("Name", gatewayv1.HTTPHeaderName("X-Preview"))))
			g.Expect(route.Labels).To(HaveKey(traffic.DefaultInProgressLabelKey))
			g.Expect(route.Spec.Rules[1]).To(Equal(docs), "someone else's rule is untouched")
		}).WithContext(ctx).Should(Succeed())

		By("kubectl argo rollouts promote")
		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			var active corev1.Service
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &active)).To(Succeed())
			g.Expect(active.Spec.Selector).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, ro.Status.CurrentPodHash))
			g.Expect(ruleNames(ctx, g)).To(Equal([]string{"app", "docs"}))
			var route gatewayv1.HTTPRoute
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &route)).To(Succeed())
			g.Expect(route.Labels).NotTo(HaveKey(traffic.DefaultInProgressLabelKey))
		}).WithContext(ctx).Should(Succeed())
	})
})
