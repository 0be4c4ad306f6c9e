package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/traffic"
)

// Canaries whose traffic Sluice shifts on Gateway API routes, with the real
// Gateway API CRDs.
var _ = Describe("A canary routed through Gateway API routes on the simulated cluster", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startManager("--leader-elect=false")
	})

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "traffic-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		for _, name := range []string{"web-canary", "web-stable"} {
			Expect(k8sClient.Create(ctx, builders.Service(ns, name, "web"))).To(Succeed())
		}
	})

	backend := func(name string, weight int32) gatewayv1.BackendRef {
		return gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
			Weight:                 ptr.To(weight),
		}
	}
	// foreignRule is someone else's rule on the HTTPRoute: it must survive
	// every rollout untouched.
	foreignRule := gatewayv1.HTTPRouteRule{
		Name:        ptr.To[gatewayv1.SectionName]("docs"),
		Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/docs")}}},
		BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: backend("docs", 1)}},
	}
	createRoutes := func(ctx context.Context) {
		GinkgoHelper()
		httpRoute := &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
				{Name: ptr.To[gatewayv1.SectionName]("app"), BackendRefs: []gatewayv1.HTTPBackendRef{
					{BackendRef: backend("web-stable", 100)}, {BackendRef: backend("web-canary", 0)}}},
				foreignRule,
			}},
		}
		Expect(k8sClient.Create(ctx, httpRoute)).To(Succeed())
		grpcRoute := &gatewayv1.GRPCRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-grpc"},
			Spec: gatewayv1.GRPCRouteSpec{Rules: []gatewayv1.GRPCRouteRule{{BackendRefs: []gatewayv1.GRPCBackendRef{
				{BackendRef: backend("web-stable", 100)}, {BackendRef: backend("web-canary", 0)}}}}},
		}
		Expect(k8sClient.Create(ctx, grpcRoute)).To(Succeed())
	}
	routed := func(steps ...rolloutsv1alpha1.CanaryStep) *rolloutsv1alpha1.Rollout {
		return builders.Rollout("web").Namespace(ns).Replicas(4).Image("registry.example/app:v1").
			Services("web-canary", "web-stable").Canary(steps...).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				Plugins: map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(
					`{"httpRoutes":[{"name":"web","useHeaderRoutes":true}],"grpcRoutes":[{"name":"web-grpc","useHeaderRoutes":true}]}`)},
				ManagedRoutes: []rolloutsv1alpha1.MangedRoutes{{Name: "beta"}},
			}
			ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](1)
			ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = ptr.To[int32](1)
		}).Obj()
	}
	headerStep := rolloutsv1alpha1.CanaryStep{SetHeaderRoute: &rolloutsv1alpha1.SetHeaderRoute{
		Name: "beta", Match: []rolloutsv1alpha1.HeaderRoutingMatch{{HeaderName: "x-beta", HeaderValue: &rolloutsv1alpha1.StringMatch{Exact: "yes"}}},
	}}
	// routesShow reads both routes as "<kind> <canary>/<stable>" and the
	// managed rules they carry, and checks that the foreign rule is as it
	// was.
	routesShow := func(ctx context.Context) func(Gomega) []string {
		return func(g Gomega) []string {
			var hr gatewayv1.HTTPRoute
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &hr)).To(Succeed())
			var gr gatewayv1.GRPCRoute
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-grpc"}, &gr)).To(Succeed())
			g.Expect(hr.Spec.Rules[1].Name).To(Equal(foreignRule.Name))
			g.Expect(hr.Spec.Rules[1].BackendRefs[0].Name).To(Equal(gatewayv1.ObjectName("docs")))
			var out []string
			for _, route := range []traffic.Route{must(traffic.FromHTTPRoute(&hr, ns)), must(traffic.FromGRPCRoute(&gr, ns))} {
				c, s, err := route.Weights("web-canary", "web-stable")
				g.Expect(err).NotTo(HaveOccurred())
				line := fmt.Sprintf("%s %d/%d", route.Key.Kind, c, s)
				for _, rule := range route.Rules {
					if traffic.IsManagedRule(rule.Name, []string{"beta"}) {
						line += " +" + rule.Name
					}
				}
				out = append(out, line)
			}
			return out
		}
	}
	promote := func(ctx context.Context, ro *rolloutsv1alpha1.Rollout) {
		GinkgoHelper()
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
	}
	pausedAt := func(ctx context.Context, ro *rolloutsv1alpha1.Rollout, index int32) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), ro.Status.Message)
			g.Expect(*ro.Status.CurrentStepIndex).To(Equal(index))
		}).WithContext(ctx).Should(Succeed())
	}

	It("shows each step's weights and header rule on an HTTPRoute and a GRPCRoute, leaving others' rules alone", func(ctx context.Context) {
		createRoutes(ctx)
		ro := deployAndUpdate(ctx, routed(
			builders.SetWeight(10), builders.Pause(), headerStep, builders.SetWeight(50), builders.Pause(), builders.SetWeight(100),
		))
		pausedAt(ctx, ro, 1)
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 10/90", "GRPCRoute 10/90"}))

		promote(ctx, ro)
		pausedAt(ctx, ro, 4)
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 50/50 +beta", "GRPCRoute 50/50 +beta"}))

		promote(ctx, ro)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v2": 4}))
		}).WithContext(ctx).Should(Succeed())
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 0/100", "GRPCRoute 0/100"}))
	})

	It("on abort, sends all traffic back to stable and removes the header rule", func(ctx context.Context) {
		createRoutes(ctx)
		ro := deployAndUpdate(ctx, routed(builders.SetWeight(10), headerStep, builders.SetWeight(50), builders.Pause()))
		pausedAt(ctx, ro, 3)
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 50/50 +beta", "GRPCRoute 50/50 +beta"}))

		patchStatus(ctx, ro, `{"status":{"abort":true}}`)
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 0/100", "GRPCRoute 0/100"}))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), ro.Status.Message)
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 4}))
		}).WithContext(ctx).Should(Succeed())
		var hr gatewayv1.HTTPRoute
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &hr)).To(Succeed())
		Expect(hr.Labels).NotTo(HaveKey(traffic.DefaultInProgressLabelKey))
	})

	It("runs an experiment step on a routed canary, its pods behind a Service of their own and off the routes", func(ctx context.Context) {
		createRoutes(ctx)
		ro := routed(builders.SetWeight(20),
			rolloutsv1alpha1.CanaryStep{Experiment: &rolloutsv1alpha1.RolloutExperimentStep{
				Duration: "5s",
				Templates: []rolloutsv1alpha1.RolloutExperimentTemplate{{
					Name: "trial", SpecRef: rolloutsv1alpha1.CanarySpecRef, Service: &rolloutsv1alpha1.TemplateService{},
				}},
				ScaleDownDelaySeconds: ptr.To[int32](0),
			}},
			builders.SetWeight(100))
		ro.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		ro = deployAndUpdate(ctx, ro)

		By("while the Experiment runs, the routes stay at the canary's weight and its Service selects its pods only")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Canary.CurrentExperiment).NotTo(BeEmpty())
			var ex rolloutsv1alpha1.Experiment
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: ro.Status.Canary.CurrentExperiment}, &ex)).To(Succeed())
			g.Expect(ex.Status.TemplateStatuses).To(ContainElement(HaveField("ServiceName", ex.Name+"-trial")))
			var svc corev1.Service
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: ex.Name + "-trial"}, &svc)).To(Succeed())
			g.Expect(svc.Spec.Selector["rollouts-pod-template-hash"]).NotTo(BeElementOf(ro.Status.CurrentPodHash, ro.Status.StableRS))
			g.Expect(routesShow(ctx)(g)).To(Equal([]string{"HTTPRoute 20/80", "GRPCRoute 20/80"}))
		}).WithContext(ctx).Should(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v2": 4}))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 0/100", "GRPCRoute 0/100"}))
		var hr gatewayv1.HTTPRoute
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &hr)).To(Succeed())
		Expect(hr.Spec.Rules[0].BackendRefs).To(HaveLen(2), "no backend was added for the experiment")
	})

	It("sends an experiment template's weight to its Service on both routes during the step, and takes it off after", func(ctx context.Context) {
		createRoutes(ctx)
		// The canary Service's port 80 targets the container port named
		// http; the experiment's Services serve it as 8080.
		var canarySvc corev1.Service
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-canary"}, &canarySvc)).To(Succeed())
		canarySvc.Spec.Ports[0].TargetPort = intstr.FromString("http")
		Expect(k8sClient.Update(ctx, &canarySvc)).To(Succeed())
		ro := routed(builders.SetWeight(20),
			rolloutsv1alpha1.CanaryStep{Experiment: &rolloutsv1alpha1.RolloutExperimentStep{
				Templates: []rolloutsv1alpha1.RolloutExperimentTemplate{
					{Name: "baseline", SpecRef: rolloutsv1alpha1.StableSpecRef, Weight: ptr.To[int32](10)},
					{Name: "canary", SpecRef: rolloutsv1alpha1.CanarySpecRef, Weight: ptr.To[int32](10)},
				},
				ScaleDownDelaySeconds: ptr.To[int32](0),
			}},
			builders.SetWeight(100))
		ro.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		ro = deployAndUpdate(ctx, ro)

		// weightedBackends reads the weighted rule of both routes as
		// "name:port=weight".
		weightedBackends := func(g Gomega) [][]string {
			var hr gatewayv1.HTTPRoute
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &hr)).To(Succeed())
			var gr gatewayv1.GRPCRoute
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-grpc"}, &gr)).To(Succeed())
			show := func(b gatewayv1.BackendRef) string {
				return fmt.Sprintf("%s:%d=%d", b.Name, *b.Port, *b.Weight)
			}
			var h, gp []string
			for _, b := range hr.Spec.Rules[0].BackendRefs {
				h = append(h, show(b.BackendRef))
			}
			for _, b := range gr.Spec.Rules[0].BackendRefs {
				gp = append(gp, show(b.BackendRef))
			}
			return [][]string{h, gp}
		}

		By("while the Experiment runs, each template's Service has its weight, taken from the stable Service's")
		var exName string
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			exName = ro.Status.Canary.CurrentExperiment
			g.Expect(exName).NotTo(BeEmpty())
			want := []string{"web-stable:80=60", "web-canary:80=20", exName + "-baseline:8080=10", exName + "-canary:8080=10"}
			g.Expect(weightedBackends(g)).To(Equal([][]string{want, want}))
			g.Expect(ro.Status.Canary.Weights).NotTo(BeNil())
			g.Expect(ro.Status.Canary.Weights.Stable.Weight).To(Equal(int32(60)))
			g.Expect(ro.Status.Canary.Weights.Additional).To(ConsistOf(
				HaveField("ServiceName", exName+"-baseline"), HaveField("ServiceName", exName+"-canary")))
			g.Expect(*ro.Status.Canary.Weights.Verified).To(BeTrue())
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(routesShow(ctx)(Default)).To(Equal([]string{"HTTPRoute 20/60", "GRPCRoute 20/60"}))

		By("promoted past the step, the Experiment ends and its backends leave the routes")
		patchStatus(ctx, ro, `{"status":{"currentStepIndex":2}}`)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			var ex rolloutsv1alpha1.Experiment
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: exName}, &ex)).To(Succeed())
			g.Expect(ex.Spec.Terminate).To(BeTrue())
			want := []string{"web-stable:80=100", "web-canary:80=0"}
			g.Expect(weightedBackends(g)).To(Equal([][]string{want, want}))
			g.Expect(ro.Status.Canary.Weights.Additional).To(BeEmpty())
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 0/100", "GRPCRoute 0/100"}))
	})

	It("runs the seed's canary with the route's weights at 20, 50 and 100 in turn", func(ctx context.Context) {
		createRoutes(ctx)
		watcher, err := client.NewWithWatch(cluster.Config, client.Options{Scheme: scheme.New()})
		Expect(err).NotTo(HaveOccurred())
		ro := routed(builders.SetWeight(20), builders.PauseFor(time.Second),
			builders.SetWeight(50), builders.PauseFor(2*time.Second), builders.SetWeight(100))
		ro.Name, ro.Spec.Replicas = "my-app", ptr.To[int32](5)
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)

		// Every version of the route from here on, in order.
		var routes gatewayv1.HTTPRouteList
		Expect(k8sClient.List(ctx, &routes, client.InNamespace(ns))).To(Succeed())
		w, err := watcher.Watch(ctx, &gatewayv1.HTTPRouteList{}, client.InNamespace(ns),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: routes.ResourceVersion}})
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		ro.Spec.Template.Spec.Containers[0].Image = "registry.example/app:v2"
		Expect(k8sClient.Update(ctx, ro)).To(Succeed())

		var weights []int32
		deadline := time.After(2 * time.Minute)
		for len(weights) == 0 || weights[len(weights)-1] != 0 {
			select {
			case event := <-w.ResultChan():
				route, ok := event.Object.(*gatewayv1.HTTPRoute)
				if !ok || route.Name != "web" {
					continue
				}
				r, err := traffic.FromHTTPRoute(route, ns)
				Expect(err).NotTo(HaveOccurred())
				c, _, err := r.Weights("web-canary", "web-stable")
				Expect(err).NotTo(HaveOccurred())
				if len(weights) == 0 || weights[len(weights)-1] != c {
					weights = append(weights, c)
				}
			case <-deadline:
				Fail(fmt.Sprintf("the rollout did not finish; weights so far: %v", weights))
			}
		}
		Expect(weights).To(Equal([]int32{20, 50, 100, 0}), "then all of it on stable, which now selects the new pods")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
		}).WithContext(ctx).Should(Succeed())
	})

	It("mirrors matching requests to the canary with setMirrorRoute, and removes the rule when a step says so and at the end", func(ctx context.Context) {
		createRoutes(ctx)
		ro := routed(builders.SetWeight(25),
			rolloutsv1alpha1.CanaryStep{SetMirrorRoute: &rolloutsv1alpha1.SetMirrorRoute{
				Name: "copy", Percentage: ptr.To[int32](40),
				Match: []rolloutsv1alpha1.RouteMatch{{
					Method:  &rolloutsv1alpha1.StringMatch{Exact: "GET"},
					Path:    &rolloutsv1alpha1.StringMatch{Prefix: "/api"},
					Headers: map[string]rolloutsv1alpha1.StringMatch{"x-client": {Regex: "mobile-.*"}},
				}},
			}},
			builders.Pause(),
			rolloutsv1alpha1.CanaryStep{SetMirrorRoute: &rolloutsv1alpha1.SetMirrorRoute{Name: "copy"}},
			builders.Pause(),
		)
		ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes = append(ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes,
			rolloutsv1alpha1.MangedRoutes{Name: "copy"})
		ro = deployAndUpdate(ctx, ro)
		pausedAt(ctx, ro, 2)

		var hr gatewayv1.HTTPRoute
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &hr)).To(Succeed())
		var mirror *gatewayv1.HTTPRouteRule
		for i, rule := range hr.Spec.Rules {
			if rule.Name != nil && *rule.Name == "copy" {
				mirror = &hr.Spec.Rules[i]
			}
		}
		Expect(mirror).NotTo(BeNil(), "the API server accepted the mirror rule: %+v", hr.Spec.Rules)
		Expect(mirror.Filters).To(HaveLen(1))
		Expect(mirror.Filters[0].Type).To(Equal(gatewayv1.HTTPRouteFilterRequestMirror))
		Expect(mirror.Filters[0].RequestMirror.BackendRef.Name).To(Equal(gatewayv1.ObjectName("web-canary")))
		Expect(mirror.Filters[0].RequestMirror.Percent).To(Equal(ptr.To[int32](40)))
		Expect(mirror.Matches).To(HaveLen(1))
		Expect(*mirror.Matches[0].Method).To(Equal(gatewayv1.HTTPMethodGet))
		Expect(*mirror.Matches[0].Path.Type).To(Equal(gatewayv1.PathMatchPathPrefix))
		Expect(*mirror.Matches[0].Path.Value).To(Equal("/api"))
		Expect(mirror.Matches[0].Headers).To(Equal([]gatewayv1.HTTPHeaderMatch{
			{Type: ptr.To(gatewayv1.HeaderMatchRegularExpression), Name: "x-client", Value: "mobile-.*"}}))
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 25/75", "GRPCRoute 25/75"}),
			"the mirror rule carries the weights of the rule it was built from")
		generation := hr.Generation
		Consistently(func(g Gomega) int64 {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &hr)).To(Succeed())
			return hr.Generation
		}).WithContext(ctx).WithTimeout(3*time.Second).Should(Equal(generation), "a rule already right is not written again")

		promote(ctx, ro)
		pausedAt(ctx, ro, 4)
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &hr)).To(Succeed())
		Expect(hr.Spec.Rules).To(HaveLen(2), "setMirrorRoute without match removed the rule")

		promote(ctx, ro)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 0/100", "GRPCRoute 0/100"}))
	})

	It("goes on at replicaProgressThreshold while some canary pods cannot be scheduled", func(ctx context.Context) {
		createRoutes(ctx)
		ro := routed(builders.SetWeight(100), builders.Pause())
		ro.Spec.Strategy.Canary.ReplicaProgressThreshold = &rolloutsv1alpha1.ReplicaProgressThreshold{
			Type: rolloutsv1alpha1.ProgressTypePods, Value: 3}
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)

		By("a new revision whose pods keep off each other's nodes: 3 of its 4 fit the 3 nodes")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		template := &ro.Spec.Template
		template.Spec.Containers[0].Image = "registry.example/app:v2"
		template.Labels["spread"] = "v2"
		template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"spread": "v2"}},
				TopologyKey:   "kubernetes.io/hostname",
			}},
		}}
		Expect(k8sClient.Update(ctx, ro)).To(Succeed())

		pausedAt(ctx, ro, 1)
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 100/0", "GRPCRoute 100/0"}))
		Eventually(func(g Gomega) map[string]int {
			return podsByImage(ctx, g, ns)
		}).WithContext(ctx).Should(Equal(map[string]int{"registry.example/app:v1": 4, "registry.example/app:v2": 3}))

		promote(ctx, ro)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash), ro.Status.Message)
		}).WithContext(ctx).Should(Succeed())
		Eventually(routesShow(ctx)).WithContext(ctx).Should(Equal([]string{"HTTPRoute 0/100", "GRPCRoute 0/100"}))
	})
})

func must[T any](v T, err error) T {
	GinkgoHelper()
	Expect(err).NotTo(HaveOccurred())
	return v
}
