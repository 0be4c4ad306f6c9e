package plan

import (
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// defaultMaxWeight is the traffic weight that means "all of it".
const defaultMaxWeight = 100

// validate returns the first problem that keeps a Rollout from being
// reconciled, naming the field, or nil. Nothing running is touched while a
// Rollout is invalid.
func validate(obs Observation) *field.Error {
	ro := obs.Rollout
	spec := field.NewPath("spec")

	if ro.Spec.Selector == nil {
		return field.Required(spec.Child("selector"), "a Rollout needs a selector")
	}
	selector, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil {
		return field.Invalid(spec.Child("selector"), ro.Spec.Selector, err.Error())
	}
	if selector.Empty() {
		return field.Invalid(spec.Child("selector"), ro.Spec.Selector,
			"an empty selector selects every pod in the namespace; a non-empty selector is required")
	}
	if !selector.Matches(labels.Set(ro.Spec.Template.Labels)) {
		return field.Invalid(spec.Child("selector"), metav1.FormatLabelSelector(ro.Spec.Selector),
			"does not match the labels of spec.template.metadata.labels")
	}

	strategy := spec.Child("strategy")
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		return field.NotSupported(strategy.Child("blueGreen"), "blueGreen", []string{"canary"})
	case ro.Spec.Strategy.Canary == nil:
		return field.Required(strategy.Child("canary"), "a strategy is required")
	}
	return validateCanary(ro, obs, strategy.Child("canary"))
}

func validateCanary(ro *rolloutsv1alpha1.Rollout, obs Observation, path *field.Path) *field.Error {
	canary := ro.Spec.Strategy.Canary
	if canary.TrafficRouting != nil {
		return field.Forbidden(path.Child("trafficRouting"), "traffic routing is not supported yet; remove it to run a replica-based canary")
	}
	if canary.Analysis != nil {
		if err := validateAnalysis(obs, &canary.Analysis.RolloutAnalysis, path.Child("analysis")); err != nil {
			return err
		}
	}
	if _, err := resolveLimits(canary.MaxSurge, canary.MaxUnavailable, replicasOf(ro)); err != nil {
		return field.Invalid(path.Child("maxSurge"), canary.MaxSurge, err.Error())
	}
	if isZero(canary.MaxSurge) && isZero(canary.MaxUnavailable) {
		return field.Invalid(path.Child("maxUnavailable"), canary.MaxUnavailable.String(),
			"maxSurge and maxUnavailable cannot both be 0")
	}
	for _, name := range []struct {
		field, service string
	}{{"canaryService", canary.CanaryService}, {"stableService", canary.StableService}} {
		if name.service == "" {
			continue
		}
		if _, ok := obs.Services[name.service]; !ok {
			return field.Invalid(path.Child(name.field), name.service, fmt.Sprintf("service %q not found", name.service))
		}
	}
	if canary.CanaryService != "" && canary.CanaryService == canary.StableService {
		return field.Invalid(path.Child("stableService"), canary.StableService, "must differ from canaryService")
	}
	for i, step := range canary.Steps {
		if err := validateStep(step, path.Child("steps").Index(i)); err != nil {
			return err
		}
		if step.Analysis != nil {
			if err := validateAnalysis(obs, step.Analysis, path.Child("steps").Index(i).Child("analysis")); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateStep(step rolloutsv1alpha1.CanaryStep, path *field.Path) *field.Error {
	kinds := 0
	if step.SetWeight != nil {
		kinds++
		if *step.SetWeight < 0 || *step.SetWeight > defaultMaxWeight {
			return field.Invalid(path.Child("setWeight"), *step.SetWeight, "must be between 0 and 100")
		}
	}
	if step.Pause != nil {
		kinds++
		if step.Pause.Duration != nil && step.Pause.DurationSeconds() < 0 {
			return field.Invalid(path.Child("pause", "duration"), step.Pause.Duration.String(),
				`must be a number of seconds or a duration such as "30s" or "1m"`)
		}
	}
	if step.Analysis != nil {
		kinds++
	}
	for _, unsupported := range []struct {
		set  bool
		name string
		why  string
	}{
		{step.SetCanaryScale != nil, "setCanaryScale", "needs a traffic router, which is not supported yet"},
		{step.SetHeaderRoute != nil, "setHeaderRoute", "needs a traffic router, which is not supported yet"},
		{step.SetMirrorRoute != nil, "setMirrorRoute", "needs a traffic router, which is not supported yet"},
		{step.Experiment != nil, "experiment", "experiment steps are not supported"},
		{step.Plugin != nil, "plugin", "step plugins are not supported"},
	} {
		if unsupported.set {
			return field.Forbidden(path.Child(unsupported.name), unsupported.why)
		}
	}
	if kinds != 1 {
		return field.Invalid(path, "", "a step must have exactly one of setWeight, pause or analysis")
	}
	return nil
}

// isZero reports whether a maxSurge or maxUnavailable is explicitly zero
// (0 or "0%"); unset means the 25% default.
func isZero(v *intstr.IntOrString) bool {
	if v == nil {
		return false
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, 100, true)
	return err == nil && n == 0
}

// replicasOf is spec.replicas, which defaults to 1.
func replicasOf(ro *rolloutsv1alpha1.Rollout) int32 {
	if ro.Spec.Replicas == nil {
		return 1
	}
	return *ro.Spec.Replicas
}
