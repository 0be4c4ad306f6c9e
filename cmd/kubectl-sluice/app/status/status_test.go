package status

import (
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestVerdictOf(t *testing.T) {
	tests := []struct {
		name     string
		reason   string
		observed string
		phase    rolloutsv1alpha1.RolloutPhase
		want     Verdict
	}{
		{name: "healthy", observed: "3", phase: rolloutsv1alpha1.RolloutPhaseHealthy, want: Healthy},
		{name: "degraded", observed: "3", phase: rolloutsv1alpha1.RolloutPhaseDegraded, want: Degraded},
		{name: "paused", observed: "3", phase: rolloutsv1alpha1.RolloutPhasePaused, want: Progressing},
		{name: "stale healthy", reason: "Healthy of the spec before the change says nothing of this one",
			observed: "2", phase: rolloutsv1alpha1.RolloutPhaseHealthy, want: Progressing},
		{name: "stale degraded", reason: "a new spec may fix what degraded the old one",
			observed: "2", phase: rolloutsv1alpha1.RolloutPhaseDegraded, want: Progressing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ro := &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Generation: 3},
				Status: rolloutsv1alpha1.RolloutStatus{ObservedGeneration: tt.observed, Phase: tt.phase}}
			if got := VerdictOf(ro); got != tt.want {
				t.Errorf("%s: got %v, want %v", tt.reason, got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	ro := &rolloutsv1alpha1.Rollout{Status: rolloutsv1alpha1.RolloutStatus{Phase: rolloutsv1alpha1.RolloutPhasePaused, Message: "CanaryPauseStep"}}
	if got, want := Line(ro), "Paused - CanaryPauseStep"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	ro.Status.Message = ""
	if got, want := Line(ro), "Paused"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
