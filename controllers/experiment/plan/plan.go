// Package plan decides what an Experiment's controller does next. Like the
// Rollout planner it is pure: a function from what was observed (the
// Experiment, the ReplicaSets, Services and AnalysisRuns it owns, the
// analysis templates it names, and the time) to an ordered list of
// actions, the complete new status, the events worth telling a person and
// when to look again. No client, no context, no logger.
//
// The rules are Argo Rollouts' (its experiments package): one ReplicaSet
// per template, named `<experiment>-<template>`, that counts as available
// once every pod is; `status.availableAt` once all templates run; the
// analyses start from then on; `duration` counts from then; a failed,
// errored or inconclusive analysis, a template past its progress deadline
// or `spec.terminate` ends the experiment, and its ReplicaSets scale to
// zero after `scaleDownDelaySeconds`.
package plan

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults Argo applies to an Experiment's optional fields.
const (
	// DefaultProgressDeadlineSeconds bounds how long a template may take to
	// have all its pods available.
	DefaultProgressDeadlineSeconds = 600
	// DefaultScaleDownDelaySeconds is how long a finished experiment's pods
	// keep running, so routers and endpoints have let go of them first.
	DefaultScaleDownDelaySeconds = 30
)

// Observation is everything the planner reads.
type Observation struct {
	Experiment *rolloutsv1alpha1.Experiment
	// ReplicaSets are those the Experiment controls, in any order; one is a
	// template's when its annotations name the experiment and the template.
	ReplicaSets []*appsv1.ReplicaSet
	// Services are the Services the templates' service fields name, found
	// by name whoever owns them: one another object owns is a conflict the
	// planner reports rather than a Service to create.
	Services []*corev1.Service
	// AnalysisRuns are those the Experiment controls.
	AnalysisRuns []*rolloutsv1alpha1.AnalysisRun
	// MissingRuns are runs status names that were read around the cache
	// and are gone, or are not the Experiment's.
	MissingRuns []string
	// Templates and ClusterTemplates are the analysis templates the
	// analyses name, by name; a name missing was not found.
	Templates        map[string]*rolloutsv1alpha1.AnalysisTemplate
	ClusterTemplates map[string]*rolloutsv1alpha1.ClusterAnalysisTemplate
	Now              time.Time
}

// Result is the plan: actions to execute in order, then the status to write.
type Result struct {
	Actions []Action
	// Status is the complete new status; the controller writes it only when
	// it differs from the observed one.
	Status rolloutsv1alpha1.ExperimentStatus
	Events []Event
	// RequeueAfter, when not zero, is when a timer runs out: the duration,
	// a template's progress deadline, a scale-down delay.
	RequeueAfter time.Duration
}

// Event is a Kubernetes event to record on the Experiment.
type Event struct {
	Warning bool
	Reason  string
	Message string
}

// Action is one write the controller makes.
type Action interface {
	String() string
}

// CreateReplicaSet creates a template's ReplicaSet.
type CreateReplicaSet struct{ ReplicaSet *appsv1.ReplicaSet }

// ScaleReplicaSet sets a ReplicaSet's spec.replicas.
type ScaleReplicaSet struct {
	Name     string
	From, To int32
}

// SetScaleDownDeadline sets Argo's scale-down-deadline annotation on a
// ReplicaSet (RFC 3339), or removes it when Deadline is empty.
type SetScaleDownDeadline struct {
	Name     string
	Deadline string
}

// CreateService creates a template's Service.
type CreateService struct{ Service *corev1.Service }

// DeleteService removes a template's Service once its pods are gone.
type DeleteService struct{ Name string }

// CreateAnalysisRun creates an analysis' run.
type CreateAnalysisRun struct{ Run *rolloutsv1alpha1.AnalysisRun }

// TerminateAnalysisRun stops a run of an experiment that has ended.
type TerminateAnalysisRun struct{ Name string }

func (a CreateReplicaSet) String() string {
	return fmt.Sprintf("create ReplicaSet %s with %d replicas", a.ReplicaSet.Name, *a.ReplicaSet.Spec.Replicas)
}
func (a ScaleReplicaSet) String() string {
	return fmt.Sprintf("scale ReplicaSet %s from %d to %d", a.Name, a.From, a.To)
}
func (a SetScaleDownDeadline) String() string {
	if a.Deadline == "" {
		return "remove the scale-down deadline of ReplicaSet " + a.Name
	}
	return "set the scale-down deadline of ReplicaSet " + a.Name + " to " + a.Deadline
}
func (a CreateService) String() string        { return "create Service " + a.Service.Name }
func (a DeleteService) String() string        { return "delete Service " + a.Name }
func (a CreateAnalysisRun) String() string    { return "create AnalysisRun " + a.Run.Name }
func (a TerminateAnalysisRun) String() string { return "terminate AnalysisRun " + a.Name }

// Kind is the Experiment's group, version and kind, for owner references.
var Kind = rolloutsv1alpha1.SchemeGroupVersion.WithKind("Experiment")

// planner holds one pass's working state.
type planner struct {
	obs Observation
	ex  *rolloutsv1alpha1.Experiment
	// status is the new status being built, from a copy of the observed.
	status rolloutsv1alpha1.ExperimentStatus
	// stamp is now, to the second, as status timestamps are stored: a
	// plan made again from what it wrote compares equal.
	stamp metav1.Time
	// terminating is decided once, from the observed status, as Argo does:
	// an experiment that ended, failed, or was told to stop.
	terminating bool
	replicaSets map[string]*appsv1.ReplicaSet
	result      Result
}

// Plan decides one pass for an Experiment.
func Plan(obs Observation) Result {
	p := &planner{
		obs:    obs,
		ex:     obs.Experiment,
		status: *obs.Experiment.Status.DeepCopy(),
		stamp:  metav1.NewTime(obs.Now.Truncate(time.Second)),
	}
	if msg := validate(p.ex); msg != "" {
		// Argo writes the condition and nothing else: no ReplicaSet is
		// made or scaled for a spec it cannot read.
		p.setInvalidSpec(msg)
		p.result.Status = p.status
		return p.result
	}
	removeCondition(&p.status, rolloutsv1alpha1.InvalidExperimentSpec)
	p.terminating = IsTerminating(p.ex.Spec, &p.ex.Status)
	p.replicaSets = templateReplicaSets(p.ex, obs.ReplicaSets)
	for i := range p.ex.Spec.Templates {
		p.template(&p.ex.Spec.Templates[i])
	}
	for i := range p.ex.Spec.Analyses {
		p.analysis(&p.ex.Spec.Analyses[i])
	}
	p.phase()
	p.conditions()
	p.requeue()
	if p.status.Phase != p.ex.Status.Phase {
		warning := false
		switch p.status.Phase {
		case rolloutsv1alpha1.AnalysisPhaseError, rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseInconclusive:
			warning = true
		}
		p.event(warning, "Experiment"+string(p.status.Phase),
			fmt.Sprintf("Experiment transitioned from %s -> %s", p.ex.Status.Phase, p.status.Phase))
	}
	p.result.Status = p.status
	return p.result
}

func (p *planner) act(a Action) { p.result.Actions = append(p.result.Actions, a) }

func (p *planner) event(warning bool, reason, message string) {
	p.result.Events = append(p.result.Events, Event{Warning: warning, Reason: reason, Message: message})
}

// requeueIn asks to look again after d, keeping the soonest of all asks.
func (p *planner) requeueIn(d time.Duration) {
	if d <= 0 {
		d = time.Second
	}
	if p.result.RequeueAfter == 0 || d < p.result.RequeueAfter {
		p.result.RequeueAfter = d
	}
}

// HasFinished reports whether an experiment's phase is a final one.
func HasFinished(ex *rolloutsv1alpha1.Experiment) bool { return ex.Status.Phase.Completed() }

// IsTerminating reports whether an experiment with this spec and status is
// winding down: it was told to stop, it finished, a template failed or
// errored, an analysis failed, errored or was inconclusive, or every
// analysis required for completion succeeded.
func IsTerminating(spec rolloutsv1alpha1.ExperimentSpec, status *rolloutsv1alpha1.ExperimentStatus) bool {
	if spec.Terminate || status.Phase.Completed() {
		return true
	}
	for _, ts := range status.TemplateStatuses {
		switch ts.Status {
		case rolloutsv1alpha1.TemplateStatusFailed, rolloutsv1alpha1.TemplateStatusError:
			return true
		}
	}
	for _, run := range status.AnalysisRuns {
		switch run.Phase {
		case rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseError, rolloutsv1alpha1.AnalysisPhaseInconclusive:
			return true
		}
	}
	return requiredAnalysesSucceeded(spec, status)
}

// requiredAnalysesSucceeded reports whether there is at least one analysis
// required for completion and all of them succeeded.
func requiredAnalysesSucceeded(spec rolloutsv1alpha1.ExperimentSpec, status *rolloutsv1alpha1.ExperimentStatus) bool {
	required := false
	for _, a := range spec.Analyses {
		if !a.RequiredForCompletion {
			continue
		}
		required = true
		if st := analysisStatus(status, a.Name); st == nil || st.Phase != rolloutsv1alpha1.AnalysisPhaseSuccessful {
			return false
		}
	}
	return required
}

func hasRequiredAnalyses(spec rolloutsv1alpha1.ExperimentSpec) bool {
	for _, a := range spec.Analyses {
		if a.RequiredForCompletion {
			return true
		}
	}
	return false
}

// passedDuration reports whether the experiment ran for its duration since
// it became available, and how long is left when not.
func passedDuration(ex *rolloutsv1alpha1.Experiment, now time.Time) (bool, time.Duration) {
	if ex.Spec.Duration == "" || ex.Status.AvailableAt == nil {
		return false, 0
	}
	d, err := ex.Spec.Duration.Duration()
	if err != nil {
		return false, 0 // refused as InvalidSpec before planning
	}
	end := ex.Status.AvailableAt.Add(d)
	return now.After(end), end.Sub(now)
}

// desiredReplicas is how many pods a template should have now: none once
// the experiment winds down or the template finished, else its replicas
// (one by default).
func (p *planner) desiredReplicas(t *rolloutsv1alpha1.TemplateSpec) int32 {
	if p.terminating {
		return 0
	}
	if ts := templateStatus(&p.ex.Status, t.Name); ts != nil && ts.Status.Completed() {
		return 0
	}
	return replicasOf(t)
}

func replicasOf(t *rolloutsv1alpha1.TemplateSpec) int32 {
	if t.Replicas != nil {
		return *t.Replicas
	}
	return 1
}

func progressDeadline(ex *rolloutsv1alpha1.Experiment) time.Duration {
	seconds := int32(DefaultProgressDeadlineSeconds)
	if ex.Spec.ProgressDeadlineSeconds != nil {
		seconds = *ex.Spec.ProgressDeadlineSeconds
	}
	return time.Duration(seconds) * time.Second
}

func scaleDownDelay(ex *rolloutsv1alpha1.Experiment) time.Duration {
	seconds := int32(DefaultScaleDownDelaySeconds)
	if ex.Spec.ScaleDownDelaySeconds != nil {
		seconds = *ex.Spec.ScaleDownDelaySeconds
	}
	return time.Duration(seconds) * time.Second
}

func templateStatus(st *rolloutsv1alpha1.ExperimentStatus, name string) *rolloutsv1alpha1.TemplateStatus {
	for i := range st.TemplateStatuses {
		if st.TemplateStatuses[i].Name == name {
			return &st.TemplateStatuses[i]
		}
	}
	return nil
}

func setTemplateStatus(st *rolloutsv1alpha1.ExperimentStatus, ts rolloutsv1alpha1.TemplateStatus) {
	if cur := templateStatus(st, ts.Name); cur != nil {
		*cur = ts
		return
	}
	st.TemplateStatuses = append(st.TemplateStatuses, ts)
}

func analysisStatus(st *rolloutsv1alpha1.ExperimentStatus, name string) *rolloutsv1alpha1.ExperimentAnalysisRunStatus {
	for i := range st.AnalysisRuns {
		if st.AnalysisRuns[i].Name == name {
			return &st.AnalysisRuns[i]
		}
	}
	return nil
}

func setAnalysisStatus(st *rolloutsv1alpha1.ExperimentStatus, as rolloutsv1alpha1.ExperimentAnalysisRunStatus) {
	if cur := analysisStatus(st, as.Name); cur != nil {
		*cur = as
		return
	}
	st.AnalysisRuns = append(st.AnalysisRuns, as)
}
