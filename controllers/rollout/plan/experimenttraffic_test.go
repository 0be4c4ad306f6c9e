package plan

import (
	"encoding/json"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/traffic"
)

var _ = Describe("An experiment step with template weights on a Gateway API route", func() {
	// 10 replicas routed through one HTTPRoute: setWeight 0 is not
	// needed, the canary has 0 at the experiment step; baseline and canary
	// templates take 10 each.
	routed := func(steps ...rolloutsv1alpha1.CanaryStep) *world {
		ro := builders.Rollout("web").Replicas(10).Services("web-canary", "web-stable").Canary(steps...).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				Plugins: map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"web"}`)},
			}
			ro.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		}).Obj()
		w := newWorld(ro, "web-canary", "web-stable")
		w.services["web-canary"].Spec.Ports = []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}
		w.routes = []*gatewayv1.HTTPRoute{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
				{BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("web-stable", 100), httpBackend("web-canary", 0)}},
			}},
		}}
		w.run()
		w.setImage("app:v2")
		w.run()
		return w
	}
	step := func() rolloutsv1alpha1.CanaryStep {
		return rolloutsv1alpha1.CanaryStep{Experiment: &rolloutsv1alpha1.RolloutExperimentStep{
			Templates: []rolloutsv1alpha1.RolloutExperimentTemplate{
				{Name: "baseline", SpecRef: rolloutsv1alpha1.StableSpecRef, Weight: ptr.To[int32](10)},
				{Name: "canary", SpecRef: rolloutsv1alpha1.CanarySpecRef, Weight: ptr.To[int32](10)},
			},
		}}
	}
	// running makes the Experiment Running with its templates' Services
	// named and their pods available, as the Experiment controller does.
	running := func(w *world) *rolloutsv1alpha1.Experiment {
		Expect(w.experiments).To(HaveLen(1))
		ex := w.experiments[0]
		ex.Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
		ex.Status.TemplateStatuses = []rolloutsv1alpha1.TemplateStatus{
			{Name: "baseline", ServiceName: ex.Name + "-baseline", PodTemplateHash: "b", AvailableReplicas: 1},
			{Name: "canary", ServiceName: ex.Name + "-canary", PodTemplateHash: "c", AvailableReplicas: 1},
		}
		w.run()
		return ex
	}
	// backends are the weighted rule's backends, by name, with weights.
	backends := func(w *world) map[string]int32 {
		out := map[string]int32{}
		for _, b := range w.routes[0].Spec.Rules[0].BackendRefs {
			out[string(b.Name)] = *b.Weight
		}
		return out
	}

	It("gives each weighted template a Service, and its weight once the Experiment runs, from the stable Service's share", func() {
		w := routed(builders.SetWeight(0), step(), builders.SetWeight(50), builders.Pause())
		Expect(w.experiments).To(HaveLen(1))
		for _, t := range w.experiments[0].Spec.Templates {
			Expect(t.Service).To(Equal(&rolloutsv1alpha1.TemplateService{}), "a weight implies a Service, as in Argo")
		}
		Expect(backends(w)).To(Equal(map[string]int32{"web-stable": 100, "web-canary": 0}), "nothing until the Experiment runs")

		ex := running(w)
		Expect(backends(w)).To(Equal(map[string]int32{"web-stable": 80, "web-canary": 0,
			ex.Name + "-baseline": 10, ex.Name + "-canary": 10}))
		for _, b := range w.routes[0].Spec.Rules[0].BackendRefs[2:] {
			Expect(*b.Port).To(Equal(gatewayv1.PortNumber(8080)), "the experiment Service's port for the container port the canary's 80 targets")
		}
		weights := w.ro.Status.Canary.Weights
		Expect(weights.Stable.Weight).To(Equal(int32(80)))
		Expect(weights.Additional).To(Equal([]rolloutsv1alpha1.WeightDestination{
			{Weight: 10, ServiceName: ex.Name + "-baseline", PodTemplateHash: "b"},
			{Weight: 10, ServiceName: ex.Name + "-canary", PodTemplateHash: "c"},
		}))
		Expect(*weights.Verified).To(BeTrue())
		Expect(w.routes[0].Labels).To(HaveKey(traffic.DefaultInProgressLabelKey))

		Expect(w.step().Actions).NotTo(ContainElement(BeAssignableToTypeOf(SetTrafficWeight{})), "a route as asked is not written again")
	})

	It("keeps the canary's weight beside the experiment's", func() {
		w := routed(builders.SetWeight(20), step(), builders.Pause())
		ex := running(w)
		Expect(backends(w)).To(Equal(map[string]int32{"web-stable": 60, "web-canary": 20,
			ex.Name + "-baseline": 10, ex.Name + "-canary": 10}))
	})

	It("takes the experiment's backends out once it succeeds, and gives the stable Service its weight back", func() {
		w := routed(builders.SetWeight(0), step(), builders.Pause())
		ex := running(w)
		ex.Status.Phase = rolloutsv1alpha1.AnalysisPhaseSuccessful
		w.run()
		Expect(backends(w)).To(Equal(map[string]int32{"web-stable": 100, "web-canary": 0}))
		Expect(w.ro.Status.Canary.Weights.Additional).To(BeEmpty())
		Expect(w.ro.Status.Canary.Weights.Stable.Weight).To(Equal(int32(100)))
	})

	DescribeTable("takes the experiment's backends out when the rollout leaves the step early",
		func(leave func(*world)) {
			w := routed(builders.SetWeight(0), step(), builders.Pause())
			running(w)
			leave(w)
			w.run()
			Expect(w.experiments[0].Spec.Terminate).To(BeTrue())
			Expect(backends(w)).To(HaveLen(2))
			Expect(backends(w)).To(HaveKeyWithValue("web-stable", int32(100)))
			Expect(w.ro.Status.Canary.Weights.Additional).To(BeEmpty())
		},
		Entry("abort", func(w *world) { w.ro.Status.Abort = true }),
		Entry("full promote", func(w *world) { w.ro.Status.PromoteFull = true }),
		Entry("promote past the step", func(w *world) { w.ro.Status.CurrentStepIndex = ptr.To[int32](2) }),
	)

	It("sends nothing to a template whose pods are not available yet", func() {
		w := routed(builders.SetWeight(0), step(), builders.Pause())
		ex := running(w)
		ex.Status.TemplateStatuses[1].AvailableReplicas = 0
		w.run()
		Expect(backends(w)).To(Equal(map[string]int32{"web-stable": 90, "web-canary": 0, ex.Name + "-baseline": 10}))
	})

	DescribeTable("refuses weights that do not fit, naming the field",
		func(steps []rolloutsv1alpha1.CanaryStep, message string) {
			w := newWorld(builders.Rollout("web").Replicas(10).Services("web-canary", "web-stable").Canary(steps...).Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
					Plugins: map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"web"}`)},
				}
			}).Obj(), "web-canary", "web-stable")
			w.step()
			cond := findCondition(&w.ro.Status, rolloutsv1alpha1.InvalidSpec)
			Expect(cond).NotTo(BeNil())
			Expect(cond.Message).To(ContainSubstring(message))
		},
		Entry("with the canary's weight, more than all the traffic",
			[]rolloutsv1alpha1.CanaryStep{builders.SetWeight(90), step()},
			"spec.strategy.canary.steps[1].experiment.templates[1].weight: Invalid value: 10: the templates' weights and the canary's weight at this step (90) add up to more than 100"),
		Entry("a negative weight",
			[]rolloutsv1alpha1.CanaryStep{{Experiment: &rolloutsv1alpha1.RolloutExperimentStep{Templates: []rolloutsv1alpha1.RolloutExperimentTemplate{
				{Name: "canary", SpecRef: rolloutsv1alpha1.CanarySpecRef, Weight: ptr.To[int32](-1)}}}}},
			"spec.strategy.canary.steps[0].experiment.templates[0].weight: Invalid value: -1: must not be negative"),
	)
})
