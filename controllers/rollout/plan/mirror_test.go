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

var _ = Describe("A canary with setMirrorRoute steps on an HTTPRoute", func() {
	// mirrored is a 10-replica Rollout routed through one HTTPRoute, with
	// someone else's rule beside the weighted one.
	mirrored := func(config string, steps ...rolloutsv1alpha1.CanaryStep) *world {
		ro := builders.Rollout("web").Replicas(10).Services("web-canary", "web-stable").Canary(steps...).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				ManagedRoutes: []rolloutsv1alpha1.MangedRoutes{{Name: "beta"}, {Name: "copy"}},
				Plugins:       map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(config)},
			}
		}).Obj()
		w := newWorld(ro, "web-canary", "web-stable")
		w.routes = []*gatewayv1.HTTPRoute{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
				{Name: ptr.To[gatewayv1.SectionName]("app"),
					Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/api")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("web-stable", 100), httpBackend("web-canary", 0)}},
				{Name: ptr.To[gatewayv1.SectionName]("docs"), BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("docs", 1)}},
			}},
		}}
		w.run()
		return w
	}
	const httpRoute = `{"httpRoute":"web"}`
	copyGets := rolloutsv1alpha1.CanaryStep{SetMirrorRoute: &rolloutsv1alpha1.SetMirrorRoute{
		Name: "copy", Percentage: ptr.To[int32](50),
		Match: []rolloutsv1alpha1.RouteMatch{{Method: &rolloutsv1alpha1.StringMatch{Exact: "GET"}}},
	}}
	stopCopying := rolloutsv1alpha1.CanaryStep{SetMirrorRoute: &rolloutsv1alpha1.SetMirrorRoute{Name: "copy"}}
	rule := func(w *world, name string) *gatewayv1.HTTPRouteRule {
		for i, r := range w.routes[0].Spec.Rules {
			if r.Name != nil && string(*r.Name) == name {
				return &w.routes[0].Spec.Rules[i]
			}
		}
		return nil
	}
	mirrorsTo := func(r *gatewayv1.HTTPRouteRule) (string, *int32) {
		for _, f := range r.Filters {
			if f.RequestMirror != nil {
				return string(f.RequestMirror.BackendRef.Name), f.RequestMirror.Percent
			}
		}
		return "", nil
	}
	weightsOf := func(r *gatewayv1.HTTPRouteRule) map[string]int32 {
		out := map[string]int32{}
		for _, b := range r.BackendRefs {
			out[string(b.Name)] = *b.Weight
		}
		return out
	}

	It("adds the mirror rule once the canary has pods, keeps its weights with the source's, and a step without match removes it", func() {
		w := mirrored(httpRoute, builders.SetWeight(10), copyGets, builders.Pause(), builders.SetWeight(30), builders.Pause(), stopCopying, builders.Pause())
		w.setImage("app:v2")
		res := w.step()
		Expect(res.Actions).NotTo(ContainElement(BeAssignableToTypeOf(SetManagedRoutes{})), "no canary pod to copy requests to")

		w.settle()
		w.run()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(2)), "at the pause after the mirror step")
		copyRule := rule(w, "copy")
		Expect(copyRule).NotTo(BeNil())
		target, percent := mirrorsTo(copyRule)
		Expect(target).To(Equal("web-canary"))
		Expect(percent).To(Equal(ptr.To[int32](50)))
		Expect(weightsOf(copyRule)).To(Equal(map[string]int32{"web-stable": 90, "web-canary": 10}), "matching requests are served as before")
		Expect(copyRule.Matches).To(HaveLen(1))
		Expect(*copyRule.Matches[0].Path.Value).To(Equal("/api"), "within the requests the source rule serves")
		Expect(*copyRule.Matches[0].Method).To(Equal(gatewayv1.HTTPMethodGet))
		Expect(w.routes[0].Labels).To(HaveKey(traffic.DefaultInProgressLabelKey))
		Expect(Plan(w.observe()).Actions).To(BeEmpty(), "a mirror rule already right is not written again")

		w.ro.Status.PauseConditions = nil
		w.run()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(4)))
		Expect(weightsOf(rule(w, "copy"))).To(Equal(map[string]int32{"web-stable": 70, "web-canary": 30}), "the new weight reaches the mirror rule")
		Expect(w.ro.Status.Canary.Weights.Verified).To(Equal(ptr.To(true)))

		w.ro.Status.PauseConditions = nil
		w.run()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(6)), "at the last pause")
		Expect(rule(w, "copy")).To(BeNil(), "setMirrorRoute without match removes the rule")
		Expect(rule(w, "docs")).NotTo(BeNil())
	})

	It("removes the mirror rule when the rollout completes", func() {
		w := mirrored(httpRoute, builders.SetWeight(20), copyGets, builders.Pause())
		w.setImage("app:v2")
		w.run()
		Expect(rule(w, "copy")).NotTo(BeNil())
		w.ro.Status.PauseConditions = nil
		w.run()
		Expect(w.ro.Status.StableRS).To(Equal(w.ro.Status.CurrentPodHash))
		Expect(rule(w, "copy")).To(BeNil())
		Expect(w.routes[0].Spec.Rules).To(HaveLen(2))
		Expect(w.routes[0].Labels).NotTo(HaveKey(traffic.DefaultInProgressLabelKey))
	})

	It("removes the mirror rule on abort before the canary loses a pod", func() {
		w := mirrored(httpRoute, builders.SetWeight(20), copyGets, builders.Pause())
		w.ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = ptr.To[int32](0)
		w.setImage("app:v2")
		w.run()
		w.ro.Status.Abort = true
		res := w.step()
		Expect(res.Actions).To(ContainElement(SetManagedRoutes{}))
		Expect(w.counts()).To(HaveKeyWithValue("app:v2", int32(2)), "the canary keeps its pods this reconcile")
		Expect(rule(w, "copy")).To(BeNil())
	})

	It("writes header and mirror rules side by side", func() {
		beta := rolloutsv1alpha1.CanaryStep{SetHeaderRoute: &rolloutsv1alpha1.SetHeaderRoute{
			Name: "beta", Match: []rolloutsv1alpha1.HeaderRoutingMatch{{HeaderName: "X-Beta", HeaderValue: &rolloutsv1alpha1.StringMatch{Exact: "yes"}}},
		}}
		w := mirrored(httpRoute, builders.SetWeight(10), beta, copyGets, builders.Pause())
		w.setImage("app:v2")
		w.run()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(3)))
		Expect(rule(w, "beta")).NotTo(BeNil())
		Expect(rule(w, "copy")).NotTo(BeNil())
		Expect(rule(w, "beta-1")).To(BeNil(), "the mirror rule is no source of header rules")
		Expect(Plan(w.observe()).Actions).To(BeEmpty())
	})

	DescribeTable("is InvalidSpec, naming the field",
		func(config string, step rolloutsv1alpha1.CanaryStep, message string) {
			ro := builders.Rollout("web").Replicas(2).Services("web-canary", "web-stable").Canary(step).Obj()
			if config != "" {
				ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
					ManagedRoutes: []rolloutsv1alpha1.MangedRoutes{{Name: "copy"}},
					Plugins:       map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(config)},
				}
			}
			w := newWorld(ro, "web-canary", "web-stable")
			res := Plan(Observation{Rollout: ro, Services: w.services, Now: time.Now()})
			Expect(res.Actions).To(BeEmpty())
			Expect(res.Status.Message).To(ContainSubstring(message))
		},
		Entry("without traffic routing", "", copyGets,
			"spec.strategy.canary.steps[0].setMirrorRoute: Forbidden: needs trafficRouting"),
		Entry("a name not in managedRoutes", httpRoute, rolloutsv1alpha1.CanaryStep{SetMirrorRoute: &rolloutsv1alpha1.SetMirrorRoute{Name: "other"}},
			`spec.strategy.canary.steps[0].setMirrorRoute.name: Invalid value: "other": must be one of trafficRouting.managedRoutes`),
		Entry("no HTTPRoute that takes managed routes", `{"httpRoutes":[{"name":"web"}],"grpcRoute":"web-grpc"}`, copyGets,
			"spec.strategy.canary.steps[0].setMirrorRoute: Invalid value: no HTTPRoute takes managed routes"),
		Entry("a percentage over 100", httpRoute, rolloutsv1alpha1.CanaryStep{SetMirrorRoute: &rolloutsv1alpha1.SetMirrorRoute{Name: "copy", Percentage: ptr.To[int32](150)}},
			"spec.strategy.canary.steps[0].setMirrorRoute.percentage: Invalid value: 150: must be between 0 and 100"),
		Entry("a method regex", httpRoute, rolloutsv1alpha1.CanaryStep{SetMirrorRoute: &rolloutsv1alpha1.SetMirrorRoute{Name: "copy",
			Match: []rolloutsv1alpha1.RouteMatch{{Method: &rolloutsv1alpha1.StringMatch{Regex: "GET|HEAD"}}}}},
			"spec.strategy.canary.steps[0].setMirrorRoute.match[0]: Invalid value: a method is matched exactly in Gateway API: use exact"),
		Entry("a path that is not absolute", httpRoute, rolloutsv1alpha1.CanaryStep{SetMirrorRoute: &rolloutsv1alpha1.SetMirrorRoute{Name: "copy",
			Match: []rolloutsv1alpha1.RouteMatch{{Path: &rolloutsv1alpha1.StringMatch{Exact: "api"}}}}},
			`spec.strategy.canary.steps[0].setMirrorRoute.match[0]: Invalid value: path "api": must begin with "/"`),
	)
})
