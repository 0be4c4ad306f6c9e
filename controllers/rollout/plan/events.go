package plan

import (
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"

	"github.com/sluicehq/sluice/internal/rolloutmeta"
)

// Events a Rollout records, with Argo Rollouts' reasons and messages, at the
// moments Argo's controller records them: Argo's notification triggers
// (`on-rollout-step-completed` for RolloutStepCompleted, and so on) are
// named after these reasons, so they fire on Sluice's Rollouts as they do
// on Argo's.
//
// Each event marks a transition from the observed status (or the observed
// ReplicaSets and AnalysisRuns) to the planned one. A plan of a state that
// was already written therefore records nothing: not on a reconcile with
// nothing to do, nor after a restart of the manager. The executor records
// the events only once the plan's writes went through, so a plan whose
// writes failed is planned, and its events recorded, again.
const (
	reasonUpdated       = "RolloutUpdated"
	reasonStepCompleted = "RolloutStepCompleted"
	reasonScaling       = "ScalingReplicaSet"
	// reasonAnalysisRun is followed by the run's phase:
	// AnalysisRunRunning, AnalysisRunSuccessful, AnalysisRunFailed ...
	reasonAnalysisRun = "AnalysisRun"
)

// noPreviousStatus is Argo's word for the phase of a run seen for the
// first time.
const noPreviousStatus = "NoPreviousStatus"

// announceUpdated records that the planner sees a new revision of the pod
// template: a first deploy, a new template, or a return to an older one
// (which gets a new revision number).
func (p *planner) announceUpdated() {
	p.event(false, reasonUpdated, fmt.Sprintf("Rollout updated to revision %d", p.revision))
}

// announceStepCompleted records that canary step index (0-based) is over.
// A pass that completes several steps records one event for each, in order.
func (p *planner) announceStepCompleted(index int32) {
	steps := p.steps()
	p.event(false, reasonStepCompleted,
		fmt.Sprintf("Rollout step %d/%d completed (%s)", index+1, len(steps), rolloutmeta.DescribeStep(steps[index])))
}

// announceScale records a change of a ReplicaSet's spec.replicas, a
// ReplicaSet created with pods included: Argo creates it empty and then
// scales it up.
func (p *planner) announceScale(name string, revision int64, from, to int32) {
	direction := "up"
	if to < from {
		direction = "down"
	}
	p.event(false, reasonScaling, fmt.Sprintf("Scaled %s ReplicaSet %s (revision %d) from %d to %d", direction, name, revision, from, to))
}

// announceRun records a new phase of an AnalysisRun the Rollout follows:
// seen is how the observed status mirrored it, and kind is the run's
// rollout-type label (Step, Background, PrePromotion, PostPromotion). A
// run that has no phase yet is not announced. A run the mirror does not
// name yet (the first run of a revision, or the run a retry started) is
// announced with Argo's "NoPreviousStatus": Argo mirrors a run before the
// analysis controller gives it a phase, so it announces each run's first
// phase; here a run may have one by the time the Rollout sees it.
func (p *planner) announceRun(kind string, seen *rolloutsv1alpha1.RolloutAnalysisRunStatus, run *rolloutsv1alpha1.AnalysisRun) {
	phase := run.Status.Phase
	if phase == "" {
		return
	}
	previous := noPreviousStatus
	if seen != nil && seen.Name == run.Name {
		if seen.Status == phase {
			return
		}
		previous = string(seen.Status)
	}
	warning := phase == rolloutsv1alpha1.AnalysisPhaseFailed || phase == rolloutsv1alpha1.AnalysisPhaseError
	p.event(warning, reasonAnalysisRun+string(phase),
		fmt.Sprintf("%s Analysis Run '%s' Status New: '%s' Previous: '%s'", kind, run.Name, phase, previous))
}

// announceTransitions records the events that compare the observed status
// with the planned one, once the plan is complete: a spec that became
// invalid, an abort, the current revision becoming stable, and a pause
// starting or ending.
func (p *planner) announceTransitions() {
	old := p.ro.Status
	if c := findCondition(&p.status, rolloutsv1alpha1.InvalidSpec); c != nil {
		if prev := findCondition(&old, rolloutsv1alpha1.InvalidSpec); prev == nil || prev.Message != c.Message {
			p.event(true, reasonInvalidSpec, c.Message)
		}
	}
	if c := findCondition(&p.status, rolloutsv1alpha1.RolloutProgressing); c != nil && c.Reason == reasonAborted {
		// Once per abort: the Progressing condition stays aborted until a
		// retry or a new revision.
		if prev := findCondition(&old, rolloutsv1alpha1.RolloutProgressing); prev == nil || prev.Reason != c.Reason {
			p.event(true, c.Reason, c.Message)
		}
	}
	if p.hash != "" && p.status.StableRS == p.hash && old.StableRS != p.hash {
		because := p.completedBecause
		if because == "" {
			// No stable revision to go through steps from (a first
			// deploy, or the stable ReplicaSet is gone), as Argo says.
			because = "Initial deploy"
		}
		p.event(false, reasonCompleted, fmt.Sprintf("Rollout completed update to revision %d (%s): %s", p.revision, p.hash, because))
	}
	p.announcePauses(old.PauseConditions)
}

// announcePauses records RolloutPaused when the Rollout goes from no pause
// condition to some, and RolloutResumed from some to none, unless an abort
// cleared them; as Argo, a person's spec.paused is not a pause condition.
// When a pass ends one pause and starts another (a timed pause step
// followed by a pause step), both are recorded, as over Argo's two
// reconciles.
func (p *planner) announcePauses(old []rolloutsv1alpha1.PauseCondition) {
	now := p.status.PauseConditions
	kept := false
	for _, o := range old {
		for _, n := range now {
			kept = kept || (o.Reason == n.Reason && o.StartTime.Equal(&n.StartTime))
		}
	}
	aborted := p.status.Abort || p.status.AbortedAt != nil
	if len(old) > 0 && !kept && !aborted {
		p.event(false, reasonResumed, "Rollout is resumed")
	}
	if len(now) > 0 && !kept {
		p.event(false, reasonPaused, fmt.Sprintf("Rollout is paused (%s)", now[0].Reason))
	}
}

// promotedBecause is Argo's word for why a revision that went through its
// strategy became stable: a full promotion, a rollback within
// spec.rollbackWindow, or else done, as the strategy says.
func promotedBecause(promoteFull, fastRollback bool, done string) string {
	switch {
	case promoteFull:
		return "Full promotion requested"
	case fastRollback:
		return "Rollback within window"
	}
	return done
}
