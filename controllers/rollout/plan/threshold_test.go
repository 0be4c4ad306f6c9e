package plan

import (
	"encoding/json"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/traffic"
)

var _ = Describe("replicaProgressThreshold", func() {
	percent := func(v int32) *rolloutsv1alpha1.ReplicaProgressThreshold {
		return &rolloutsv1alpha1.ReplicaProgressThreshold{Type: rolloutsv1alpha1.ProgressTypePercentage, Value: v}
	}
	pods := func(v int32) *rolloutsv1alpha1.ReplicaProgressThreshold {
		return &rolloutsv1alpha1.ReplicaProgressThreshold{Type: rolloutsv1alpha1.ProgressTypePods, Value: v}
	}

	DescribeTable("needs this many of a step's canary pods available",
		func(t *rolloutsv1alpha1.ReplicaProgressThreshold, want, needed int32) {
			Expect(thresholdPods(t, want)).To(Equal(needed))
		},
		Entry("70% of 10", percent(70), int32(10), int32(7)),
		Entry("50% of 5, rounded up", percent(50), int32(5), int32(3)),
		Entry("100% of 4", percent(100), int32(4), int32(4)),
		Entry("1% of 3: at least one pod", percent(1), int32(3), int32(1)),
		Entry("any percentage of none", percent(80), int32(0), int32(0)),
		Entry("3 pods of 10", pods(3), int32(10), int32(3)),
		Entry("3 pods of a step that asks for 2: the step's 2", pods(3), int32(2), int32(2)),
		Entry("3 pods of none", pods(3), int32(0), int32(0)),
	)

	// available makes n pods of the image's ReplicaSet exist and be
	// available, as a cluster where some pods cannot start yet.
	available := func(w *world, image string, n int32) {
		for _, rs := range w.rss {
			if rs.Spec.Template.Spec.Containers[0].Image == image {
				rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = *rs.Spec.Replicas, n, n
			}
		}
	}

	It("counts a step reached once the threshold of the canary's pods is available, and promotes at it", func() {
		ro := builders.Rollout("web").Replicas(10).Surge(10, 5).Canary(builders.SetWeight(50), builders.Pause()).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.ReplicaProgressThreshold = percent(60)
		}).Obj()
		w := newWorld(ro)
		w.run()
		w.setImage("app:v2")

		w.step()
		Expect(w.counts()).To(Equal(map[string]int32{"app:v1": 5, "app:v2": 5}), "maxUnavailable lets the stable go at once")
		available(w, "app:v1", 5)
		available(w, "app:v2", 2)
		w.step()
		Expect(*w.ro.Status.CurrentStepIndex).To(BeZero(), "2 of 5 is under 60%")

		available(w, "app:v2", 3)
		w.step()
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)), "3 of 5 is 60%: at the pause")
		Expect(w.ro.Status.PauseConditions).To(HaveLen(1))

		By("the last step: promoted with 6 of the 10 canary pods available")
		w.ro.Status.PauseConditions = nil
		for range 10 {
			w.step()
			available(w, "app:v1", w.counts()["app:v1"])
			available(w, "app:v2", 6)
		}
		Expect(w.counts()).To(Equal(map[string]int32{"app:v2": 10}))
		Expect(w.ro.Status.StableRS).To(Equal(w.ro.Status.CurrentPodHash))
	})

	It("holds a step without a threshold until every canary pod is available", func() {
		w := newWorld(builders.Rollout("web").Replicas(10).Surge(10, 0).Canary(builders.SetWeight(50), builders.Pause()).Obj())
		w.run()
		w.setImage("app:v2")
		w.step()
		available(w, "app:v2", 4)
		w.step()
		Expect(*w.ro.Status.CurrentStepIndex).To(BeZero())
	})

	It("moves the weight once the threshold of the canary's pods is available", func() {
		ro := builders.Rollout("web").Replicas(10).Services("web-canary", "web-stable").Canary(builders.SetWeight(40), builders.Pause()).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.ReplicaProgressThreshold = pods(2)
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				Plugins: map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"web"}`)},
			}
		}).Obj()
		w := newWorld(ro, "web-canary", "web-stable")
		w.routes = []*gatewayv1.HTTPRoute{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
				{BackendRefs: []gatewayv1.HTTPBackendRef{httpBackend("web-stable", 100), httpBackend("web-canary", 0)}},
			}},
		}}
		w.run()
		w.setImage("app:v2")
		w.step()
		Expect(w.counts()).To(HaveKeyWithValue("app:v2", int32(4)))
		available(w, "app:v2", 1)
		w.step()
		Expect(w.trafficLog).To(BeEmpty(), "1 of the 2 pods the threshold asks for")

		available(w, "app:v2", 2)
		w.step()
		w.step()
		Expect(w.trafficLog).To(Equal([]int32{40}))
		Expect(*w.ro.Status.CurrentStepIndex).To(Equal(int32(1)))
	})

	DescribeTable("is InvalidSpec naming the field",
		func(t *rolloutsv1alpha1.ReplicaProgressThreshold, message string) {
			ro := builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50)).Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.ReplicaProgressThreshold = t
			}).Obj()
			res := Plan(Observation{Rollout: ro, Now: time.Now()})
			Expect(res.Actions).To(BeEmpty())
			Expect(res.Status.Message).To(ContainSubstring(message))
		},
		Entry("no type", &rolloutsv1alpha1.ReplicaProgressThreshold{Value: 2},
			`spec.strategy.canary.replicaProgressThreshold.type: Unsupported value: "": supported values: "Percent", "Pods"`),
		Entry("a value of 0", percent(0), "spec.strategy.canary.replicaProgressThreshold.value: Invalid value: 0: must be greater than 0"),
		Entry("a negative number of pods", pods(-1), "spec.strategy.canary.replicaProgressThreshold.value: Invalid value: -1: must be greater than 0"),
		Entry("a percentage over 100", percent(120), "spec.strategy.canary.replicaProgressThreshold.value: Invalid value: 120: a percentage must be at most 100"),
	)
})
