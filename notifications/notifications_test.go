package notifications

import "testing"

func TestTriggerOf(t *testing.T) {
	// Argo Rollouts' default catalogue names the first nine triggers, each
	// the one its event reason runs; the others are reasons Sluice also
	// records, whose triggers a ConfigMap may define.
	cases := map[string]string{
		"RolloutCompleted":     "on-rollout-completed",
		"RolloutStepCompleted": "on-rollout-step-completed",
		"RolloutUpdated":       "on-rollout-updated",
		"RolloutAborted":       "on-rollout-aborted",
		"RolloutPaused":        "on-rollout-paused",
		"AnalysisRunRunning":   "on-analysis-run-running",
		"AnalysisRunError":     "on-analysis-run-error",
		"AnalysisRunFailed":    "on-analysis-run-failed",
		"ScalingReplicaSet":    "on-scaling-replica-set",
		"InvalidSpec":          "on-invalid-spec",
		"TrafficWeightUpdated": "on-traffic-weight-updated",
		"SwitchService":        "on-switch-service",
	}
	for reason, want := range cases {
		if got := TriggerOf(reason); got != want {
			t.Errorf("TriggerOf(%q) = %q, want %q", reason, got, want)
		}
	}
}
