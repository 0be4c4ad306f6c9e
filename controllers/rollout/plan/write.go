package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// StatusNeedsWrite reports whether a planned status is worth a write.
//
// While a rollout is Progressing, its pod counters (replicas, updated, ready,
// available) and the phase message that follows them change with every pod
// that starts. Writing each of those would double a rollout's API writes for
// no decision anyone makes on them, so they ride along with the next write
// that matters: a step, a pause, a condition, a phase change. Once the
// rollout settles (Healthy, Paused, Degraded) every change is written, so a
// settled status is always exact.
func StatusNeedsWrite(observed, planned *rolloutsv1alpha1.RolloutStatus) bool {
	if apiequality.Semantic.DeepEqual(observed, planned) {
		return false
	}
	if observed.Phase != rolloutsv1alpha1.RolloutPhaseProgressing || planned.Phase != rolloutsv1alpha1.RolloutPhaseProgressing {
		return true
	}
	return !apiequality.Semantic.DeepEqual(withoutCounters(observed), withoutCounters(planned))
}

func withoutCounters(st *rolloutsv1alpha1.RolloutStatus) *rolloutsv1alpha1.RolloutStatus {
	out := st.DeepCopy()
	out.Replicas, out.UpdatedReplicas, out.ReadyReplicas, out.AvailableReplicas, out.HPAReplicas = 0, 0, 0, 0, 0
	out.Message = ""
	return out
}
