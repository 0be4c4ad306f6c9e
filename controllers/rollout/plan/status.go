package plan

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition reasons, with Argo Rollouts' names so tools that read them
// (Argo CD's health check, the kubectl plugin) understand Sluice's status.
const (
	reasonInvalidSpec            = "InvalidSpec"
	reasonAborted                = "RolloutAborted"
	reasonPaused                 = "RolloutPaused"
	reasonResumed                = "RolloutResumed"
	reasonReplicaSetUpdated      = "ReplicaSetUpdated"
	reasonNewReplicaSetAvailable = "NewReplicaSetAvailable"
	reasonAvailable              = "AvailableReason"
	reasonHealthy                = "RolloutHealthy"
	reasonCompleted              = "RolloutCompleted"
	reasonNotCompleted           = "RolloutNotCompleted"
)

// finishStatus fills in everything derived from the plan: replica counts,
// conditions, phase and message, and the events their changes deserve.
func (p *planner) finishStatus() {
	ro, st := p.ro, &p.status
	c := p.podCounters()
	st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.HPAReplicas = c.replicas, c.updated, c.ready, c.available, c.hpa
	if ro.Spec.Selector != nil {
		st.Selector = metav1.FormatLabelSelector(ro.Spec.Selector)
	}
	if active := p.activeReplicaSet(); active != nil && active.Spec.Selector != nil {
		// As in Argo, a blue-green Rollout points a HorizontalPodAutoscaler
		// at the pods the active Service serves.
		st.Selector = metav1.FormatLabelSelector(active.Spec.Selector)
	}

	if !hasCondition(st, rolloutsv1alpha1.InvalidSpec) {
		p.progressConditions()
	}
	st.Phase, st.Message = phaseOf(ro, st)
	healthy := corev1.ConditionFalse
	message := "Rollout is not healthy"
	if st.Phase == rolloutsv1alpha1.RolloutPhaseHealthy {
		healthy, message = corev1.ConditionTrue, "Rollout is healthy"
	}
	if !hasCondition(st, rolloutsv1alpha1.InvalidSpec) || hasCondition(st, rolloutsv1alpha1.RolloutHealthy) {
		// As in Argo, a Rollout refused from the start has the
		// InvalidSpec condition alone; one that ran before turns unhealthy.
		p.setCondition(rolloutsv1alpha1.RolloutHealthy, healthy, reasonHealthy, message)
	}
	p.announceTransitions()
}

// progressConditions sets Progressing, Available, Paused and Completed.
func (p *planner) progressConditions() {
	ro, st := p.ro, &p.status
	paused := ro.Spec.Paused || len(st.PauseConditions) > 0
	promoted := st.StableRS != "" && st.StableRS == st.CurrentPodHash
	switch {
	case st.Abort:
		p.setCondition(rolloutsv1alpha1.RolloutProgressing, corev1.ConditionFalse, reasonAborted,
			fmt.Sprintf("Rollout aborted update to revision %d", p.revision))
	case p.timedOut:
		p.setCondition(rolloutsv1alpha1.RolloutProgressing, corev1.ConditionFalse, reasonTimedOut,
			fmt.Sprintf("ReplicaSet %q has timed out progressing.", ro.Name+"-"+p.hash))
	case paused && !promoted:
		// As in Argo, only an update in flight is paused: pausing a
		// completed Rollout leaves its Progressing condition alone, so
		// the condition does not flap between the two.
		p.setCondition(rolloutsv1alpha1.RolloutProgressing, corev1.ConditionUnknown, reasonPaused, "Rollout is paused")
	case p.healthy(promoted, p.podCounters()):
		p.setCondition(rolloutsv1alpha1.RolloutProgressing, corev1.ConditionTrue, reasonNewReplicaSetAvailable,
			fmt.Sprintf("Rollout %q has successfully progressed.", ro.Name))
	default:
		p.setCondition(rolloutsv1alpha1.RolloutProgressing, corev1.ConditionTrue, reasonReplicaSetUpdated,
			fmt.Sprintf("ReplicaSet %q is progressing.", ro.Name+"-"+p.hash))
		if p.progressed {
			findCondition(st, rolloutsv1alpha1.RolloutProgressing).LastUpdateTime = metav1.Time{Time: p.now}
		}
	}

	if st.AvailableReplicas >= replicasOf(ro)-p.limits.unavailable {
		p.setCondition(rolloutsv1alpha1.RolloutAvailable, corev1.ConditionTrue, reasonAvailable, "Rollout has minimum availability")
	} else {
		p.setCondition(rolloutsv1alpha1.RolloutAvailable, corev1.ConditionFalse, reasonAvailable, "Rollout does not have minimum availability")
	}

	switch {
	case paused:
		p.setCondition(rolloutsv1alpha1.RolloutPaused, corev1.ConditionTrue, reasonPaused, "Rollout is paused")
	case hasCondition(st, rolloutsv1alpha1.RolloutPaused):
		p.setCondition(rolloutsv1alpha1.RolloutPaused, corev1.ConditionFalse, reasonResumed, "Rollout is resumed")
	}

	if promoted {
		p.setCondition(rolloutsv1alpha1.RolloutCompleted, corev1.ConditionTrue, reasonCompleted, "Rollout completed update to revision "+itoa64(p.revision)+" ("+p.hash+")")
	} else {
		p.setCondition(rolloutsv1alpha1.RolloutCompleted, corev1.ConditionFalse, reasonNotCompleted, "Rollout not completed, started update to revision "+itoa64(p.revision)+" ("+p.hash+")")
	}
}

// phaseOf is Argo Rollouts' phase and message for a status, so Argo CD's
// health check and the kubectl plugin read Sluice's Rollouts right.
func phaseOf(ro *rolloutsv1alpha1.Rollout, st *rolloutsv1alpha1.RolloutStatus) (rolloutsv1alpha1.RolloutPhase, string) {
	for _, c := range st.Conditions {
		if c.Type == rolloutsv1alpha1.InvalidSpec && c.Status == corev1.ConditionTrue {
			return rolloutsv1alpha1.RolloutPhaseDegraded, "InvalidSpec: " + c.Message
		}
		if c.Type == rolloutsv1alpha1.RolloutProgressing && (c.Reason == reasonAborted || c.Reason == "ProgressDeadlineExceeded") {
			return rolloutsv1alpha1.RolloutPhaseDegraded, c.Reason + ": " + c.Message
		}
	}
	switch {
	case ro.Spec.Paused:
		return rolloutsv1alpha1.RolloutPhasePaused, "manually paused"
	case len(st.PauseConditions) > 0:
		return rolloutsv1alpha1.RolloutPhasePaused, string(st.PauseConditions[0].Reason)
	case ro.Spec.RestartAt != nil && (st.RestartedAt == nil || !st.RestartedAt.Equal(ro.Spec.RestartAt)):
		return rolloutsv1alpha1.RolloutPhaseProgressing, "rollout is restarting"
	case st.UpdatedReplicas < replicasOf(ro):
		return rolloutsv1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	case st.AvailableReplicas < st.UpdatedReplicas:
		return rolloutsv1alpha1.RolloutPhaseProgressing, "updated replicas are still becoming available"
	case ro.Spec.Strategy.BlueGreen != nil:
		return blueGreenPhase(ro, st)
	case st.Replicas > st.UpdatedReplicas:
		return rolloutsv1alpha1.RolloutPhaseProgressing, "old replicas are pending termination"
	case st.StableRS == "" || st.StableRS != st.CurrentPodHash:
		return rolloutsv1alpha1.RolloutPhaseProgressing, "waiting for all steps to complete"
	}
	return rolloutsv1alpha1.RolloutPhaseHealthy, ""
}

// setCondition sets a condition, keeping its timestamps when nothing about
// it changed, so a reconcile with nothing to do writes nothing.
func (p *planner) setCondition(t rolloutsv1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, message string) {
	now := metav1.Time{Time: p.now}
	if c := findCondition(&p.status, t); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == message {
			return
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message, c.LastUpdateTime = status, reason, message, now
		return
	}
	p.status.Conditions = append(p.status.Conditions, rolloutsv1alpha1.RolloutCondition{
		Type: t, Status: status, Reason: reason, Message: message, LastUpdateTime: now, LastTransitionTime: now,
	})
}

func findCondition(st *rolloutsv1alpha1.RolloutStatus, t rolloutsv1alpha1.RolloutConditionType) *rolloutsv1alpha1.RolloutCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func hasCondition(st *rolloutsv1alpha1.RolloutStatus, t rolloutsv1alpha1.RolloutConditionType) bool {
	return findCondition(st, t) != nil
}

func removeCondition(st *rolloutsv1alpha1.RolloutStatus, t rolloutsv1alpha1.RolloutConditionType) {
	kept := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
}

func (p *planner) pauseCondition(reason rolloutsv1alpha1.PauseReason) *rolloutsv1alpha1.PauseCondition {
	for i := range p.status.PauseConditions {
		if p.status.PauseConditions[i].Reason == reason {
			return &p.status.PauseConditions[i]
		}
	}
	return nil
}

func (p *planner) removePauseCondition(reason rolloutsv1alpha1.PauseReason) {
	var kept []rolloutsv1alpha1.PauseCondition
	for _, c := range p.status.PauseConditions {
		if c.Reason != reason {
			kept = append(kept, c)
		}
	}
	p.status.PauseConditions = kept
}

func (p *planner) event(warning bool, reason, message string) {
	p.result.Events = append(p.result.Events, Event{Warning: warning, Reason: reason, Message: message})
}

func (p *planner) requeueAfter(d time.Duration) {
	if p.result.RequeueAfter == 0 || d < p.result.RequeueAfter {
		p.result.RequeueAfter = d
	}
}

func itoa64(n int64) string { return fmt.Sprint(n) }

// checkProgressDeadline marks a rollout that made no progress for
// progressDeadlineSeconds as timed out, and aborts it with
// progressDeadlineAbort. The deadline watches every Rollout that is not
// healthy yet, a first deploy included, as in Argo; not time spent paused
// (resuming starts the Progressing condition, and so the clock, anew), nor
// waiting at an analysis or for old pods kept by a scale-down delay.
//
// Progress is what Argo counts: pods of the current revision created or
// deleted, old pods gone, more pods ready or available; and every step.
// It is measured without a status write per pod: pod counters ride along
// with other writes while a rollout progresses (see StatusNeedsWrite), so
// progress is what moved since the last write, and it moves the
// Progressing condition's lastUpdateTime at most every quarter of the
// deadline. A stuck rollout times out at most a quarter of the deadline
// after Argo's would, a slow but moving one never does, and a quick one
// costs no write at all.
func (p *planner) checkProgressDeadline(promoted bool) {
	st := &p.status
	cond := findCondition(st, rolloutsv1alpha1.RolloutProgressing)
	if st.Abort || p.ro.Spec.Paused || len(st.PauseConditions) > 0 || cond == nil ||
		(cond.Reason != reasonReplicaSetUpdated && cond.Reason != reasonTimedOut) ||
		p.healthy(promoted, p.podCounters()) || p.waitingOnAnalysis() || p.waitingOnScaleDown() {
		return
	}
	deadline := defaultProgressDeadline
	if p.ro.Spec.ProgressDeadlineSeconds != nil {
		deadline = time.Duration(*p.ro.Spec.ProgressDeadlineSeconds) * time.Second
	}
	quarter := deadline / 4
	moved := p.countersMoved()
	elapsed := p.now.Sub(cond.LastUpdateTime.Time)
	switch {
	case cond.Reason == reasonTimedOut:
		p.timedOut = !moved // progress after a timeout recovers
	case moved && elapsed >= quarter:
		p.progressed = true
		p.requeueAfter(deadline)
	case moved:
		p.requeueAfter(quarter - elapsed) // then the progress is recorded
	case elapsed < deadline:
		p.requeueAfter(deadline - elapsed)
	default:
		p.timedOut = true
		p.event(true, reasonTimedOut, fmt.Sprintf("ReplicaSet %q has timed out progressing.", p.ro.Name+"-"+p.hash))
	}
	// As in Argo, a timed-out update aborts with progressDeadlineAbort,
	// also when the flag is set after the timeout; a first deploy, or a
	// promoted revision whose pods went away, has nothing to go back to.
	if p.timedOut && p.ro.Spec.ProgressDeadlineAbort && !promoted {
		st.Abort = true
	}
}

// healthy is Argo's "rollout healthy": every pod of the current revision,
// promoted, is up and available, and the strategy is done: a blue-green
// active Service selects it; a canary has no old pods left.
func (p *planner) healthy(promoted bool, c podCounters) bool {
	replicas := replicasOf(p.ro)
	if !promoted || c.updated < replicas || c.available < replicas {
		return false
	}
	if p.ro.Spec.Strategy.BlueGreen != nil {
		return p.status.BlueGreen.ActiveSelector == p.hash
	}
	return c.replicas == c.updated
}

// countersMoved reports whether the pods progressed since the last status
// write, as Argo counts progress: pods of the current revision created or
// removed, old pods gone, more pods ready or available.
func (p *planner) countersMoved() bool {
	old, c := p.ro.Status, p.podCounters()
	return c.updated != old.UpdatedReplicas || c.replicas-c.updated < old.Replicas-old.UpdatedReplicas ||
		c.ready > old.ReadyReplicas || c.available > old.AvailableReplicas
}

// waitingOnScaleDown reports whether an old ReplicaSet keeps its pods for a
// scale-down delay: those pods are not a lack of progress.
func (p *planner) waitingOnScaleDown() bool {
	for _, rs := range p.others {
		if p.planned[rs.Name] > 0 && rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] != "" {
			return true
		}
	}
	for _, a := range p.result.Actions {
		if d, ok := a.(SetScaleDownDeadline); ok && d.Deadline != "" {
			return true
		}
	}
	return false
}

// podCounters are the status's pod counters: every pod of the Rollout,
// those of the current revision (updated), and ready and available ones.
// As in Argo, a blue-green Rollout counts ready and available pods (and
// its HorizontalPodAutoscaler's replicas) of the revision the active
// Service selects only.
type podCounters struct {
	replicas, updated, ready, available, hpa int32
}

func (p *planner) podCounters() podCounters {
	var c podCounters
	for _, rs := range p.obs.ReplicaSets {
		c.replicas += rs.Status.Replicas
		c.ready += rs.Status.ReadyReplicas
		c.available += rs.Status.AvailableReplicas
		if rs == p.current {
			c.updated = rs.Status.Replicas
		}
	}
	c.hpa = c.replicas
	if active := p.activeReplicaSet(); active != nil {
		c.hpa, c.ready, c.available = active.Status.Replicas, active.Status.ReadyReplicas, active.Status.AvailableReplicas
	}
	return c
}

// reasonTimedOut is Argo's reason for a rollout past its progress deadline.
const reasonTimedOut = "ProgressDeadlineExceeded"

// defaultProgressDeadline is how long a rollout may make no progress before
// it is Degraded, as in Argo Rollouts.
const defaultProgressDeadline = 600 * time.Second

// waitingOnAnalysis reports whether the rollout waits at an analysis step
// or for a blue-green analysis: the analysis has its own limits, and
// waiting for it is not a lack of progress.
func (p *planner) waitingOnAnalysis() bool {
	steps, index := p.steps(), p.stepIndex()
	// An experiment step waits on its Experiment, which has a progress
	// deadline of its own for its pods.
	return p.gateRunning || (index < int32(len(steps)) && (steps[index].Analysis != nil || steps[index].Experiment != nil))
}
