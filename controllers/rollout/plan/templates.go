package plan

import (
	"fmt"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sluicehq/sluice/internal/fieldref"
)

// analysisSpec merges the templates an analysis names, and the templates
// they include in turn (their spec.templates), into the one spec its run is
// made from, as Argo flattens them: metrics, dryRun and measurementRetention
// appended in order, arguments merged by name. A template reached twice is
// merged once. A missing template, templates that include each other, two
// metrics of one name and an argument given two values are field errors on
// the analysis' templates.
func analysisSpec(obs Observation, analysis *rolloutsv1alpha1.RolloutAnalysis, path *field.Path) (*rolloutsv1alpha1.AnalysisTemplateSpec, *field.Error) {
	if len(analysis.Templates) == 0 {
		return nil, field.Required(path.Child("templates"), "an analysis needs a template")
	}
	f := flattener{obs: obs, merged: &rolloutsv1alpha1.AnalysisTemplateSpec{}, seen: map[string]bool{}, args: map[string]int{}}
	for i, ref := range analysis.Templates {
		if msg := f.add(ref, nil); msg != "" {
			return nil, field.Invalid(path.Child("templates").Index(i).Child("templateName"), ref.TemplateName, msg)
		}
	}
	metrics := map[string]bool{}
	for _, m := range f.merged.Metrics {
		if metrics[m.Name] {
			return nil, field.Invalid(path.Child("templates"), templateNames(analysis.Templates),
				fmt.Sprintf("two metrics are named %q", m.Name))
		}
		metrics[m.Name] = true
	}
	if f.conflict != "" {
		return nil, field.Invalid(path.Child("templates"), templateNames(analysis.Templates), f.conflict)
	}
	return f.merged, nil
}

// validateAnalysis checks what an analysis' run needs: its templates, and a
// field for each argument's valueFrom.fieldRef.
func validateAnalysis(obs Observation, analysis *rolloutsv1alpha1.RolloutAnalysis, path *field.Path) *field.Error {
	if _, err := analysisSpec(obs, analysis, path); err != nil {
		return err
	}
	for i, arg := range analysis.Args {
		if arg.ValueFrom != nil && arg.ValueFrom.FieldRef != nil {
			if _, err := fieldref.Value(obs.Rollout, arg.ValueFrom.FieldRef.FieldPath); err != nil {
				return field.Invalid(path.Child("args").Index(i).Child("valueFrom", "fieldRef", "fieldPath"),
					arg.ValueFrom.FieldRef.FieldPath, err.Error())
			}
		}
	}
	return nil
}

// flattener walks templates and the templates they include, depth first.
type flattener struct {
	obs      Observation
	merged   *rolloutsv1alpha1.AnalysisTemplateSpec
	seen     map[string]bool // templates merged, by key
	args     map[string]int  // index in merged.Args, by name
	conflict string          // the first argument given two values
}

// add merges the template ref names and what it includes; via lists the
// templates that included it, outermost first. It returns why it cannot.
func (f *flattener) add(ref rolloutsv1alpha1.AnalysisTemplateRef, via []string) string {
	key, spec := f.lookup(ref)
	for _, v := range via {
		if v == key {
			return fmt.Sprintf("templates include each other: %s -> %s", strings.Join(via, " -> "), key)
		}
	}
	if spec == nil {
		msg := key + " not found"
		if len(via) > 0 {
			msg += " (included by " + via[len(via)-1] + ")"
		}
		return msg
	}
	if f.seen[key] {
		return ""
	}
	f.seen[key] = true
	f.merged.Metrics = append(f.merged.Metrics, spec.Metrics...)
	f.merged.DryRun = append(f.merged.DryRun, spec.DryRun...)
	f.merged.MeasurementRetention = append(f.merged.MeasurementRetention, spec.MeasurementRetention...)
	for _, arg := range spec.Args {
		f.addArg(arg)
	}
	for _, inner := range spec.Templates {
		if msg := f.add(inner, append(via, key)); msg != "" {
			return msg
		}
	}
	return ""
}

// addArg merges an argument as Argo does: the first value given wins over
// none, and two different values are a conflict.
func (f *flattener) addArg(arg rolloutsv1alpha1.Argument) {
	i, ok := f.args[arg.Name]
	if !ok {
		f.args[arg.Name] = len(f.merged.Args)
		f.merged.Args = append(f.merged.Args, *arg.DeepCopy())
		return
	}
	prev := &f.merged.Args[i]
	switch {
	case prev.Value != nil && arg.Value != nil && *prev.Value != *arg.Value:
		if f.conflict == "" {
			f.conflict = fmt.Sprintf("argument %q is given two values: %q and %q", arg.Name, *prev.Value, *arg.Value)
		}
	case prev.Value == nil && prev.ValueFrom == nil:
		*prev = *arg.DeepCopy()
	}
}

// lookup finds a template the Rollout can use: a ClusterAnalysisTemplate
// when clusterScope is set, otherwise an AnalysisTemplate of its namespace.
func (f *flattener) lookup(ref rolloutsv1alpha1.AnalysisTemplateRef) (string, *rolloutsv1alpha1.AnalysisTemplateSpec) {
	if ref.ClusterScope != nil && *ref.ClusterScope {
		key := fmt.Sprintf("ClusterAnalysisTemplate %q", ref.TemplateName)
		if t, ok := f.obs.ClusterTemplates[ref.TemplateName]; ok {
			return key, &t.Spec
		}
		return key, nil
	}
	key := fmt.Sprintf("AnalysisTemplate %q", ref.TemplateName)
	if t, ok := f.obs.Templates[ref.TemplateName]; ok {
		return key, &t.Spec
	}
	return key, nil
}

func templateNames(refs []rolloutsv1alpha1.AnalysisTemplateRef) string {
	names := make([]string, 0, len(refs))
	for _, ref := range refs {
		names = append(names, ref.TemplateName)
	}
	return strings.Join(names, ", ")
}
