package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// canaryReached reports whether the canary ReplicaSet runs the pods a step
// asks for. By default every one of them must be available (settledAt);
// with spec.strategy.canary.replicaProgressThreshold a step, its traffic and
// the promotion go on once that share of them is: the ReplicaSet asks for
// want pods and has no surplus, but some may still be starting. After
// promotion the canary is the stable revision, and the threshold no
// longer applies.
func (p *planner) canaryReached(want int32, promoted bool) bool {
	var threshold *rolloutsv1alpha1.ReplicaProgressThreshold
	if canary := p.ro.Spec.Strategy.Canary; canary != nil {
		threshold = canary.ReplicaProgressThreshold
	}
	rs := p.current
	if threshold == nil || promoted || rs == nil {
		return settledAt(rs, want)
	}
	return specReplicas(rs) == want && rs.Status.Replicas <= want &&
		rs.Status.AvailableReplicas >= thresholdPods(threshold, want)
}

// thresholdPods is how many of want pods a replicaProgressThreshold needs
// available: a percentage of them rounded up (Argo compares the available
// share with the percentage), or a number of pods, at most want. Argo
// compares a number of pods with the available pods alone, so a step that
// asks for fewer pods than the threshold never completes there.
func thresholdPods(t *rolloutsv1alpha1.ReplicaProgressThreshold, want int32) int32 {
	if want <= 0 {
		return 0
	}
	if t.Type == rolloutsv1alpha1.ProgressTypePercentage {
		return int32((int64(want)*int64(t.Value) + 99) / 100)
	}
	return min(t.Value, want)
}

// validateReplicaProgressThreshold checks a replicaProgressThreshold: a
// type of Percent or Pods, and a value above 0 (at most 100 for Percent),
// as Argo's API describes it.
func validateReplicaProgressThreshold(t *rolloutsv1alpha1.ReplicaProgressThreshold, path *field.Path) *field.Error {
	if t == nil {
		return nil
	}
	switch t.Type {
	case rolloutsv1alpha1.ProgressTypePercentage:
		if t.Value > 100 {
			return field.Invalid(path.Child("value"), t.Value, "a percentage must be at most 100")
		}
	case rolloutsv1alpha1.ProgressTypePods:
	default:
		return field.NotSupported(path.Child("type"), t.Type,
			[]string{string(rolloutsv1alpha1.ProgressTypePercentage), string(rolloutsv1alpha1.ProgressTypePods)})
	}
	if t.Value <= 0 {
		return field.Invalid(path.Child("value"), t.Value, "must be greater than 0")
	}
	return nil
}
