package gitops

import (
	"fmt"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// The rules of Argo Rollouts' kinds and of Applications. A Rollout that
// waits for a person (a pause step, a blue-green promotion, an
// Inconclusive analysis) is Suspended, not Progressing: nothing will move
// until someone promotes it, and an Application waiting on it has settled.

var rolloutHealth = readTyped(rolloutHealthOf)

func rolloutHealthOf(ro *rolloutsv1alpha1.Rollout) gitopsv1alpha1.HealthStatus {
	if ro.Status.ObservedGeneration != fmt.Sprint(ro.Generation) {
		return progressing("waiting for the rollout controller to see the new spec")
	}
	switch ro.Status.Phase {
	case rolloutsv1alpha1.RolloutPhaseHealthy:
		return healthy("")
	case rolloutsv1alpha1.RolloutPhasePaused:
		return suspended(rolloutPause(ro))
	case rolloutsv1alpha1.RolloutPhaseDegraded:
		return degraded(ro.Status.Message)
	}
	return progressing(ro.Status.Message)
}

// rolloutPause says why a Rollout is paused and where: the canary step it
// stopped at (counted from one, of all the steps) and the reasons of its
// pause conditions, as "paused at step 2 of 4 (CanaryPauseStep), waiting
// for promotion".
func rolloutPause(ro *rolloutsv1alpha1.Rollout) string {
	if ro.Spec.Paused {
		return "paused by spec.paused, waiting to be resumed"
	}
	var reasons []string
	waitsForPerson := false
	for _, c := range ro.Status.PauseConditions {
		reasons = append(reasons, string(c.Reason))
		switch c.Reason {
		case rolloutsv1alpha1.PauseReasonBlueGreenPause, rolloutsv1alpha1.PauseReasonInconclusiveAnalysis,
			rolloutsv1alpha1.PauseReasonInconclusiveExperiment:
			waitsForPerson = true
		}
	}
	where := ""
	if canary := ro.Spec.Strategy.Canary; canary != nil && len(canary.Steps) > 0 && ro.Status.CurrentStepIndex != nil {
		index := int(*ro.Status.CurrentStepIndex)
		where = fmt.Sprintf(" at step %d of %d", index+1, len(canary.Steps))
		if index < len(canary.Steps) {
			if pause := canary.Steps[index].Pause; pause != nil {
				if pause.Duration == nil {
					waitsForPerson = true
				} else {
					where += fmt.Sprintf(" (a pause of %ds)", pause.DurationSeconds())
				}
			}
		}
	}
	message := "paused" + where
	if len(reasons) > 0 {
		message += ": " + strings.Join(reasons, ", ")
	}
	if waitsForPerson {
		message += ", waiting for promotion"
	}
	return message
}

// analysisRunHealth follows the run's phase. An Inconclusive run is
// Suspended: its Rollout is paused waiting for a person to promote or
// abort, which is what Suspended says (Argo CD reports Unknown).
func analysisRunHealth(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	return phaseHealth(u, "analysis run")
}

// experimentHealth follows the experiment's phase, as an AnalysisRun's.
func experimentHealth(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	return phaseHealth(u, "experiment")
}

func phaseHealth(u *unstructured.Unstructured, what string) gitopsv1alpha1.HealthStatus {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	message, _, _ := unstructured.NestedString(u.Object, "status", "message")
	orDefault := func(m string) string {
		if message != "" {
			return message
		}
		return m
	}
	switch rolloutsv1alpha1.AnalysisPhase(phase) {
	case rolloutsv1alpha1.AnalysisPhaseSuccessful:
		return healthy(orDefault(what + " successful"))
	case rolloutsv1alpha1.AnalysisPhaseFailed:
		return degraded(orDefault(what + " failed"))
	case rolloutsv1alpha1.AnalysisPhaseError:
		return degraded(orDefault(what + " had an error"))
	case rolloutsv1alpha1.AnalysisPhaseInconclusive:
		return suspended(orDefault(what + " inconclusive, waiting for a person to decide"))
	case rolloutsv1alpha1.AnalysisPhasePending, rolloutsv1alpha1.AnalysisPhaseRunning:
		return progressing(orDefault(what + " " + strings.ToLower(phase)))
	}
	return progressing("waiting for the " + what + " to start")
}

// applicationHealth is an Application's own aggregated health.
func applicationHealth(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	status, _, _ := unstructured.NestedString(u.Object, "status", "health", "status")
	message, _, _ := unstructured.NestedString(u.Object, "status", "health", "message")
	if status == "" {
		return progressing("not synced yet")
	}
	return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthStatusCode(status), Message: message}
}
