package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hostnameTopology spreads the new revision's pods away from the stable
// revision's node by node, as Argo does.
const hostnameTopology = "kubernetes.io/hostname"

// antiAffinity is the strategy's antiAffinity, or nil.
func (p *planner) antiAffinity() *rolloutsv1alpha1.AntiAffinity {
	if bg := p.ro.Spec.Strategy.BlueGreen; bg != nil {
		return bg.AntiAffinity
	}
	if canary := p.ro.Spec.Strategy.Canary; canary != nil {
		return canary.AntiAffinity
	}
	return nil
}

// withAntiAffinity adds to a new revision's pod affinity a term that keeps
// its pods off the nodes of the stable revision's pods, so a node failure
// cannot take both versions down, and so the old pods' nodes can be drained
// once the new version is stable. The term is preferred (with the
// configured weight) or required, as the strategy's antiAffinity says; a
// first revision, with no stable to avoid, gets none.
func (p *planner) withAntiAffinity(affinity *corev1.Affinity) *corev1.Affinity {
	strategy := p.antiAffinity()
	stable := p.status.StableRS
	if strategy == nil || stable == "" || stable == p.hash {
		return affinity
	}
	term := corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, Operator: metav1.LabelSelectorOpIn, Values: []string{stable},
		}}},
		Namespaces:  []string{p.ro.Namespace},
		TopologyKey: hostnameTopology,
	}
	out := affinity.DeepCopy()
	if out == nil {
		out = &corev1.Affinity{}
	}
	if out.PodAntiAffinity == nil {
		out.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	anti := out.PodAntiAffinity
	if preferred := strategy.PreferredDuringSchedulingIgnoredDuringExecution; preferred != nil {
		anti.PreferredDuringSchedulingIgnoredDuringExecution = append(anti.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.WeightedPodAffinityTerm{Weight: preferred.Weight, PodAffinityTerm: term})
	} else {
		anti.RequiredDuringSchedulingIgnoredDuringExecution = append(anti.RequiredDuringSchedulingIgnoredDuringExecution, term)
	}
	return out
}

// withoutAntiAffinity removes the terms withAntiAffinity adds (those that
// select by pod-template hash), to compare a ReplicaSet's template with the
// Rollout's.
func withoutAntiAffinity(affinity *corev1.Affinity) *corev1.Affinity {
	if affinity == nil || affinity.PodAntiAffinity == nil {
		return affinity
	}
	out := affinity.DeepCopy()
	anti := out.PodAntiAffinity
	var preferred []corev1.WeightedPodAffinityTerm
	for _, t := range anti.PreferredDuringSchedulingIgnoredDuringExecution {
		if !selectsByHash(t.PodAffinityTerm) {
			preferred = append(preferred, t)
		}
	}
	var required []corev1.PodAffinityTerm
	for _, t := range anti.RequiredDuringSchedulingIgnoredDuringExecution {
		if !selectsByHash(t) {
			required = append(required, t)
		}
	}
	anti.PreferredDuringSchedulingIgnoredDuringExecution = preferred
	anti.RequiredDuringSchedulingIgnoredDuringExecution = required
	if len(preferred) == 0 && len(required) == 0 {
		out.PodAntiAffinity = nil
	}
	if out.PodAntiAffinity == nil && out.PodAffinity == nil && out.NodeAffinity == nil {
		return nil
	}
	return out
}

func selectsByHash(term corev1.PodAffinityTerm) bool {
	if term.LabelSelector == nil {
		return false
	}
	for _, req := range term.LabelSelector.MatchExpressions {
		if req.Key == rolloutsv1alpha1.DefaultRolloutUniqueLabelKey {
			return true
		}
	}
	return false
}
