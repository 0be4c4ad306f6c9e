package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// analysisStep reports whether an analysis step is over: its AnalysisRun
// (found by Argo's labels, created from the step's templates when missing)
// succeeded, or ended Inconclusive and a person promoted. A Failed or Error run aborts the rollout; an Inconclusive one
// pauses it with a message that says what to do. Until the run exists the
// step waits. The run's state is mirrored in
// status.canary.currentStepAnalysisRunStatus, which the kubectl plugin reads.
func (p *planner) analysisStep(index int32, step *rolloutsv1alpha1.RolloutAnalysis) bool {
	run := p.stepRun(index)
	if run == nil {
		if !p.creatingRun {
			p.creatingRun = true
			p.result.Actions = append(p.result.Actions, CreateAnalysisRun{Run: p.newStepRun(index, step)})
		}
		return false
	}
	p.announceRun(rolloutsv1alpha1.RolloutTypeStepLabel, p.ro.Status.Canary.CurrentStepAnalysisRunStatus, run)
	p.status.Canary.CurrentStepAnalysisRunStatus = &rolloutsv1alpha1.RolloutAnalysisRunStatus{
		Name: run.Name, Status: run.Status.Phase, Message: run.Status.Message,
	}
	switch run.Status.Phase {
	case rolloutsv1alpha1.AnalysisPhaseSuccessful:
		p.status.Canary.CurrentStepAnalysisRunStatus = nil
		return true
	case rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseError:
		p.status.Abort = true
	case rolloutsv1alpha1.AnalysisPhaseInconclusive:
		if p.pastInconclusiveStep(rolloutsv1alpha1.PauseReasonInconclusiveAnalysis) {
			p.status.Canary.CurrentStepAnalysisRunStatus = nil
			return true
		}
	}
	return false
}

// pastInconclusiveStep handles a step whose AnalysisRun or Experiment ended
// Inconclusive: the first time, it pauses the rollout for reason; while
// that pause condition stands, the step waits for a person; once they
// cleared it by promoting, it reports true and the step is over.
func (p *planner) pastInconclusiveStep(reason rolloutsv1alpha1.PauseReason) bool {
	switch {
	case p.pauseCondition(reason) != nil:
		// Paused, waiting for a person.
	case p.status.ControllerPause:
		// The pause condition was cleared: promoted past the step.
		p.status.ControllerPause = false
		return true
	default:
		p.status.PauseConditions = append(p.status.PauseConditions, rolloutsv1alpha1.PauseCondition{
			Reason: reason, StartTime: metav1.Time{Time: p.now},
		})
		p.status.ControllerPause = true
	}
	return false
}

// stepRun finds the AnalysisRun of a step of the current revision by the
// labels Argo puts on it, leaving out runs of an earlier attempt.
func (p *planner) stepRun(index int32) *rolloutsv1alpha1.AnalysisRun {
	for _, run := range p.obs.AnalysisRuns {
		if run.Labels[rolloutsv1alpha1.RolloutTypeLabel] == rolloutsv1alpha1.RolloutTypeStepLabel && p.ofStep(run, index) {
			return run
		}
	}
	return nil
}
