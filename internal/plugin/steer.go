// Package plugin is the pure part of `kubectl sluice`: the patches each
// steering command sends, which are exactly those Argo Rollouts' kubectl
// plugin sends, so both plugins can steer the same Rollouts; and the text
// views of rollouts and applications.
package plugin

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// Patches are the JSON merge patches of one command: Spec to the Rollout,
// Status to its status subresource. Either may be nil.
type Patches struct {
	Spec, Status []byte
}

// Promote is `promote`: past a pause, or past the current step when the
// rollout waits at no pause (an analysis, an experiment), or past an
// inconclusive analysis; with full, to the end at once.
func Promote(ro *rolloutsv1alpha1.Rollout, full bool) Patches {
	var p Patches
	if ro.Spec.Paused {
		p.Spec = []byte(`{"spec":{"paused":false}}`)
	}
	if full {
		if ro.Status.CurrentPodHash != ro.Status.StableRS {
			p.Status = []byte(`{"status":{"promoteFull":true}}`)
		}
		return p
	}
	next := func() int32 {
		index := int32(0)
		if ro.Status.CurrentStepIndex != nil {
			index = *ro.Status.CurrentStepIndex
		}
		if ro.Spec.Strategy.Canary != nil && index < int32(len(ro.Spec.Strategy.Canary.Steps)) {
			index++
		}
		return index
	}
	canary := ro.Spec.Strategy.Canary
	inconclusive := canary != nil && ro.Status.Canary.CurrentStepAnalysisRunStatus != nil &&
		ro.Status.Canary.CurrentStepAnalysisRunStatus.Status == rolloutsv1alpha1.AnalysisPhaseInconclusive
	switch {
	case inconclusive && len(ro.Status.PauseConditions) > 0 && ro.Status.ControllerPause:
		p.Status = fmt.Appendf(nil, `{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":%d}}`, next())
	case len(ro.Status.PauseConditions) > 0:
		p.Status = []byte(`{"status":{"pauseConditions":null}}`)
	case canary != nil && len(canary.Steps) > 0:
		p.Status = fmt.Appendf(nil, `{"status":{"pauseConditions":null, "currentStepIndex":%d}}`, next())
	}
	return p
}

// Abort is `abort`: back to stable.
func Abort() Patches { return Patches{Status: []byte(`{"status":{"abort":true}}`)} }

// Retry is `retry`: an aborted rollout starts its steps over.
func Retry() Patches { return Patches{Status: []byte(`{"status":{"abort":false}}`)} }

// Pause is `pause`: the steps hold and the pods stay as they are.
func Pause() Patches { return Patches{Spec: []byte(`{"spec":{"paused":true}}`)} }

// Resume is `resume`: the steps go on after a pause.
func Resume() Patches { return Patches{Spec: []byte(`{"spec":{"paused":false}}`)} }

// Restart is `restart`: every pod older than at is replaced.
func Restart(at time.Time) Patches {
	return Patches{Spec: fmt.Appendf(nil, `{"spec":{"restartAt":%q}}`, at.UTC().Format(time.RFC3339))}
}
