package plan

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

// The traffic simulation drives a routed canary through random promotes,
// aborts, retries, new images, passing time and pods turning available,
// and checks at every tick that the routes send requests only to pods
// that are there: every Service a route gives weight (or a header rule)
// selects a ReplicaSet with available pods that the plan keeps.
var _ = Describe("The canary planner with traffic routing, simulated", func() {
	for seed := uint64(1); seed <= 30; seed++ {
		It(fmt.Sprintf("routes only to pods that are there, with seed %d", seed), func() {
			rng := rand.New(rand.NewPCG(seed, seed*104729))
			replicas := int32(1 + rng.IntN(8))
			steps := []rolloutsv1alpha1.CanaryStep{builders.SetWeight(int32(rng.IntN(50))), builders.Pause()}
			if rng.IntN(2) == 0 {
				steps = append(steps, rolloutsv1alpha1.CanaryStep{SetHeaderRoute: &rolloutsv1alpha1.SetHeaderRoute{
					Name: "beta", Match: []rolloutsv1alpha1.HeaderRoutingMatch{{HeaderName: "x-beta", HeaderValue: &rolloutsv1alpha1.StringMatch{Exact: "1"}}},
				}})
			}
			if rng.IntN(2) == 0 {
				steps = append(steps, rolloutsv1alpha1.CanaryStep{SetCanaryScale: &rolloutsv1alpha1.SetCanaryScale{Replicas: ptr.To(int32(rng.IntN(3)))}})
			}
			steps = append(steps, builders.SetWeight(int32(50+rng.IntN(50))), builders.PauseFor(time.Minute), builders.SetWeight(100))
			ro := builders.Rollout("sim").Replicas(replicas).Services("sim-canary", "sim-stable").Canary(steps...).Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
					Plugins:       map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"sim"}`)},
					ManagedRoutes: []rolloutsv1alpha1.MangedRoutes{{Name: "beta"}},
				}
				ro.Spec.Strategy.Canary.DynamicStableScale = rng.IntN(3) == 0
			}).Obj()
			w := newWorld(ro, "sim-canary", "sim-stable")
			w.routes = []*gatewayv1.HTTPRoute{{
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "sim"},
				Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{
					httpBackend("sim-stable", 100), httpBackend("sim-canary", 0)}}}},
			}}

			steer := steering(rng, 20*time.Second)
			for tick := range 300 {
				steer(w)
				w.step()
				checkRoutedToPods(w, tick)
				makeSomePodsAvailable(w, rng)
			}

			By("settling with nobody steering")
			w.ro.Status.Abort = false
			w.ro.Status.PromoteFull = true
			for range 5 {
				w.run()
				w.now = w.now.Add(time.Minute) // past any scale-down delay
			}
			Expect(w.ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
			Expect(w.counts()).To(HaveLen(1))
		})
	}
})

// checkRoutedToPods checks that every Service the route sends requests to
// selects a ReplicaSet that has available pods and that the plan keeps.
func checkRoutedToPods(w *world, tick int) {
	GinkgoHelper()
	route, err := traffic.FromHTTPRoute(w.routes[0], w.ro.Namespace)
	Expect(err).NotTo(HaveOccurred())
	served := map[string]string{} // Service -> why it gets requests
	for _, rule := range route.Rules {
		for _, b := range rule.Backends {
			switch {
			case traffic.IsManagedRule(rule.Name, []string{"beta"}):
				served[b.Name] = "header rule " + rule.Name
			case b.Weight == nil || *b.Weight > 0:
				served[b.Name] = fmt.Sprintf("weight %d", ptr.Deref(b.Weight, 1))
			}
		}
	}
	for service, why := range served {
		hash, pinned := w.services[service].Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
		if !pinned {
			continue // the Service still selects every pod of the app
		}
		var rs *struct{ spec, available int32 }
		for _, r := range w.rss {
			if r.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == hash {
				rs = &struct{ spec, available int32 }{*r.Spec.Replicas, r.Status.AvailableReplicas}
			}
		}
		Expect(rs).NotTo(BeNil(), "tick %d: %s (%s) selects %s, which does not exist", tick, service, why, hash)
		Expect(rs.available).To(BeNumerically(">", 0), "tick %d: %s (%s) selects %s, which has no available pods", tick, service, why, hash)
		Expect(rs.spec).To(BeNumerically(">", 0), "tick %d: %s (%s) selects %s, which the plan scales to 0", tick, service, why, hash)
	}
}
