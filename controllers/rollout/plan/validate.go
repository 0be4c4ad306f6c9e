package plan

import (
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sluicehq/sluice/traffic"
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
	routing, routingErr := traffic.SettingsOf(ro)
	if routingErr != nil {
		return field.Invalid(path.Child(routingErr.Field), field.OmitValueType{}, routingErr.Message)
	}
	maxWeight := int32(defaultMaxWeight)
	if routing != nil {
		maxWeight = routing.MaxWeight
		if err := validateRoutes(obs, routing, path.Child("trafficRouting", "plugins")); err != nil {
			return err
		}
		if canary.DynamicStableScale && canary.ScaleDownDelaySeconds != nil {
			return field.Invalid(path.Child("scaleDownDelaySeconds"), *canary.ScaleDownDelaySeconds,
				"dynamicStableScale scales the old stable down with its traffic: it takes no scaleDownDelaySeconds")
		}
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
		svc, ok := obs.Services[name.service]
		if !ok {
			return field.Invalid(path.Child(name.field), name.service, fmt.Sprintf("service %q not found", name.service))
		}
		// Two Rollouts steering one Service would fight over its selector.
		if owner := svc.Annotations[ManagedByAnnotation]; owner != "" && owner != ro.Name {
			return field.Invalid(path.Child(name.field), name.service, fmt.Sprintf("service %q is managed by Rollout %q", name.service, owner))
		}
	}
	if canary.CanaryService != "" && canary.CanaryService == canary.StableService {
		return field.Invalid(path.Child("stableService"), canary.StableService, "must differ from canaryService")
	}
	for i, step := range canary.Steps {
		if err := validateStep(step, routing != nil, maxWeight, path.Child("steps").Index(i)); err != nil {
			return err
		}
		if step.SetHeaderRoute != nil && routing != nil {
			if err := validateHeaderRoute(step.SetHeaderRoute, routing, path.Child("steps").Index(i).Child("setHeaderRoute")); err != nil {
				return err
			}
		}
		if step.Analysis != nil {
			if err := validateAnalysis(obs, step.Analysis, path.Child("steps").Index(i).Child("analysis")); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateStep(step rolloutsv1alpha1.CanaryStep, routed bool, maxWeight int32, path *field.Path) *field.Error {
	kinds := 0
	if step.SetWeight != nil {
		kinds++
		if *step.SetWeight < 0 || *step.SetWeight > maxWeight {
			return field.Invalid(path.Child("setWeight"), *step.SetWeight, fmt.Sprintf("must be between 0 and %d", maxWeight))
		}
	}
	needsRouter := "needs trafficRouting"
	if routed {
		needsRouter = "not supported yet with Sluice's Gateway API router"
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
	if step.SetHeaderRoute != nil && routed {
		kinds++
	}
	if step.SetCanaryScale != nil && routed {
		kinds++
		scale := step.SetCanaryScale
		set := 0
		for _, on := range []bool{scale.Weight != nil, scale.Replicas != nil, scale.MatchTrafficWeight} {
			if on {
				set++
			}
		}
		if set != 1 {
			return field.Invalid(path.Child("setCanaryScale"), field.OmitValueType{}, "set exactly one of weight, replicas or matchTrafficWeight")
		}
		if scale.Weight != nil && (*scale.Weight < 0 || *scale.Weight > maxWeight) {
			return field.Invalid(path.Child("setCanaryScale", "weight"), *scale.Weight, fmt.Sprintf("must be between 0 and %d", maxWeight))
		}
		if scale.Replicas != nil && *scale.Replicas < 0 {
			return field.Invalid(path.Child("setCanaryScale", "replicas"), *scale.Replicas, "must not be negative")
		}
	}
	for _, unsupported := range []struct {
		set  bool
		name string
		why  string
	}{
		{step.SetCanaryScale != nil && !routed, "setCanaryScale", needsRouter},
		{step.SetHeaderRoute != nil && !routed, "setHeaderRoute", needsRouter},
		{step.SetMirrorRoute != nil, "setMirrorRoute", "mirroring is not supported"},
		{step.Experiment != nil, "experiment", "experiment steps are not supported"},
		{step.Plugin != nil, "plugin", "step plugins are not supported"},
	} {
		if unsupported.set {
			return field.Forbidden(path.Child(unsupported.name), unsupported.why)
		}
	}
	if kinds != 1 {
		return field.Invalid(path, "", "a step must have exactly one of setWeight, pause, analysis or, with trafficRouting, setCanaryScale or setHeaderRoute")
	}
	return nil
}

// validateRoutes checks that every route the traffic routing names exists
// and sends to both the canary and the stable Service.
func validateRoutes(obs Observation, routing *traffic.Settings, path *field.Path) *field.Error {
	for _, key := range obs.MissingRoutes {
		return field.Invalid(path, field.OmitValueType{}, key.String()+" not found")
	}
	for _, route := range obs.Routes {
		if !route.Serves(routing.CanaryService, routing.StableService) {
			return field.Invalid(path, field.OmitValueType{}, fmt.Sprintf(
				"%s has no rule with both the canary Service %q and the stable Service %q as backends",
				route.Key, routing.CanaryService, routing.StableService))
		}
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
