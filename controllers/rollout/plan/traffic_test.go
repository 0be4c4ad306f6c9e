package plan

import (
	"encoding/json"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/traffic"
)

func httpBackend(name string, weight int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
		Weight:                 ptr.To(weight),
	}}
}

var _ = Describe("A canary with Gateway API traffic routing", func() {
	routeKey := traffic.RouteKey{Kind: traffic.HTTPRouteKind, Namespace: "default", Name: "web"}
	// routed is a 10-replica Rollout whose traffic goes through one
	// HTTPRoute, with a rule of someone else's beside the weighted one.
	routed := func(max *int32, steps ...rolloutsv1alpha1.CanaryStep) *world {
		ro := builders.Rollout("web").Replicas(10).Services("web-canary", "web-stable").Canary(steps...).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				MaxTrafficWeight: max,
				ManagedRoutes:    []rolloutsv1alpha1.MangedRoutes{{Name: "beta"}},
				Plugins:          map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"web"}`)},
			}
		}).Obj()
		w := newWorld(ro, "web-canary", "web-stable")
		stable := int32(100)
		if max != nil {
			stable = *max
		}
		w.routes = []*gatewayv1.HTTPRoute{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
				{Name: ptr.To[gatewayv1.SectionName]("app"),
					Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/api")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("web-stable", stable), httpBackend("web-canary", 0)}},
				{Name: ptr.To[gatewayv1.SectionName]("docs"), BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("docs", 1)}},
			}},
		}}
		w.run()
		return w
	}
	weights := func(w *world) []int32 {
		route, err := traffic.FromHTTPRoute(w.routes[0], "default")
		Expect(err).NotTo(HaveOccurred())
		c, s, err := route.Weights("web-canary", "web-stable")
		Expect(err).NotTo(HaveOccurred())
		return []int32{c, s}
	}
	labelled := func(w *world) bool {
		_, ok := w.routes[0].Labels[traffic.DefaultInProgressLabelKey]
		return ok
	}

	It("moves traffic only to available canary pods, and counts a step once the route carries its weight", func() {
		w := routed(nil, builders.SetWeight(5), builders.Pause(), builders.SetWeight(50), builders.Pause())
		Expect(w.trafficLog).To(BeEmpty(), "a first revision routes nothing")
		w.setImage("app:v2")

		res := w.step()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 1}), "the stable stays whole; the canary gets its share, rounded up")
		Expect(res.Actions).NotTo(ContainElement(BeAssignableToTypeOf(SetTrafficWeight{})), "no pod available: no traffic")
		Expect(*w.ro.Status.CurrentStepIndex).To(BeZero())

		w.settle()
		w.step()
		Expect(w.trafficLog).To(Equal([]int32{5}))
		Expect(*w.ro.Status.CurrentStepIndex).To(BeZero(), "not reached until the route is read back at 5")
		Expect(w.ro.Status.Canary.Weights.Verified).To(Equal(ptr.To(false)))

		w.step()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)), "at the pause")
		Expect(weights(w)).To(Equal([]int32{5, 95}))
		Expect(labelled(w)).To(BeTrue(), "in progress")
		Expect(w.routes[0].Spec.Rules[1].BackendRefs[0].Weight).To(Equal(ptr.To[int32](1)), "someone else's rule is left alone")
		Expect(w.ro.Status.Canary.Weights).To(Equal(&rolloutsv1alpha1.TrafficWeights{
			Canary:   rolloutsv1alpha1.WeightDestination{Weight: 5, ServiceName: "web-canary", PodTemplateHash: w.ro.Status.CurrentPodHash},
			Stable:   rolloutsv1alpha1.WeightDestination{Weight: 95, ServiceName: "web-stable", PodTemplateHash: w.ro.Status.StableRS},
			Verified: ptr.To(true),
		}))
	})

	It("keeps the previous step's weight until the canary is scaled for the next", func() {
		w := routed(nil, builders.SetWeight(10), builders.Pause(), builders.SetWeight(50), builders.Pause())
		w.setImage("app:v2")
		w.run()
		Expect(w.trafficLog).To(Equal([]int32{10}))
		w.ro.Status.PauseConditions = nil // promote

		w.step()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 5}))
		Expect(w.trafficLog).To(Equal([]int32{10}), "the new pods are not available yet")
		w.settle()
		w.step()
		Expect(w.trafficLog).To(Equal([]int32{10, 50}))
	})

	It("returns all traffic to stable on abort before the canary loses a pod", func() {
		w := routed(nil, builders.SetWeight(50), builders.Pause())
		w.setImage("app:v2")
		w.run()
		Expect(weights(w)).To(Equal([]int32{50, 50}))

		w.ro.Status.Abort = true
		res := w.step()
		Expect(res.Actions).To(ContainElement(SetTrafficWeight{Weight: 0, InProgress: false}))
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 5}), "the canary keeps its pods while the route still sends to it")

		res = w.step()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 5}), "the route at 0: the canary waits abortScaleDownDelaySeconds")
		Expect(res.RequeueAfter).To(Equal(30 * time.Second))
		Expect(labelled(w)).To(BeFalse())

		w.now = w.now.Add(30 * time.Second)
		w.step()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10}), "now the canary goes")

		By("retrying: the canary's wait is forgotten")
		w.ro.Status.Abort = false
		res = w.step()
		Expect(res.Actions).To(ContainElement(BeAssignableToTypeOf(SetScaleDownDeadline{})))
		for _, rs := range w.rss {
			Expect(rs.Annotations).NotTo(HaveKey(rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey), rs.Name)
		}
	})

	It("keeps an aborted canary's pods with abortScaleDownDelaySeconds: 0", func() {
		w := routed(nil, builders.SetWeight(50), builders.Pause())
		w.ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = ptr.To[int32](0)
		w.setImage("app:v2")
		w.run()
		w.ro.Status.Abort = true
		w.run()
		w.now = w.now.Add(time.Hour)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 5}))
		Expect(weights(w)).To(Equal([]int32{0, 100}))
	})

	It("re-points the stable Service at promotion before the canary's weight returns to 0", func() {
		w := routed(nil, builders.SetWeight(50))
		w.setImage("app:v2")
		newHash := ""
		for range 20 {
			res := w.step()
			w.settle()
			newHash = w.ro.Status.CurrentPodHash
			for _, a := range res.Actions {
				if t, ok := a.(SetTrafficWeight); ok && t.Weight == 0 {
					Expect(w.services["web-stable"].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]).To(Equal(newHash),
						"the stable Service selected the new pods before the weight went to 0")
				}
			}
		}
		Expect(w.trafficLog).To(Equal([]int32{50, 100, 0}))
		Expect(w.ro.Status.StableRS).To(Equal(newHash))
		Expect(labelled(w)).To(BeFalse())
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 10}), "the old stable waits scaleDownDelaySeconds")

		w.now = w.now.Add(30 * time.Second)
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 10}))
	})

	It("scales old ReplicaSets down at once with scaleDownDelaySeconds: 0", func() {
		w := routed(nil, builders.SetWeight(50))
		w.ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](0)
		w.setImage("app:v2")
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 10}))
	})

	It("scales the canary and the weights to maxTrafficWeight", func() {
		w := routed(ptr.To[int32](1000), builders.SetWeight(5), builders.Pause())
		w.setImage("app:v2")
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 1}))
		Expect(weights(w)).To(Equal([]int32{5, 995}))
	})

	It("sizes the canary by setCanaryScale, independent of its traffic", func() {
		scale := func(s rolloutsv1alpha1.SetCanaryScale) rolloutsv1alpha1.CanaryStep {
			return rolloutsv1alpha1.CanaryStep{SetCanaryScale: &s}
		}
		w := routed(nil,
			scale(rolloutsv1alpha1.SetCanaryScale{Replicas: ptr.To[int32](3)}), builders.Pause(),
			builders.SetWeight(10), builders.Pause(),
			scale(rolloutsv1alpha1.SetCanaryScale{Weight: ptr.To[int32](60)}), builders.Pause(),
			scale(rolloutsv1alpha1.SetCanaryScale{MatchTrafficWeight: true}), builders.Pause(),
		)
		w.setImage("app:v2")
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 3}), "3 pods, and no traffic yet")
		Expect(weights(w)).To(Equal([]int32{0, 100}))

		w.ro.Status.PauseConditions = nil // promote
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 3}), "10% of the traffic on the same 3 pods")
		Expect(weights(w)).To(Equal([]int32{10, 90}))

		w.ro.Status.PauseConditions = nil
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 6}), "60% of the pods, still 10% of the traffic")
		Expect(weights(w)).To(Equal([]int32{10, 90}))

		w.ro.Status.PauseConditions = nil
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 1}), "back to the traffic's share")
	})

	It("shrinks the stable with its traffic under dynamicStableScale, and grows it back before an abort moves traffic", func() {
		w := routed(nil, builders.SetWeight(30), builders.Pause())
		w.ro.Spec.Strategy.Canary.DynamicStableScale = true
		w.setImage("app:v2")
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 7, "app:v2": 3}))
		Expect(weights(w)).To(Equal([]int32{30, 70}))

		w.ro.Status.Abort = true
		res := w.step()
		Expect(res.Actions).NotTo(ContainElement(BeAssignableToTypeOf(SetTrafficWeight{})), "the stable is not whole yet")
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 10, "app:v2": 3}))
		w.settle()
		w.step()
		Expect(weights(w)).To(Equal([]int32{0, 100}), "whole again: the traffic goes back")
	})

	It("scales the old stable down at once after promotion under dynamicStableScale", func() {
		w := routed(nil, builders.SetWeight(50))
		w.ro.Spec.Strategy.Canary.DynamicStableScale = true
		w.setImage("app:v2")
		w.run()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 10}))
		Expect(weights(w)).To(Equal([]int32{0, 100}))
	})

	It("adds a header rule of its own for setHeaderRoute and takes exactly that rule away", func() {
		header := func(match ...rolloutsv1alpha1.HeaderRoutingMatch) rolloutsv1alpha1.CanaryStep {
			return rolloutsv1alpha1.CanaryStep{SetHeaderRoute: &rolloutsv1alpha1.SetHeaderRoute{Name: "beta", Match: match}}
		}
		w := routed(nil, builders.SetWeight(10), header(rolloutsv1alpha1.HeaderRoutingMatch{
			HeaderName: "X-Beta", HeaderValue: &rolloutsv1alpha1.StringMatch{Exact: "yes"},
		}), builders.Pause(), header(), builders.Pause())
		// Someone else's rule whose name merely starts like ours.
		w.routes[0].Spec.Rules = append(w.routes[0].Spec.Rules, gatewayv1.HTTPRouteRule{
			Name: ptr.To[gatewayv1.SectionName]("beta-users"), BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("web-canary", 1)},
		})
		foreign := *w.routes[0].Spec.Rules[2].DeepCopy()
		w.setImage("app:v2")
		w.run()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(2)), "at the pause after the header route")
		rules := w.routes[0].Spec.Rules
		Expect(rules).To(HaveLen(4))
		Expect(rules[2]).To(Equal(foreign))
		beta := rules[3]
		Expect(*beta.Name).To(Equal(gatewayv1.SectionName("beta")))
		Expect(beta.BackendRefs).To(HaveLen(1))
		Expect(beta.BackendRefs[0].Name).To(Equal(gatewayv1.ObjectName("web-canary")))
		Expect(beta.Matches).To(HaveLen(1))
		Expect(*beta.Matches[0].Path.Value).To(Equal("/api"), "the source rule's path is kept")
		Expect(beta.Matches[0].Headers).To(Equal([]gatewayv1.HTTPHeaderMatch{
			{Type: ptr.To(gatewayv1.HeaderMatchExact), Name: "X-Beta", Value: "yes"},
		}))
		Expect(labelled(w)).To(BeTrue())
		Expect(Plan(w.observe()).Actions).To(BeEmpty(), "a header rule already right is not written again")

		w.ro.Status.PauseConditions = nil // promote past the pause: the next step removes it
		w.run()
		Expect(w.routes[0].Spec.Rules).To(HaveLen(3))
		Expect(w.routes[0].Spec.Rules[2]).To(Equal(foreign), "someone else's rule survives")
	})

	It("removes the header rule on abort before the canary goes", func() {
		w := routed(nil, builders.SetWeight(10), rolloutsv1alpha1.CanaryStep{SetHeaderRoute: &rolloutsv1alpha1.SetHeaderRoute{
			Name: "beta", Match: []rolloutsv1alpha1.HeaderRoutingMatch{{HeaderName: "X-Beta", HeaderValue: &rolloutsv1alpha1.StringMatch{Prefix: "v1."}}},
		}}, builders.Pause())
		w.setImage("app:v2")
		w.run()
		Expect(w.routes[0].Spec.Rules).To(HaveLen(3))
		Expect(w.routes[0].Spec.Rules[2].Matches[0].Headers[0].Value).To(Equal(`v1\..*`), "a prefix, quoted")

		w.ro.Status.Abort = true
		res := w.step()
		Expect(res.Actions).To(ContainElement(SetManagedRoutes{}))
		Expect(w.counts()).To(HaveKeyWithValue("app:v2", int32(1)), "the canary keeps its pods this reconcile")
		Expect(w.routes[0].Spec.Rules).To(HaveLen(2))
		Expect(weights(w)).To(Equal([]int32{0, 100}))
	})

	It("writes the weight again when someone else changed it, and does not count the step meanwhile", func() {
		w := routed(nil, builders.SetWeight(20), builders.Pause())
		w.setImage("app:v2")
		w.run()
		w.routes[0].Spec.Rules[0].BackendRefs[1].Weight = ptr.To[int32](0) // a GitOps tool reverted the canary's weight
		w.routes[0].Spec.Rules[0].BackendRefs[0].Weight = ptr.To[int32](100)
		res := w.step()
		Expect(res.Actions).To(ContainElement(SetTrafficWeight{Weight: 20, InProgress: true}))
		Expect(w.ro.Status.Canary.Weights.Verified).To(Equal(ptr.To(false)))
	})

	It("writes nothing once the rollout is done", func() {
		w := routed(nil, builders.SetWeight(50))
		w.setImage("app:v2")
		w.run()
		res := Plan(w.observe())
		Expect(res.Actions).To(BeEmpty())
	})

	DescribeTable("is InvalidSpec, naming the field, when the routing cannot work",
		func(edit func(*world), message string) {
			w := routed(nil, builders.SetWeight(50))
			edit(w)
			res := Plan(w.observe())
			Expect(res.Actions).To(BeEmpty())
			Expect(res.Status.Message).To(ContainSubstring(message))
		},
		Entry("a route that does not exist", func(w *world) {
			w.routes, w.missingRoutes = nil, []traffic.RouteKey{routeKey}
		}, `spec.strategy.canary.trafficRouting.plugins: Invalid value: HTTPRoute default/web not found`),
		Entry("another router", func(w *world) {
			w.ro.Spec.Strategy.Canary.TrafficRouting.Plugins = map[string]json.RawMessage{"acme/mesh": json.RawMessage(`{}`)}
		}, `spec.strategy.canary.trafficRouting.plugins["acme/mesh"]: Invalid value: Sluice routes traffic with Gateway API only`),
		Entry("a route with no rule sending to both Services", func(w *world) {
			w.routes[0].Spec.Rules = w.routes[0].Spec.Rules[1:]
		}, `spec.strategy.canary.trafficRouting.plugins: Invalid value: HTTPRoute default/web has no rule with both the canary Service "web-canary" and the stable Service "web-stable" as backends`),
		Entry("dynamicStableScale with scaleDownDelaySeconds", func(w *world) {
			w.ro.Spec.Strategy.Canary.DynamicStableScale = true
			w.ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](10)
		}, `spec.strategy.canary.scaleDownDelaySeconds: Invalid value: 10: dynamicStableScale scales the old stable down with its traffic`),
		Entry("setCanaryScale with two settings", func(w *world) {
			w.ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{SetCanaryScale: &rolloutsv1alpha1.SetCanaryScale{
				Replicas: ptr.To[int32](1), MatchTrafficWeight: true}}}
		}, `spec.strategy.canary.steps[0].setCanaryScale: Invalid value: set exactly one of weight, replicas or matchTrafficWeight`),
		Entry("a Service another Rollout steers", func(w *world) {
			w.services["web-stable"].Annotations = map[string]string{rolloutsv1alpha1.ManagedByRolloutsKey: "other"}
		}, `spec.strategy.canary.stableService: Invalid value: "web-stable": service "web-stable" is managed by Rollout "other"`),
		Entry("a setHeaderRoute naming no managed route", func(w *world) {
			w.ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{SetHeaderRoute: &rolloutsv1alpha1.SetHeaderRoute{Name: "alpha"}}}
		}, `spec.strategy.canary.steps[0].setHeaderRoute.name: Invalid value: "alpha": must be one of trafficRouting.managedRoutes`),
		Entry("a header match with no value", func(w *world) {
			w.ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{SetHeaderRoute: &rolloutsv1alpha1.SetHeaderRoute{
				Name: "beta", Match: []rolloutsv1alpha1.HeaderRoutingMatch{{HeaderName: "X-Beta", HeaderValue: &rolloutsv1alpha1.StringMatch{}}}}}}
		}, `spec.strategy.canary.steps[0].setHeaderRoute.match[0]: Invalid value: header "X-Beta": set one of exact, prefix or regex`),
		Entry("a weight over maxTrafficWeight", func(w *world) {
			w.ro.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight = ptr.To[int32](40)
		}, `spec.strategy.canary.steps[0].setWeight: Invalid value: 50: must be between 0 and 40`),
		Entry("a maxTrafficWeight of 0, which every weight is a share of", func(w *world) {
			w.ro.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight = ptr.To[int32](0)
		}, `spec.strategy.canary.trafficRouting.maxTrafficWeight: Invalid value: must be positive`),
		Entry("a negative setCanaryScale weight", func(w *world) {
			w.ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{SetCanaryScale: &rolloutsv1alpha1.SetCanaryScale{Weight: ptr.To[int32](-20)}}}
		}, `spec.strategy.canary.steps[0].setCanaryScale.weight: Invalid value: -20: must be between 0 and 100`),
		Entry("a setCanaryScale weight over maxTrafficWeight", func(w *world) {
			w.ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{SetCanaryScale: &rolloutsv1alpha1.SetCanaryScale{Weight: ptr.To[int32](101)}}}
		}, `spec.strategy.canary.steps[0].setCanaryScale.weight: Invalid value: 101: must be between 0 and 100`),
		Entry("negative setCanaryScale replicas", func(w *world) {
			w.ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{{SetCanaryScale: &rolloutsv1alpha1.SetCanaryScale{Replicas: ptr.To[int32](-1)}}}
		}, `spec.strategy.canary.steps[0].setCanaryScale.replicas: Invalid value: -1: must not be negative`),
	)
})
