package plan

import (
	"fmt"
	"sort"
	"strconv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CreateAnalysisRun creates the AnalysisRun of an analysis step.
type CreateAnalysisRun struct {
	Run *rolloutsv1alpha1.AnalysisRun
}

func (a CreateAnalysisRun) String() string { return "create AnalysisRun " + a.Run.Name }

// TerminateAnalysisRun stops a run whose result no longer matters: its
// revision was aborted or replaced, or the rollout moved past its step.
type TerminateAnalysisRun struct {
	Name string
}

func (a TerminateAnalysisRun) String() string { return "terminate AnalysisRun " + a.Name }

// templateSpecs returns the specs of an analysis step's templates, or a field
// error naming the one that is missing.
func templateSpecs(obs Observation, analysis *rolloutsv1alpha1.RolloutAnalysis, path *field.Path) ([]rolloutsv1alpha1.AnalysisTemplateSpec, *field.Error) {
	var specs []rolloutsv1alpha1.AnalysisTemplateSpec
	for i, ref := range analysis.Templates {
		name := path.Child("templates").Index(i).Child("templateName")
		if ref.ClusterScope != nil && *ref.ClusterScope {
			t, ok := obs.ClusterTemplates[ref.TemplateName]
			if !ok {
				return nil, field.Invalid(name, ref.TemplateName, fmt.Sprintf("ClusterAnalysisTemplate %q not found", ref.TemplateName))
			}
			specs = append(specs, t.Spec)
			continue
		}
		t, ok := obs.Templates[ref.TemplateName]
		if !ok {
			return nil, field.Invalid(name, ref.TemplateName, fmt.Sprintf("AnalysisTemplate %q not found", ref.TemplateName))
		}
		specs = append(specs, t.Spec)
	}
	for i, arg := range analysis.Args {
		if arg.ValueFrom != nil && arg.ValueFrom.FieldRef != nil {
			return nil, field.Forbidden(path.Child("args").Index(i).Child("valueFrom", "fieldRef"), "not supported yet")
		}
	}
	if len(specs) == 0 {
		return nil, field.Required(path.Child("templates"), "an analysis step needs a template")
	}
	return specs, nil
}

// stepRun builds the AnalysisRun of analysis step index for the current
// revision: the templates' metrics, dryRun and retention merged, their
// arguments given values by the step (a podTemplateHashValue resolves to the
// stable or the current revision's hash), and Argo's labels, so the kubectl
// plugin and Argo's tools recognise it (`<rollout>-<hash>-<revision>-<step>`).
func (p *planner) newStepRun(index int32, step *rolloutsv1alpha1.RolloutAnalysis) *rolloutsv1alpha1.AnalysisRun {
	specs, _ := templateSpecs(p.obs, step, field.NewPath("")) // validated
	run := &rolloutsv1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			// Argo's name: rollout, pod-template hash, revision, step.
			Name:      fmt.Sprintf("%s-%s-%d-%d", p.ro.Name, p.hash, p.revision, index),
			Namespace: p.ro.Namespace,
			Labels: map[string]string{
				rolloutsv1alpha1.RolloutTypeLabel:            rolloutsv1alpha1.RolloutTypeStepLabel,
				rolloutsv1alpha1.RolloutCanaryStepIndexLabel: strconv.Itoa(int(index)),
				PodTemplateHashLabel:                         p.hash,
			},
			Annotations: map[string]string{RevisionAnnotation: strconv.FormatInt(p.revision, 10)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(p.ro,
				rolloutsv1alpha1.SchemeGroupVersion.WithKind("Rollout"))},
		},
	}
	if md := step.AnalysisRunMetadata; md != nil {
		for k, v := range md.Labels {
			run.Labels[k] = v
		}
		for k, v := range md.Annotations {
			run.Annotations[k] = v
		}
	}
	args := map[string]int{}
	for _, spec := range specs {
		run.Spec.Metrics = append(run.Spec.Metrics, spec.Metrics...)
		run.Spec.DryRun = append(run.Spec.DryRun, spec.DryRun...)
		run.Spec.MeasurementRetention = append(run.Spec.MeasurementRetention, spec.MeasurementRetention...)
		for _, arg := range spec.Args {
			if _, seen := args[arg.Name]; !seen {
				args[arg.Name] = len(run.Spec.Args)
				run.Spec.Args = append(run.Spec.Args, *arg.DeepCopy())
			}
		}
	}
	run.Spec.DryRun = append(run.Spec.DryRun, step.DryRun...)
	run.Spec.MeasurementRetention = append(run.Spec.MeasurementRetention, step.MeasurementRetention...)
	for _, arg := range step.Args {
		value := arg.Value
		if arg.ValueFrom != nil && arg.ValueFrom.PodTemplateHashValue != nil {
			value = p.hash
			if *arg.ValueFrom.PodTemplateHashValue == rolloutsv1alpha1.Stable {
				value = p.status.StableRS
			}
		}
		resolved := rolloutsv1alpha1.Argument{Name: arg.Name, Value: &value}
		if i, ok := args[arg.Name]; ok {
			run.Spec.Args[i] = resolved
		} else {
			run.Spec.Args = append(run.Spec.Args, resolved)
		}
	}
	return run
}

// terminateStaleRuns stops the step runs still running that no longer
// decide anything: of another revision, of a step the rollout is not at, or
// of an aborted rollout.
func (p *planner) terminateStaleRuns() {
	index := p.stepIndex()
	for _, run := range p.obs.AnalysisRuns {
		if run.Labels[rolloutsv1alpha1.RolloutTypeLabel] != rolloutsv1alpha1.RolloutTypeStepLabel ||
			run.Spec.Terminate || run.Status.Phase.Completed() {
			continue
		}
		current := run.Labels[PodTemplateHashLabel] == p.hash &&
			run.Labels[rolloutsv1alpha1.RolloutCanaryStepIndexLabel] == strconv.Itoa(int(index))
		if !current || p.status.Abort {
			p.result.Actions = append(p.result.Actions, TerminateAnalysisRun{Name: run.Name})
		}
	}
}

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
	keepSuccessful, keepUnsuccessful := int32(defaultSuccessfulRunHistory), int32(defaultUnsuccessfulRunHistory)
	if limits := p.ro.Spec.Analysis; limits != nil {
		if limits.SuccessfulRunHistoryLimit != nil {
			keepSuccessful = *limits.SuccessfulRunHistoryLimit
		}
		if limits.UnsuccessfulRunHistoryLimit != nil {
			keepUnsuccessful = *limits.UnsuccessfulRunHistoryLimit
		}
	}
	var successful, unsuccessful []*rolloutsv1alpha1.AnalysisRun
	for _, run := range p.obs.AnalysisRuns {
		switch {
		case run.Status.Phase == rolloutsv1alpha1.AnalysisPhaseSuccessful:
			successful = append(successful, run)
		case run.Status.Phase.Completed():
			unsuccessful = append(unsuccessful, run)
		}
	}
	for _, group := range []struct {
		runs []*rolloutsv1alpha1.AnalysisRun
		keep int32
	}{{successful, keepSuccessful}, {unsuccessful, keepUnsuccessful}} {
		sort.SliceStable(group.runs, func(i, j int) bool {
			return group.runs[j].CreationTimestamp.Before(&group.runs[i].CreationTimestamp) // newest first
		})
		for i := int(max(group.keep, 0)); i < len(group.runs); i++ {
			p.result.Actions = append(p.result.Actions, DeleteAnalysisRun{Name: group.runs[i].Name})
		}
	}
}
