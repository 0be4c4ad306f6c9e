package metrics

import (
	"encoding/json"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/sluicehq/sluice/test/builders"
)

// withConditions is a canary Rollout whose status holds conditions of the
// given types and reasons.
func withConditions(typesAndReasons ...string) *rolloutsv1alpha1.Rollout {
	ro := builders.Rollout("web").Namespace("shop").Obj()
	for i := 0; i+1 < len(typesAndReasons); i += 2 {
		ro.Status.Conditions = append(ro.Status.Conditions, rolloutsv1alpha1.RolloutCondition{
			Type: rolloutsv1alpha1.RolloutConditionType(typesAndReasons[i]), Status: corev1.ConditionTrue, Reason: typesAndReasons[i+1],
		})
	}
	return ro
}

var _ = Describe("PhaseOf", func() {
	DescribeTable("is Argo's metric phase, read from the conditions",
		func(ro *rolloutsv1alpha1.Rollout, want RolloutPhase) {
			Expect(PhaseOf(ro)).To(Equal(want))
		},
		Entry("a Rollout with no conditions yet is Progressing",
			withConditions(), RolloutProgressing),
		Entry("the new ReplicaSet available means Completed (status.phase says Healthy)",
			withConditions("Available", "AvailableReason", "Progressing", "NewReplicaSetAvailable", "Completed", "RolloutCompleted"), RolloutCompleted),
		Entry("a ReplicaSet being updated is Progressing",
			withConditions("Progressing", "ReplicaSetUpdated"), RolloutProgressing),
		Entry("a pause is Paused, whatever the Paused condition says",
			withConditions("Progressing", "RolloutPaused", "Paused", "RolloutPaused"), RolloutPaused),
		Entry("an abort is Abort (status.phase says Degraded)",
			withConditions("Progressing", "RolloutAborted"), RolloutAbort),
		Entry("past the progress deadline is Timeout",
			withConditions("Progressing", "ProgressDeadlineExceeded"), RolloutTimeout),
		Entry("a ReplicaSet that could not be created is Error",
			withConditions("Progressing", "ReplicaSetCreateError"), RolloutError),
		Entry("an InvalidSpec condition wins over any progress",
			withConditions("Progressing", "NewReplicaSetAvailable", "InvalidSpec", "InvalidSpec"), RolloutInvalidSpec),
		Entry("a reason of another condition names no phase",
			withConditions("Paused", "RolloutPaused"), RolloutProgressing),
	)
})

var _ = Describe("StrategyOf and TrafficRouterOf", func() {
	routing := func(edit func(*rolloutsv1alpha1.RolloutTrafficRouting)) *rolloutsv1alpha1.Rollout {
		ro := builders.Rollout("web").Obj()
		ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{}
		edit(ro.Spec.Strategy.Canary.TrafficRouting)
		return ro
	}
	plugin := func(names ...string) *rolloutsv1alpha1.Rollout {
		return routing(func(tr *rolloutsv1alpha1.RolloutTrafficRouting) {
			tr.Plugins = map[string]json.RawMessage{}
			for _, n := range names {
				tr.Plugins[n] = json.RawMessage(`{}`)
			}
		})
	}

	DescribeTable("label a Rollout as Argo does",
		func(ro *rolloutsv1alpha1.Rollout, strategy, router string) {
			Expect([]string{StrategyOf(ro), TrafficRouterOf(ro)}).To(Equal([]string{strategy, router}))
		},
		Entry("a canary without traffic routing", builders.Rollout("web").Obj(), "canary", ""),
		Entry("a blue-green Rollout", builders.Rollout("web").BlueGreen("active", "preview").Obj(), "blueGreen", ""),
		Entry("a Rollout with no strategy",
			builders.Rollout("web").Edit(func(ro *rolloutsv1alpha1.Rollout) { ro.Spec.Strategy = rolloutsv1alpha1.RolloutStrategy{} }).Obj(),
			"none", ""),
		Entry("Gateway API through the plugin Sluice builds in: the plugin's name, where Argo leaves it empty",
			plugin("argoproj-labs/gatewayAPI"), "canary", "argoproj-labs/gatewayAPI"),
		Entry("several plugins, sorted",
			plugin("b/two", "a/one"), "canary", "a/one,b/two"),
		Entry("a router Argo builds in has Argo's name",
			routing(func(tr *rolloutsv1alpha1.RolloutTrafficRouting) { tr.Istio = &rolloutsv1alpha1.IstioTrafficRouting{} }), "canary", "Istio"),
		Entry("of two, the later in Argo's order, as Argo picks",
			routing(func(tr *rolloutsv1alpha1.RolloutTrafficRouting) {
				tr.SMI = &rolloutsv1alpha1.SMITrafficRouting{}
				tr.ALB = &rolloutsv1alpha1.ALBTrafficRouting{}
			}), "canary", "SMI"),
		Entry("routers Argo does not name (Traefik, Apisix) leave it empty, as in Argo",
			routing(func(tr *rolloutsv1alpha1.RolloutTrafficRouting) {
				tr.Traefik = &rolloutsv1alpha1.TraefikTrafficRouting{}
			}), "canary", ""),
	)
})
