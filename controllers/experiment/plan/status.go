package plan

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// Condition reasons, with Argo's names.
const (
	reasonInvalidSpec       = "InvalidSpec"
	reasonReplicaSetUpdated = "ReplicaSetUpdated"
	reasonNewRSAvailable    = "NewReplicaSetAvailable"
	reasonCompleted         = "ExperimentCompleted"
)

// phase sets status.phase and message from the templates and analyses, by
// Argo's rules:
//
//   - a new experiment is Pending;
//   - while Pending or Running: availableAt is set the first time every
//     template runs; once the templates finished, a successful run defers
//     to the analyses (when they finished, or some are required), and a
//     failed one gives its own phase; while they run, a failed, errored or
//     inconclusive analysis ends the experiment with that phase, and the
//     required analyses all succeeding ends it Successful; otherwise the
//     templates decide (Pending while progressing, then Running);
//   - a finished experiment keeps its phase.
func (p *planner) phase() {
	st := &p.status
	switch st.Phase {
	case "":
		st.Phase = rolloutsv1alpha1.AnalysisPhasePending
	case rolloutsv1alpha1.AnalysisPhasePending, rolloutsv1alpha1.AnalysisPhaseRunning:
		templates, templatesMessage := p.assessTemplates()
		analyses, analysesMessage := p.assessAnalyses()
		if templates == rolloutsv1alpha1.AnalysisPhaseRunning && st.AvailableAt == nil {
			st.AvailableAt = &p.stamp
		}
		switch {
		case templates.Completed():
			if templates == rolloutsv1alpha1.AnalysisPhaseSuccessful && (analyses.Completed() || hasRequiredAnalyses(p.ex.Spec)) {
				st.Phase, st.Message = analyses, analysesMessage
			} else {
				st.Phase, st.Message = templates, templatesMessage
			}
		case analyses.Completed() && analyses != rolloutsv1alpha1.AnalysisPhaseSuccessful,
			requiredAnalysesSucceeded(p.ex.Spec, st):
			st.Phase, st.Message = analyses, analysesMessage
		default:
			st.Phase, st.Message = templates, templatesMessage
		}
	}
}

// templateOrder ranks template statuses from best to worst, as Argo does;
// a status not listed ranks as the best.
var templateOrder = []rolloutsv1alpha1.TemplateStatusCode{
	rolloutsv1alpha1.TemplateStatusSuccessful,
	rolloutsv1alpha1.TemplateStatusRunning,
	rolloutsv1alpha1.TemplateStatusProgressing,
	rolloutsv1alpha1.TemplateStatusError,
	rolloutsv1alpha1.TemplateStatusFailed,
}

func templateRank(code rolloutsv1alpha1.TemplateStatusCode) int {
	for i, c := range templateOrder {
		if c == code {
			return i
		}
	}
	return 0
}

// assessTemplates returns the worst template status as an experiment
// phase (Progressing reads Pending), with that template's message.
func (p *planner) assessTemplates() (rolloutsv1alpha1.AnalysisPhase, string) {
	worst, message := rolloutsv1alpha1.TemplateStatusSuccessful, ""
	for _, t := range p.ex.Spec.Templates {
		ts := templateStatus(&p.status, t.Name)
		code := rolloutsv1alpha1.TemplateStatusProgressing
		if ts != nil {
			code = ts.Status
		}
		if templateRank(code) > templateRank(worst) {
			worst = code
			if ts != nil {
				message = ts.Message
			}
		}
	}
	switch worst {
	case rolloutsv1alpha1.TemplateStatusProgressing:
		return rolloutsv1alpha1.AnalysisPhasePending, message
	case rolloutsv1alpha1.TemplateStatusFailed:
		return rolloutsv1alpha1.AnalysisPhaseFailed, message
	case rolloutsv1alpha1.TemplateStatusError:
		return rolloutsv1alpha1.AnalysisPhaseError, message
	case rolloutsv1alpha1.TemplateStatusSuccessful:
		return rolloutsv1alpha1.AnalysisPhaseSuccessful, message
	}
	return rolloutsv1alpha1.AnalysisPhaseRunning, message
}

// conditions keeps the Progressing condition as Argo does: False with
// ExperimentCompleted once Successful; True with ReplicaSetUpdated when a
// template's counts moved (its update time following each move); True with
// NewReplicaSetAvailable while running within the duration.
func (p *planner) conditions() {
	st := &p.status
	switch {
	case st.Phase == rolloutsv1alpha1.AnalysisPhaseSuccessful:
		p.setCondition(corev1.ConditionFalse, reasonCompleted, fmt.Sprintf("Experiment %q has successfully ran and completed.", p.ex.Name))
	case p.templatesMoved():
		cond := rolloutsv1alpha1.ExperimentCondition{
			Type: rolloutsv1alpha1.ExperimentProgressing, Status: corev1.ConditionTrue, Reason: reasonReplicaSetUpdated,
			Message:        fmt.Sprintf("Experiment %q is progressing.", p.ex.Name),
			LastUpdateTime: p.stamp, LastTransitionTime: p.stamp,
		}
		if cur := condition(&p.ex.Status, rolloutsv1alpha1.ExperimentProgressing); cur != nil && cur.Status == corev1.ConditionTrue {
			cond.LastTransitionTime = cur.LastTransitionTime
		}
		removeCondition(st, rolloutsv1alpha1.ExperimentProgressing)
		st.Conditions = append(st.Conditions, cond)
	default:
		if passed, _ := passedDuration(p.ex, p.obs.Now); p.ex.Status.AvailableAt != nil && !passed {
			p.setCondition(corev1.ConditionTrue, reasonNewRSAvailable, fmt.Sprintf("Experiment %q is running.", p.ex.Name))
		}
	}
}

// templatesMoved reports whether a template appeared or its counts changed
// since the observed status.
func (p *planner) templatesMoved() bool {
	if len(p.status.TemplateStatuses) > len(p.ex.Status.TemplateStatuses) {
		return true
	}
	for _, old := range p.ex.Status.TemplateStatuses {
		cur := templateStatus(&p.status, old.Name)
		if cur == nil {
			continue
		}
		if old.Replicas != cur.Replicas || old.UpdatedReplicas != cur.UpdatedReplicas ||
			old.ReadyReplicas != cur.ReadyReplicas || old.AvailableReplicas != cur.AvailableReplicas {
			return true
		}
	}
	return false
}

// setCondition sets the Progressing condition unless it already has this
// status and reason; the transition time stays while the status does.
func (p *planner) setCondition(status corev1.ConditionStatus, reason, message string) {
	cur := condition(&p.status, rolloutsv1alpha1.ExperimentProgressing)
	if cur != nil && cur.Status == status && cur.Reason == reason {
		return
	}
	cond := rolloutsv1alpha1.ExperimentCondition{
		Type: rolloutsv1alpha1.ExperimentProgressing, Status: status, Reason: reason, Message: message,
		LastUpdateTime: p.stamp, LastTransitionTime: p.stamp,
	}
	if cur != nil && cur.Status == status {
		cond.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(&p.status, rolloutsv1alpha1.ExperimentProgressing)
	p.status.Conditions = append(p.status.Conditions, cond)
}

func condition(st *rolloutsv1alpha1.ExperimentStatus, t rolloutsv1alpha1.ExperimentConditionType) *rolloutsv1alpha1.ExperimentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func removeCondition(st *rolloutsv1alpha1.ExperimentStatus, t rolloutsv1alpha1.ExperimentConditionType) {
	var kept []rolloutsv1alpha1.ExperimentCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
}

// requeue asks to look again when a timer of the new status runs out: the
// duration since availableAt, or the progress deadline of a template still
// short of its pods. An experiment winding down has only its scale-down
// delays, which scaleTo asked for.
func (p *planner) requeue() {
	ex := p.ex.DeepCopy()
	ex.Status = *p.status.DeepCopy()
	if IsTerminating(ex.Spec, &ex.Status) {
		return
	}
	if passed, left := passedDuration(ex, p.obs.Now); ex.Status.AvailableAt != nil && ex.Spec.Duration != "" && !passed {
		// One second past the end: the duration has passed only after it.
		p.requeueIn(left + time.Second)
	}
	for _, t := range ex.Spec.Templates {
		ts := templateStatus(&ex.Status, t.Name)
		if ts == nil || ts.LastTransitionTime == nil ||
			(ts.Status != rolloutsv1alpha1.TemplateStatusProgressing && ts.Status != rolloutsv1alpha1.TemplateStatusRunning) {
			continue
		}
		if ts.AvailableReplicas != replicasOf(&t) {
			p.requeueIn(ts.LastTransitionTime.Add(progressDeadline(ex)).Sub(p.obs.Now) + time.Second)
		}
	}
}
