package plan

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sluicehq/sluice/internal/fieldref"
	"github.com/sluicehq/sluice/internal/instance/inherit"
)

// CreateAnalysisRun creates the AnalysisRun of an analysis step.
type CreateAnalysisRun struct {
	Run *rolloutsv1alpha1.AnalysisRun
}

func (a CreateAnalysisRun) String() string { return "create AnalysisRun " + a.Run.Name }

// SupersededAnnotation marks an AnalysisRun of an attempt a person retried
// after (kubectl argo rollouts retry): its result no longer decides
// anything, and the analysis runs again as a new run, named with a counter
// as Argo names them (`-1.1`, `-pre.1`). The run itself is kept, so what
// went wrong stays on record.
const SupersededAnnotation = "rollouts.sluice.dev/superseded-by-retry"

// SupersedeAnalysisRun marks a run with SupersededAnnotation.
type SupersedeAnalysisRun struct {
	Name string
}

func (a SupersedeAnalysisRun) String() string {
	return "mark AnalysisRun " + a.Name + " superseded by a retry"
}

// ofCurrentAttempt reports whether a run or an Experiment decides anything
// for the current revision: it is of this revision's template and number (a
// template rolled back to gets a new number, and its old runs count no
// more), and no retry superseded it.
func (p *planner) ofCurrentAttempt(obj metav1.Object) bool {
	return obj.GetLabels()[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == p.hash &&
		obj.GetAnnotations()[RevisionAnnotation] == strconv.FormatInt(p.revision, 10) && !superseded(obj)
}

// ofStep reports whether a run or an Experiment is of step index of the
// current attempt.
func (p *planner) ofStep(obj metav1.Object, index int32) bool {
	return p.ofCurrentAttempt(obj) && obj.GetLabels()[rolloutsv1alpha1.RolloutCanaryStepIndexLabel] == strconv.Itoa(int(index))
}

// superseded reports whether a run or an Experiment belongs to an attempt
// retried since.
func superseded(obj metav1.Object) bool {
	return obj.GetAnnotations()[SupersededAnnotation] == "true"
}

// retryActions marks the finished runs and Experiments of the current
// revision superseded when a person has just retried an aborted rollout
// (status.abort cleared, status.abortedAt still set), so the steps run new
// ones. The planner plans nothing else until the marks show, so no pass can
// mistake an old failure for a new one.
func retryActions(obs Observation) []Action {
	st := obs.Rollout.Status
	if st.Abort || st.AbortedAt == nil {
		return nil
	}
	retried := func(obj metav1.Object, finished bool) bool {
		return finished && obj.GetLabels()[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == st.CurrentPodHash && !superseded(obj)
	}
	var actions []Action
	for _, run := range obs.AnalysisRuns {
		if retried(run, run.Status.Phase.Completed() || run.Spec.Terminate) {
			actions = append(actions, SupersedeAnalysisRun{Name: run.Name})
		}
	}
	for _, ex := range obs.Experiments {
		if retried(ex, ex.Status.Phase.Completed() || ex.Spec.Terminate) {
			actions = append(actions, SupersedeExperiment{Name: ex.Name})
		}
	}
	return actions
}

// TerminateAnalysisRun stops a run whose result no longer matters: its
// revision was aborted or replaced, or the rollout moved past its step.
type TerminateAnalysisRun struct {
	Name string
}

func (a TerminateAnalysisRun) String() string { return "terminate AnalysisRun " + a.Name }

// stepRun builds the AnalysisRun of analysis step index for the current
// revision: the templates' metrics, dryRun and retention merged, their
// arguments given values by the step (a podTemplateHashValue resolves to the
// stable or the current revision's hash, a fieldRef to a field of the
// Rollout), and Argo's labels, so the kubectl
// plugin and Argo's tools recognise it (`<rollout>-<hash>-<revision>-<step>`).
func (p *planner) newStepRun(index int32, step *rolloutsv1alpha1.RolloutAnalysis) *rolloutsv1alpha1.AnalysisRun {
	return p.newRun(step, strconv.Itoa(int(index)), map[string]string{
		rolloutsv1alpha1.RolloutTypeLabel:            rolloutsv1alpha1.RolloutTypeStepLabel,
		rolloutsv1alpha1.RolloutCanaryStepIndexLabel: strconv.Itoa(int(index)),
	})
}

// newBackgroundRun builds the run of canary.analysis, which runs beside the
// steps: `<rollout>-<hash>-<revision>`, labelled rollout-type=Background.
func (p *planner) newBackgroundRun(analysis *rolloutsv1alpha1.RolloutAnalysis) *rolloutsv1alpha1.AnalysisRun {
	return p.newRun(analysis, "", map[string]string{
		rolloutsv1alpha1.RolloutTypeLabel: rolloutsv1alpha1.RolloutTypeBackgroundRunLabel,
	})
}

// newRun builds an AnalysisRun for the current revision, named
// `<rollout>-<hash>-<revision>[-<infix>]` as Argo names them.
func (p *planner) newRun(step *rolloutsv1alpha1.RolloutAnalysis, infix string, labels map[string]string) *rolloutsv1alpha1.AnalysisRun {
	spec, _ := analysisSpec(p.obs, step, field.NewPath("")) // validated
	name := p.freeRunName(infix)
	labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] = p.hash
	run := &rolloutsv1alpha1.AnalysisRun{ObjectMeta: p.revisionMeta(name, labels)}
	if md := step.AnalysisRunMetadata; md != nil {
		for k, v := range md.Labels {
			run.Labels[k] = v
		}
		for k, v := range md.Annotations {
			run.Annotations[k] = v
		}
	}
	// The run belongs to the Rollout's controller instance, as in Argo
	// (which copies the Rollout's label), and to its shard, whatever
	// analysisRunMetadata says: a run labelled for another instance or
	// shard would be measured by another manager, or none, and this
	// Rollout's manager would never see it.
	run.Labels = inherit.Shard(p.ro.Labels, inherit.Instance(p.ro.Labels, run.Labels))
	// The step's dryRun and measurementRetention add to the templates'.
	spec.DryRun = append(spec.DryRun, step.DryRun...)
	spec.MeasurementRetention = append(spec.MeasurementRetention, step.MeasurementRetention...)
	run.Spec.Metrics, run.Spec.DryRun, run.Spec.MeasurementRetention = spec.Metrics, spec.DryRun, spec.MeasurementRetention
	// The step's arguments give the templates' theirs values.
	run.Spec.Args = spec.Args
	args := map[string]int{}
	for i, arg := range run.Spec.Args {
		args[arg.Name] = i
	}
	for _, arg := range step.Args {
		value := p.argumentValue(arg)
		resolved := rolloutsv1alpha1.Argument{Name: arg.Name, Value: &value}
		if i, ok := args[arg.Name]; ok {
			run.Spec.Args[i] = resolved
		} else {
			run.Spec.Args = append(run.Spec.Args, resolved)
		}
	}
	return run
}

// argumentValue is the value a step gives an argument of its analysis: its
// own value, or a podTemplateHashValue's hash (the stable or the current
// revision's), or a fieldRef's field of the Rollout.
func (p *planner) argumentValue(arg rolloutsv1alpha1.AnalysisRunArgument) string {
	switch {
	case arg.ValueFrom != nil && arg.ValueFrom.PodTemplateHashValue != nil:
		if *arg.ValueFrom.PodTemplateHashValue == rolloutsv1alpha1.Stable {
			return p.status.StableRS
		}
		return p.hash
	case arg.ValueFrom != nil && arg.ValueFrom.FieldRef != nil:
		value, _ := fieldref.Value(p.ro, arg.ValueFrom.FieldRef.FieldPath) // validated
		return value
	}
	return arg.Value
}

// freeRunName names a new run of the current revision with the given
// infix: `<rollout>-<hash>-<revision>[-<infix>]`, or, when a superseded
// attempt holds that name, the same with `.1`, `.2`, ... Asked again before
// the new run shows in the cache, it gives the same name, so the create is
// idempotent.
func (p *planner) freeRunName(infix string) string {
	base := fmt.Sprintf("%s-%s-%d", p.ro.Name, p.hash, p.revision)
	if infix != "" {
		base += "-" + infix
	}
	name := base
	for attempt := 1; p.supersededRun(name); attempt++ {
		name = base + "." + strconv.Itoa(attempt)
	}
	return name
}

func (p *planner) supersededRun(name string) bool {
	for _, run := range p.obs.AnalysisRuns {
		if run.Name == name {
			return superseded(run)
		}
	}
	return false
}

// terminateStaleRuns stops the runs still running that no longer decide
// anything: of another revision, of a step the rollout is not at, a
// background run once the revision is promoted, or any run of an aborted
// rollout.
func (p *planner) terminateStaleRuns(promoted bool) {
	index := p.stepIndex()
	for _, run := range p.obs.AnalysisRuns {
		if run.Spec.Terminate || run.Status.Phase.Completed() {
			continue
		}
		current := p.ofCurrentAttempt(run)
		switch run.Labels[rolloutsv1alpha1.RolloutTypeLabel] {
		case rolloutsv1alpha1.RolloutTypeStepLabel:
			current = p.ofStep(run, index)
		case rolloutsv1alpha1.RolloutTypeBackgroundRunLabel, rolloutsv1alpha1.RolloutTypePostPromotionLabel:
			current = current && !promoted
		case rolloutsv1alpha1.RolloutTypePrePromotionLabel:
			current = current && !promoted && !p.greenActive
		default:
			continue
		}
		if !current || p.status.Abort {
			p.result.Actions = append(p.result.Actions, TerminateAnalysisRun{Name: run.Name})
		}
	}
}

// backgroundAnalysis runs canary.analysis beside the steps of a new
// revision, from startingStep on: it creates the run, mirrors it in
// status.canary.currentBackgroundAnalysisRunStatus, aborts the rollout when
// the run fails, and pauses it when the run is inconclusive.
func (p *planner) backgroundAnalysis(promoted bool) {
	background := p.ro.Spec.Strategy.Canary.Analysis
	p.status.Canary.CurrentBackgroundAnalysisRunStatus = nil
	if background == nil || promoted || p.status.Abort {
		return
	}
	if start := background.StartingStep; start != nil && p.stepIndex() < *start {
		return
	}
	var run *rolloutsv1alpha1.AnalysisRun
	for _, r := range p.obs.AnalysisRuns {
		if r.Labels[rolloutsv1alpha1.RolloutTypeLabel] == rolloutsv1alpha1.RolloutTypeBackgroundRunLabel && p.ofCurrentAttempt(r) {
			run = r
		}
	}
	if run == nil {
		p.result.Actions = append(p.result.Actions, CreateAnalysisRun{Run: p.newBackgroundRun(&background.RolloutAnalysis)})
		return
	}
	seen := p.ro.Status.Canary.CurrentBackgroundAnalysisRunStatus
	p.announceRun(rolloutsv1alpha1.RolloutTypeBackgroundRunLabel, seen, run)
	p.status.Canary.CurrentBackgroundAnalysisRunStatus = &rolloutsv1alpha1.RolloutAnalysisRunStatus{
		Name: run.Name, Status: run.Status.Phase, Message: run.Status.Message,
	}
	switch run.Status.Phase {
	case rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseError:
		p.status.Abort = true
	case rolloutsv1alpha1.AnalysisPhaseInconclusive:
		p.pastInconclusive(seen, p.status.Canary.CurrentBackgroundAnalysisRunStatus)
	}
}

// pastInconclusive handles a run that ended Inconclusive, mirrored in
// status as mirror (and as seen in the observed status): the first time,
// it pauses the rollout with a message that says what to do; it reports
// true once a person promoted past it, which clears the pause condition.
// The run stays Inconclusive, so where it stands is kept in the mirror's
// message, telling its pause apart from any other and making sure a result
// a person promoted past does not pause the rollout again.
func (p *planner) pastInconclusive(seen, mirror *rolloutsv1alpha1.RolloutAnalysisRunStatus) bool {
	state := ""
	if seen != nil && seen.Name == mirror.Name {
		state = seen.Message
	}
	switch {
	case state == promotedPastInconclusive:
		mirror.Message = promotedPastInconclusive
		return true
	case p.pauseCondition(rolloutsv1alpha1.PauseReasonInconclusiveAnalysis) != nil:
		mirror.Message = pausedForInconclusive // waiting for a person
	case state == pausedForInconclusive:
		// The pause this run caused was cleared: promoted past it.
		p.status.ControllerPause = false
		mirror.Message = promotedPastInconclusive
		return true
	default:
		mirror.Message = pausedForInconclusive
		p.status.PauseConditions = append(p.status.PauseConditions, rolloutsv1alpha1.PauseCondition{
			Reason: rolloutsv1alpha1.PauseReasonInconclusiveAnalysis, StartTime: metav1.Time{Time: p.now},
		})
		p.status.ControllerPause = true
	}
	return false
}

// The mirrored background run's message records where its inconclusive
// result stands, so a pause it caused is told apart from a step's pause,
// and a result a person promoted past does not pause the rollout again.
const (
	pausedForInconclusive    = "inconclusive; the rollout is paused: promote to continue, or abort"
	promotedPastInconclusive = "inconclusive; promoted past it"
)

// DeleteAnalysisRun removes a finished run past the history limits.
type DeleteAnalysisRun struct {
	Name string
}

func (a DeleteAnalysisRun) String() string { return "delete AnalysisRun " + a.Name }

// Default numbers of finished AnalysisRuns kept, as in Argo Rollouts.
const (
	defaultSuccessfulRunHistory   = 5
	defaultUnsuccessfulRunHistory = 5
)

// pruneRuns deletes the oldest finished AnalysisRuns beyond
// spec.analysis.successfulRunHistoryLimit and unsuccessfulRunHistoryLimit.
func (p *planner) pruneRuns() {
	var successful, unsuccessful []*rolloutsv1alpha1.AnalysisRun
	for _, run := range p.obs.AnalysisRuns {
		switch {
		case run.Status.Phase == rolloutsv1alpha1.AnalysisPhaseSuccessful:
			successful = append(successful, run)
		case run.Status.Phase.Completed():
			unsuccessful = append(unsuccessful, run)
		}
	}
	keepSuccessful, keepUnsuccessful := p.historyLimits()
	for _, run := range slices.Concat(pastHistory(successful, keepSuccessful), pastHistory(unsuccessful, keepUnsuccessful)) {
		p.result.Actions = append(p.result.Actions, DeleteAnalysisRun{Name: run.Name})
	}
}

// historyLimits are how many finished successful and unsuccessful runs,
// and likewise Experiments, a Rollout keeps: spec.analysis's
// successfulRunHistoryLimit and unsuccessfulRunHistoryLimit, 5 each by
// default.
func (p *planner) historyLimits() (successful, unsuccessful int32) {
	successful, unsuccessful = defaultSuccessfulRunHistory, defaultUnsuccessfulRunHistory
	if limits := p.ro.Spec.Analysis; limits != nil {
		if limits.SuccessfulRunHistoryLimit != nil {
			successful = *limits.SuccessfulRunHistoryLimit
		}
		if limits.UnsuccessfulRunHistoryLimit != nil {
			unsuccessful = *limits.UnsuccessfulRunHistoryLimit
		}
	}
	return successful, unsuccessful
}

// pastHistory returns the objects beyond the newest keep, by creation time
// (a negative keep keeps none). It sorts objs in place, newest first.
func pastHistory[T metav1.Object](objs []T, keep int32) []T {
	sort.SliceStable(objs, func(i, j int) bool {
		newer, older := objs[j].GetCreationTimestamp(), objs[i].GetCreationTimestamp()
		return newer.Before(&older)
	})
	return objs[min(int(max(keep, 0)), len(objs)):]
}
