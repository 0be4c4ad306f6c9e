package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	rolloutplan "github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/internal/instance/inherit"
)

// analysis plans one of the experiment's analyses. Before the experiment
// is available it only checks that the templates are there; from then on it
// starts the run (`<experiment>-<analysis>`), mirrors its phase and message
// in status.analysisRuns, and terminates it once the experiment winds down.
func (p *planner) analysis(a *rolloutsv1alpha1.ExperimentAnalysisTemplateRef) {
	st := rolloutsv1alpha1.ExperimentAnalysisRunStatus{Name: a.Name}
	if cur := analysisStatus(&p.ex.Status, a.Name); cur != nil {
		st = *cur.DeepCopy()
	}
	prev := st
	defer func() {
		if prev.Phase != st.Phase && st.Phase != "" {
			msg := fmt.Sprintf("AnalysisRun '%s' transitioned from %s -> %s", a.Name, prev.Phase, st.Phase)
			if st.Message != "" {
				msg += ": " + st.Message
			}
			warning := false
			switch st.Phase {
			case rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseError, rolloutsv1alpha1.AnalysisPhaseInconclusive:
				warning = true
			}
			p.event(warning, "AnalysisRun"+string(st.Phase), msg)
		}
		setAnalysisStatus(&p.status, st)
	}()

	if p.ex.Status.AvailableAt == nil {
		// Not available yet: no run starts, but a template that is not
		// there is reported now rather than when it is needed.
		if _, err := p.analysisSpec(a); err != nil {
			st.Phase = rolloutsv1alpha1.AnalysisPhaseError
			st.Message = fmt.Sprintf("AnalysisTemplate verification failed for analysis '%s': %s", a.Name, err.Detail)
		}
		return
	}

	if st.AnalysisRun == "" {
		if p.terminating {
			return
		}
		// A run an earlier pass made, whose status write was lost.
		if run := p.run(RunName(p.ex, a.Name)); run != nil {
			st.AnalysisRun, st.Phase, st.Message = run.Name, phaseOrPending(run), run.Status.Message
			return
		}
		run, err := p.newRun(a)
		if err != nil {
			st.Phase = rolloutsv1alpha1.AnalysisPhaseError
			st.Message = fmt.Sprintf("Failed to create AnalysisRun for analysis '%s': %v", a.Name, err)
			return
		}
		p.act(CreateAnalysisRun{Run: run})
		st.AnalysisRun, st.Phase, st.Message = run.Name, rolloutsv1alpha1.AnalysisPhasePending, ""
		return
	}
	if prev.Phase.Completed() {
		return
	}
	run := p.run(st.AnalysisRun)
	if run == nil {
		if slices.Contains(p.obs.MissingRuns, st.AnalysisRun) {
			st.Phase = rolloutsv1alpha1.AnalysisPhaseError
			st.Message = fmt.Sprintf("AnalysisRun %s is gone, or is not this experiment's", st.AnalysisRun)
		}
		return // made a moment ago; the cache will show it
	}
	if p.terminating && !run.Status.Phase.Completed() {
		if !run.Spec.Terminate {
			p.act(TerminateAnalysisRun{Name: run.Name})
			p.event(false, "AnalysisRunTerminating", fmt.Sprintf("Terminating %s (%s)", a.Name, run.Name))
		}
		// Argo stops mirroring here, so a run terminated because the
		// required analyses succeeded stays Running in status and holds
		// the experiment there; Sluice mirrors the phase the run ends with.
		return
	}
	st.Phase, st.Message = phaseOrPending(run), run.Status.Message
}

// phaseOrPending is a run's phase, Pending until its controller set one.
func phaseOrPending(run *rolloutsv1alpha1.AnalysisRun) rolloutsv1alpha1.AnalysisPhase {
	if run.Status.Phase == "" {
		return rolloutsv1alpha1.AnalysisPhasePending
	}
	return run.Status.Phase
}

// RunName is an analysis' run's name, as Argo names it.
func RunName(ex *rolloutsv1alpha1.Experiment, analysis string) string {
	return ex.Name + "-" + analysis
}

func (p *planner) run(name string) *rolloutsv1alpha1.AnalysisRun {
	for _, run := range p.obs.AnalysisRuns {
		if run.Name == name {
			return run
		}
	}
	return nil
}

// analysisSpec flattens the analysis' template and what it includes.
func (p *planner) analysisSpec(a *rolloutsv1alpha1.ExperimentAnalysisTemplateRef) (*rolloutsv1alpha1.AnalysisTemplateSpec, *field.Error) {
	ref := rolloutsv1alpha1.AnalysisTemplateRef{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}
	return rolloutplan.MergeTemplates(p.obs.Templates, p.obs.ClusterTemplates, []rolloutsv1alpha1.AnalysisTemplateRef{ref},
		field.NewPath("spec", "analyses").Key(a.Name))
}

// newRun builds an analysis' run as Argo does: the template's metrics, its
// arguments given the analysis' values (which may name a template's
// ReplicaSet or pod hash, or when the experiment became available), the
// experiment's dryRun and measurementRetention added to the template's,
// analysisRunMetadata and the instance-id label, and the Experiment as
// controller.
func (p *planner) newRun(a *rolloutsv1alpha1.ExperimentAnalysisTemplateRef) (*rolloutsv1alpha1.AnalysisRun, error) {
	spec, ferr := p.analysisSpec(a)
	if ferr != nil {
		return nil, fmt.Errorf("%s", ferr.Detail)
	}
	args := spec.Args
	for _, arg := range a.Args {
		if arg.Value == nil {
			continue // as in Argo, an analysis gives its arguments plain values
		}
		value, err := p.resolveArgValue(*arg.Value)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", arg.Name, err)
		}
		for i := range args {
			if args[i].Name == arg.Name {
				args[i].Value, args[i].ValueFrom = &value, nil
			}
		}
	}
	for _, arg := range args {
		if arg.Value == nil && arg.ValueFrom == nil {
			return nil, fmt.Errorf("args.%s was not resolved", arg.Name)
		}
	}
	labels := map[string]string{}
	annotations := map[string]string{}
	if id, ok := p.ex.Labels[rolloutsv1alpha1.LabelKeyControllerInstanceID]; ok {
		labels[rolloutsv1alpha1.LabelKeyControllerInstanceID] = id
	}
	for k, v := range p.ex.Spec.AnalysisRunMetadata.Labels {
		labels[k] = v
	}
	// Whatever the metadata says, the run is in the Experiment's shard, so
	// the manager that runs the Experiment sees it.
	labels = inherit.Shard(p.ex.Labels, labels)
	for k, v := range p.ex.Spec.AnalysisRunMetadata.Annotations {
		annotations[k] = v
	}
	return &rolloutsv1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:            RunName(p.ex, a.Name),
			Namespace:       p.ex.Namespace,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(p.ex, Kind)},
		},
		Spec: rolloutsv1alpha1.AnalysisRunSpec{
			Metrics:              spec.Metrics,
			Args:                 args,
			DryRun:               append(slices.Clone(p.ex.Spec.DryRun), spec.DryRun...),
			MeasurementRetention: append(slices.Clone(p.ex.Spec.MeasurementRetention), spec.MeasurementRetention...),
		},
	}, nil
}

// resolveArgValue fills in the placeholders an Experiment's analysis
// arguments may use: {{templates.<name>.podTemplateHash}},
// {{templates.<name>.replicaset.name}}, {{experiment.availableAt}} and,
// with a duration, {{experiment.finishedAt}}. Any other placeholder is an
// error, as in Argo.
func (p *planner) resolveArgValue(value string) (string, error) {
	known := map[string]string{}
	if at := p.ex.Status.AvailableAt; at != nil {
		known["experiment.availableAt"] = at.UTC().Format(time.RFC3339)
		if d, err := p.ex.Spec.Duration.Duration(); p.ex.Spec.Duration != "" && err == nil {
			known["experiment.finishedAt"] = at.Add(d).UTC().Format(time.RFC3339)
		}
	}
	for name, rs := range p.replicaSets {
		known["templates."+name+".podTemplateHash"] = rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
		known["templates."+name+".replicaset.name"] = rs.Name
	}
	var out strings.Builder
	rest := value
	for {
		start := strings.Index(rest, "{{")
		if start < 0 {
			out.WriteString(rest)
			return out.String(), nil
		}
		end := strings.Index(rest[start:], "}}")
		if end < 0 {
			out.WriteString(rest)
			return out.String(), nil
		}
		out.WriteString(rest[:start])
		tag := strings.TrimSpace(rest[start+2 : start+end])
		v, ok := known[tag]
		if !ok {
			return "", fmt.Errorf("failed to resolve {{%s}}", tag)
		}
		out.WriteString(v)
		rest = rest[start+end+2:]
	}
}

// assessAnalyses returns the worst of the analyses' phases and its message:
// Successful with no analyses; Successful, with Argo's message, once every
// analysis required for completion succeeded and none did worse than run.
// Pending counts as Running, since the result becomes the experiment's.
func (p *planner) assessAnalyses() (rolloutsv1alpha1.AnalysisPhase, string) {
	worst, message := rolloutsv1alpha1.AnalysisPhaseSuccessful, ""
	for _, a := range p.ex.Spec.Analyses {
		if st := analysisStatus(&p.status, a.Name); st != nil && analysisWorse(worst, st.Phase) {
			worst, message = st.Phase, st.Message
		}
	}
	if requiredAnalysesSucceeded(p.ex.Spec, &p.status) && analysisWorse(worst, rolloutsv1alpha1.AnalysisPhaseRunning) {
		return rolloutsv1alpha1.AnalysisPhaseSuccessful, "Required AnalysisRuns completed"
	}
	if worst == rolloutsv1alpha1.AnalysisPhasePending {
		worst = rolloutsv1alpha1.AnalysisPhaseRunning
	}
	return worst, message
}

// analysisOrder ranks phases from best to worst, as Argo ranks them; a
// phase not listed (none yet) ranks as the best.
var analysisOrder = []rolloutsv1alpha1.AnalysisPhase{
	rolloutsv1alpha1.AnalysisPhaseSuccessful,
	rolloutsv1alpha1.AnalysisPhaseRunning,
	rolloutsv1alpha1.AnalysisPhasePending,
	rolloutsv1alpha1.AnalysisPhaseInconclusive,
	rolloutsv1alpha1.AnalysisPhaseError,
	rolloutsv1alpha1.AnalysisPhaseFailed,
}

func analysisWorse(current, next rolloutsv1alpha1.AnalysisPhase) bool {
	return max(0, slices.Index(analysisOrder, next)) > max(0, slices.Index(analysisOrder, current))
}
