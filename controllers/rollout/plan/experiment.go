package plan

import (
	"fmt"
	"slices"
	"strconv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CreateExperiment creates the Experiment of an experiment step.
type CreateExperiment struct {
	Experiment *rolloutsv1alpha1.Experiment
}

func (a CreateExperiment) String() string { return "create Experiment " + a.Experiment.Name }

// TerminateExperiment ends an Experiment whose result no longer matters:
// its step is past, or the rollout was aborted or fully promoted.
type TerminateExperiment struct {
	Name string
}

func (a TerminateExperiment) String() string { return "terminate Experiment " + a.Name }

// DeleteExperiment removes a finished Experiment past the history limits,
// or one of a revision the Rollout no longer has.
type DeleteExperiment struct {
	Name string
}

func (a DeleteExperiment) String() string { return "delete Experiment " + a.Name }

// SupersedeExperiment marks an Experiment of an attempt a person retried
// after with SupersededAnnotation, as runs are: the step starts a new one.
type SupersedeExperiment struct {
	Name string
}

func (a SupersedeExperiment) String() string {
	return "mark Experiment " + a.Name + " superseded by a retry"
}

// experimentShare is what an experiment step's template weights are
// checked against: whether the Rollout routes traffic, the weight that
// means all of it, and the canary's weight at the step.
type experimentShare struct {
	routed       bool
	maxWeight    int32
	canaryWeight int32
}

// validateExperimentStep checks an experiment step: templates named once
// each, taken from the canary or the stable spec; analyses named once each,
// with a template and arguments that can be given values. A template's
// weight needs trafficRouting, as in Argo; and since the stable Service
// gives up the experiment's weights while the canary keeps its own, the
// weights and the canary's weight at the step must fit in
// maxTrafficWeight. Argo does not check the sum (its stable weight would
// go below 0); Gateway API takes no negative weight, so Sluice refuses it.
func validateExperimentStep(obs Observation, step *rolloutsv1alpha1.RolloutExperimentStep, share experimentShare, path *field.Path) *field.Error {
	if len(step.Templates) == 0 {
		return field.Required(path.Child("templates"), "an experiment step needs a template")
	}
	if step.Duration != "" {
		if _, err := step.Duration.Duration(); err != nil {
			return field.Invalid(path.Child("duration"), step.Duration, "not a duration (such as 30s, 5m, 1h)")
		}
	}
	templates := map[string]bool{}
	total := share.canaryWeight
	for i, t := range step.Templates {
		tp := path.Child("templates").Index(i)
		if err := nameOnce(templates, t.Name, tp.Child("name"), "a template needs a name"); err != nil {
			return err
		}
		switch {
		case t.SpecRef != rolloutsv1alpha1.CanarySpecRef && t.SpecRef != rolloutsv1alpha1.StableSpecRef:
			return field.NotSupported(tp.Child("specRef"), t.SpecRef, []string{string(rolloutsv1alpha1.CanarySpecRef), string(rolloutsv1alpha1.StableSpecRef)})
		case t.Weight != nil && !share.routed:
			return field.Invalid(tp.Child("weight"), *t.Weight, "needs trafficRouting: the weight is a share of the routes' traffic")
		case t.Weight != nil && *t.Weight < 0:
			return field.Invalid(tp.Child("weight"), *t.Weight, "must not be negative")
		case t.Replicas != nil && *t.Replicas < 0:
			return field.Invalid(tp.Child("replicas"), *t.Replicas, "must not be negative")
		}
		if t.Weight != nil {
			total += *t.Weight
			if total > share.maxWeight {
				return field.Invalid(tp.Child("weight"), *t.Weight, fmt.Sprintf(
					"the templates' weights and the canary's weight at this step (%d) add up to more than %d", share.canaryWeight, share.maxWeight))
			}
		}
	}
	analyses := map[string]bool{}
	for i, a := range step.Analyses {
		ap := path.Child("analyses").Index(i)
		if err := nameOnce(analyses, a.Name, ap.Child("name"), "an analysis needs a name"); err != nil {
			return err
		}
		if a.TemplateName == "" {
			return field.Required(ap.Child("templateName"), "an analysis needs a template")
		}
		ref := rolloutsv1alpha1.AnalysisTemplateRef{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}
		if err := validateAnalysis(obs, &rolloutsv1alpha1.RolloutAnalysis{
			Templates: []rolloutsv1alpha1.AnalysisTemplateRef{ref}, Args: a.Args,
		}, ap); err != nil {
			return err
		}
	}
	return nil
}

// nameOnce checks that an entry of a list has a name, one no earlier entry
// has (names holds theirs), and adds it to names.
func nameOnce(names map[string]bool, name string, path *field.Path, required string) *field.Error {
	switch {
	case name == "":
		return field.Required(path, required)
	case names[name]:
		return field.Duplicate(path, name)
	}
	names[name] = true
	return nil
}

// experimentStep reports whether an experiment step is over: its
// Experiment (`<rollout>-<hash>-<revision>-<step>`, created when missing
// once the ReplicaSets its templates copy exist) succeeded, or ended
// Inconclusive and a person promoted. A Failed or Error experiment aborts
// the rollout; an Inconclusive one pauses it. status.canary.currentExperiment
// names the Experiment while it runs.
func (p *planner) experimentStep(index int32, step *rolloutsv1alpha1.RolloutExperimentStep) bool {
	ex := p.stepExperiment(index)
	if ex == nil {
		if created := p.newStepExperiment(index, step); created != nil {
			p.result.Actions = append(p.result.Actions, CreateExperiment{Experiment: created})
			p.event(false, "ExperimentCreated", fmt.Sprintf("Created Experiment '%s'", created.Name))
		}
		return false
	}
	p.status.Canary.CurrentExperiment = ex.Name
	switch ex.Status.Phase {
	case rolloutsv1alpha1.AnalysisPhaseSuccessful:
		p.status.Canary.CurrentExperiment = ""
		return true
	case rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseError:
		p.status.Abort = true
		msg := fmt.Sprintf("Experiment %s of step %d ended %s", ex.Name, index+1, ex.Status.Phase)
		if ex.Status.Message != "" {
			msg += ": " + ex.Status.Message
		}
		p.event(true, "ExperimentFailed", msg)
	case rolloutsv1alpha1.AnalysisPhaseInconclusive:
		if p.pastInconclusiveStep(rolloutsv1alpha1.PauseReasonInconclusiveExperiment) {
			p.status.Canary.CurrentExperiment = ""
			return true
		}
	}
	return false
}

// experimentName is the name Argo gives a step's Experiment.
func (p *planner) experimentName(index int32) string {
	return fmt.Sprintf("%s-%s-%d-%d", p.ro.Name, p.hash, p.revision, index)
}

// stepExperiment finds the Experiment of a step of the current attempt.
func (p *planner) stepExperiment(index int32) *rolloutsv1alpha1.Experiment {
	for _, ex := range p.obs.Experiments {
		if p.ofStep(ex, index) {
			return ex
		}
	}
	return nil
}

// freeExperimentName is experimentName, or with `-1`, `-2`... when an
// Experiment of a superseded attempt holds it, as Argo counts collisions.
func (p *planner) freeExperimentName(index int32) string {
	base := p.experimentName(index)
	name := base
	for n := 1; p.experimentNamed(name); n++ {
		name = base + "-" + strconv.Itoa(n)
	}
	return name
}

func (p *planner) experimentNamed(name string) bool {
	for _, ex := range p.obs.Experiments {
		if ex.Name == name {
			return true
		}
	}
	return false
}

// newStepExperiment builds a step's Experiment as Argo does: each template
// copies the canary's or the stable ReplicaSet's pod template, selector and
// minReadySeconds, with the step's metadata added to its labels (and
// selector) and annotations; a template with a service or a weight gets a
// Service; the
// analyses' arguments are given their values now (a podTemplateHashValue
// the stable or the canary hash, a fieldRef a field of the Rollout). The
// Rollout is its controller, and it carries the Rollout's labels, the
// canary's hash, the step index, the revision and the instance id. It
// returns nil while a ReplicaSet a template copies does not exist yet.
func (p *planner) newStepExperiment(index int32, step *rolloutsv1alpha1.RolloutExperimentStep) *rolloutsv1alpha1.Experiment {
	labels := map[string]string{}
	for k, v := range p.ro.Labels {
		labels[k] = v
	}
	labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] = p.hash
	labels[rolloutsv1alpha1.RolloutCanaryStepIndexLabel] = strconv.Itoa(int(index))
	ex := &rolloutsv1alpha1.Experiment{
		ObjectMeta: p.revisionMeta(p.freeExperimentName(index), labels),
		Spec: rolloutsv1alpha1.ExperimentSpec{
			Duration:                step.Duration,
			ProgressDeadlineSeconds: p.ro.Spec.ProgressDeadlineSeconds,
			DryRun:                  step.DryRun,
			ScaleDownDelaySeconds:   step.ScaleDownDelaySeconds,
			AnalysisRunMetadata:     *step.AnalysisRunMetadata.DeepCopy(),
		},
	}
	for _, t := range step.Templates {
		source := p.current
		if t.SpecRef == rolloutsv1alpha1.StableSpecRef {
			source = p.stableReplicaSet()
		}
		if source == nil {
			return nil
		}
		template := rolloutsv1alpha1.TemplateSpec{
			Name:            t.Name,
			Replicas:        t.Replicas,
			Template:        *source.Spec.Template.DeepCopy(),
			MinReadySeconds: source.Spec.MinReadySeconds,
			Selector:        source.Spec.Selector.DeepCopy(),
		}
		if t.Selector != nil {
			template.Selector = t.Selector.DeepCopy()
		}
		switch {
		case t.Service != nil:
			template.Service = &rolloutsv1alpha1.TemplateService{Name: t.Service.Name}
		case t.Weight != nil:
			// The routes send the weight to the template's Service: it
			// gets one, named as an unnamed service is.
			template.Service = &rolloutsv1alpha1.TemplateService{}
		}
		for k, v := range t.Metadata.Labels {
			if template.Template.Labels == nil {
				template.Template.Labels = map[string]string{}
			}
			if template.Selector.MatchLabels == nil {
				template.Selector.MatchLabels = map[string]string{}
			}
			template.Template.Labels[k] = v
			template.Selector.MatchLabels[k] = v
		}
		for k, v := range t.Metadata.Annotations {
			if template.Template.Annotations == nil {
				template.Template.Annotations = map[string]string{}
			}
			template.Template.Annotations[k] = v
		}
		ex.Spec.Templates = append(ex.Spec.Templates, template)
	}
	for _, a := range step.Analyses {
		ref := rolloutsv1alpha1.ExperimentAnalysisTemplateRef{
			Name: a.Name, TemplateName: a.TemplateName, ClusterScope: a.ClusterScope,
			RequiredForCompletion: a.RequiredForCompletion,
		}
		for _, arg := range a.Args {
			value := p.argumentValue(arg)
			ref.Args = append(ref.Args, rolloutsv1alpha1.Argument{Name: arg.Name, Value: &value})
		}
		ex.Spec.Analyses = append(ex.Spec.Analyses, ref)
	}
	return ex
}

// stableReplicaSet is the ReplicaSet of status.stableRS, whether or not it
// is also the current one.
func (p *planner) stableReplicaSet() *appsv1.ReplicaSet {
	if p.stable != nil {
		return p.stable
	}
	if p.current != nil && p.status.StableRS == p.hash {
		return p.current
	}
	return nil
}

// terminateStaleExperiments ends the Experiments still running that no
// longer decide anything: of another revision or attempt, of a step the
// rollout is not at, or any once the rollout is aborted, promoted or
// fully promoted.
func (p *planner) terminateStaleExperiments(promoted bool) {
	index := p.stepIndex()
	for _, ex := range p.obs.Experiments {
		if ex.Spec.Terminate || ex.Status.Phase.Completed() {
			continue
		}
		if !p.ofStep(ex, index) || promoted || p.status.Abort || p.status.PromoteFull {
			p.result.Actions = append(p.result.Actions, TerminateExperiment{Name: ex.Name})
			if p.status.Canary.CurrentExperiment == ex.Name {
				p.status.Canary.CurrentExperiment = ""
			}
		}
	}
}

// pruneExperiments deletes finished Experiments as Argo does: those of a
// revision whose ReplicaSet is gone, and, of the rest, all but the newest
// successfulRunHistoryLimit successful and unsuccessfulRunHistoryLimit
// unsuccessful ones (spec.analysis's limits, 5 each by default). The
// current step's Experiment is kept whatever its state.
func (p *planner) pruneExperiments() {
	hashes := map[string]bool{}
	for _, rs := range p.obs.ReplicaSets {
		hashes[rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]] = rs.DeletionTimestamp == nil
	}
	var successful, unsuccessful []*rolloutsv1alpha1.Experiment
	for _, ex := range p.obs.Experiments {
		if ex.Name == p.status.Canary.CurrentExperiment || !ex.Status.Phase.Completed() {
			continue
		}
		switch {
		case !hashes[ex.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]]:
			p.result.Actions = append(p.result.Actions, DeleteExperiment{Name: ex.Name})
		case ex.Status.Phase == rolloutsv1alpha1.AnalysisPhaseSuccessful:
			successful = append(successful, ex)
		default:
			unsuccessful = append(unsuccessful, ex)
		}
	}
	keepSuccessful, keepUnsuccessful := p.historyLimits()
	for _, ex := range slices.Concat(pastHistory(successful, keepSuccessful), pastHistory(unsuccessful, keepUnsuccessful)) {
		p.result.Actions = append(p.result.Actions, DeleteExperiment{Name: ex.Name})
	}
}
