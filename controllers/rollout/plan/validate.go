package plan

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

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
	if err := validateSpecNumbers(ro, spec); err != nil {
		return err
	}

	strategy := spec.Child("strategy")
	switch bg, canary := ro.Spec.Strategy.BlueGreen, ro.Spec.Strategy.Canary; {
	case bg != nil && canary != nil:
		return field.Invalid(strategy, field.OmitValueType{}, "set one of canary or blueGreen, not both")
	case bg != nil:
		return validateBlueGreen(ro, obs, strategy.Child("blueGreen"))
	case canary == nil:
		return field.Required(strategy, "a strategy is required: canary or blueGreen")
	}
	return validateCanary(ro, obs, strategy.Child("canary"))
}

// validateSpecNumbers checks the Rollout's own counts and durations, which
// Argo's CRD leaves unbounded: a negative revisionHistoryLimit once had the
// planner delete more old ReplicaSets than there were. The rules are Argo's.
func validateSpecNumbers(ro *rolloutsv1alpha1.Rollout, spec *field.Path) *field.Error {
	if err := firstNegative(
		counted{spec.Child("replicas"), ro.Spec.Replicas},
		counted{spec.Child("minReadySeconds"), &ro.Spec.MinReadySeconds},
		counted{spec.Child("revisionHistoryLimit"), ro.Spec.RevisionHistoryLimit},
		counted{spec.Child("progressDeadlineSeconds"), ro.Spec.ProgressDeadlineSeconds},
	); err != nil {
		return err
	}
	// A deadline no longer than minReadySeconds runs out before a new pod
	// can count as available: every rollout would time out.
	deadline := int32(defaultProgressDeadline / time.Second)
	if ro.Spec.ProgressDeadlineSeconds != nil {
		deadline = *ro.Spec.ProgressDeadlineSeconds
	}
	if deadline <= ro.Spec.MinReadySeconds {
		return field.Invalid(spec.Child("progressDeadlineSeconds"), deadline,
			fmt.Sprintf("must be greater than minReadySeconds (%d)", ro.Spec.MinReadySeconds))
	}
	return nil
}

// counted is an optional count or number of seconds, with its field.
type counted struct {
	path  *field.Path
	value *int32
}

// firstNegative returns the first of fields that is set and negative.
func firstNegative(fields ...counted) *field.Error {
	for _, f := range fields {
		if f.value != nil && *f.value < 0 {
			return field.Invalid(f.path, *f.value, "must not be negative")
		}
	}
	return nil
}

func validateBlueGreen(ro *rolloutsv1alpha1.Rollout, obs Observation, path *field.Path) *field.Error {
	bg := ro.Spec.Strategy.BlueGreen
	if bg.ActiveService == "" {
		return field.Required(path.Child("activeService"), "a blue-green Rollout needs an active Service")
	}
	if err := validateServices(ro, obs, path, namedService{"activeService", bg.ActiveService}, namedService{"previewService", bg.PreviewService}); err != nil {
		return err
	}
	if bg.PreviewService == bg.ActiveService {
		return field.Invalid(path.Child("previewService"), bg.PreviewService, "must differ from activeService")
	}
	if err := firstNegative(
		counted{path.Child("previewReplicaCount"), bg.PreviewReplicaCount},
		counted{path.Child("autoPromotionSeconds"), &bg.AutoPromotionSeconds},
		counted{path.Child("scaleDownDelaySeconds"), bg.ScaleDownDelaySeconds},
		counted{path.Child("scaleDownDelayRevisionLimit"), bg.ScaleDownDelayRevisionLimit},
		counted{path.Child("abortScaleDownDelaySeconds"), bg.AbortScaleDownDelaySeconds},
	); err != nil {
		return err
	}
	if _, err := resolveLimits(&zeroSurge, bg.MaxUnavailable, replicasOf(ro)); err != nil {
		return limitInvalid(err, path)
	}
	if err := validateAntiAffinity(bg.AntiAffinity, path.Child("antiAffinity")); err != nil {
		return err
	}
	if err := validatePreviewRoute(ro, obs); err != nil {
		return err
	}
	for _, analysis := range []struct {
		field    string
		analysis *rolloutsv1alpha1.RolloutAnalysis
	}{{"prePromotionAnalysis", bg.PrePromotionAnalysis}, {"postPromotionAnalysis", bg.PostPromotionAnalysis}} {
		if analysis.analysis == nil {
			continue
		}
		if err := validateAnalysis(obs, analysis.analysis, path.Child(analysis.field)); err != nil {
			return err
		}
	}
	return nil
}

// validatePreviewRoute checks a blue-green Rollout's preview header route
// annotation, and that its route exists and sends to the active Service.
func validatePreviewRoute(ro *rolloutsv1alpha1.Rollout, obs Observation) *field.Error {
	path := field.NewPath("metadata", "annotations").Key(traffic.PreviewHeaderRouteAnnotation)
	settings, err := traffic.PreviewSettingsOf(ro)
	switch {
	case err != nil:
		return field.Invalid(path, field.OmitValueType{}, err.Error())
	case settings == nil:
		return nil
	}
	for _, key := range obs.MissingRoutes {
		return field.Invalid(path, field.OmitValueType{}, key.String()+" not found")
	}
	for _, route := range obs.Routes {
		if !route.SendsTo(settings.HeaderSource) {
			return field.Invalid(path, field.OmitValueType{}, fmt.Sprintf(
				"%s has no rule that sends to the active Service %q", route.Key, settings.HeaderSource))
		}
	}
	return nil
}

// validateAntiAffinity checks that an antiAffinity sets exactly one of its
// two kinds, and a preferred one a weight Kubernetes accepts.
func validateAntiAffinity(anti *rolloutsv1alpha1.AntiAffinity, path *field.Path) *field.Error {
	if anti == nil {
		return nil
	}
	preferred, required := anti.PreferredDuringSchedulingIgnoredDuringExecution, anti.RequiredDuringSchedulingIgnoredDuringExecution
	if (preferred == nil) == (required == nil) {
		return field.Invalid(path, field.OmitValueType{},
			"set exactly one of preferredDuringSchedulingIgnoredDuringExecution or requiredDuringSchedulingIgnoredDuringExecution")
	}
	if preferred != nil && (preferred.Weight < 1 || preferred.Weight > 100) {
		return field.Invalid(path.Child("preferredDuringSchedulingIgnoredDuringExecution", "weight"), preferred.Weight, "must be between 1 and 100")
	}
	return nil
}

// namedService is a Service a strategy names, with the field that names it.
type namedService struct {
	field, name string
}

// validateServices checks that every Service named exists and that no
// other Rollout steers it: two Rollouts would fight over its selector.
func validateServices(ro *rolloutsv1alpha1.Rollout, obs Observation, path *field.Path, services ...namedService) *field.Error {
	for _, named := range services {
		if named.name == "" {
			continue
		}
		svc, ok := obs.Services[named.name]
		if !ok {
			return field.Invalid(path.Child(named.field), named.name, fmt.Sprintf("service %q not found", named.name))
		}
		if owner := svc.Annotations[rolloutsv1alpha1.ManagedByRolloutsKey]; owner != "" && owner != ro.Name {
			return field.Invalid(path.Child(named.field), named.name, fmt.Sprintf("service %q is managed by Rollout %q", named.name, owner))
		}
	}
	return nil
}

func validateCanary(ro *rolloutsv1alpha1.Rollout, obs Observation, path *field.Path) *field.Error {
	canary := ro.Spec.Strategy.Canary
	routing, routingErr := traffic.SettingsOf(ro)
	if routingErr != nil {
		return field.Invalid(path.Child(routingErr.Field), field.OmitValueType{}, routingErr.Message)
	}
	if err := firstNegative(
		counted{path.Child("scaleDownDelaySeconds"), canary.ScaleDownDelaySeconds},
		counted{path.Child("scaleDownDelayRevisionLimit"), canary.ScaleDownDelayRevisionLimit},
		counted{path.Child("abortScaleDownDelaySeconds"), canary.AbortScaleDownDelaySeconds},
		counted{path.Child("minPodsPerReplicaSet"), canary.MinPodsPerReplicaSet},
	); err != nil {
		return err
	}
	if err := refuseUnroutedFields(canary, routing != nil, path); err != nil {
		return err
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
		return limitInvalid(err, path)
	}
	if isZero(canary.MaxSurge) && isZero(canary.MaxUnavailable) {
		return field.Invalid(path.Child("maxUnavailable"), canary.MaxUnavailable.String(),
			"maxSurge and maxUnavailable cannot both be 0")
	}
	if err := validateServices(ro, obs, path, namedService{"canaryService", canary.CanaryService}, namedService{"stableService", canary.StableService}); err != nil {
		return err
	}
	if err := validateAntiAffinity(canary.AntiAffinity, path.Child("antiAffinity")); err != nil {
		return err
	}
	if err := validateReplicaProgressThreshold(canary.ReplicaProgressThreshold, path.Child("replicaProgressThreshold")); err != nil {
		return err
	}
	if canary.CanaryService != "" && canary.CanaryService == canary.StableService {
		return field.Invalid(path.Child("stableService"), canary.StableService, "must differ from canaryService")
	}
	// The canary's weight at each step: that of the last setWeight.
	var canaryWeight int32
	for i, step := range canary.Steps {
		if err := validateStep(step, routing != nil, maxWeight, path.Child("steps").Index(i)); err != nil {
			return err
		}
		if step.SetWeight != nil {
			canaryWeight = *step.SetWeight
		}
		if step.SetHeaderRoute != nil && routing != nil {
			if err := validateHeaderRoute(step.SetHeaderRoute, routing, path.Child("steps").Index(i).Child("setHeaderRoute")); err != nil {
				return err
			}
		}
		if step.SetMirrorRoute != nil && routing != nil {
			if err := validateMirrorRoute(step.SetMirrorRoute, routing, path.Child("steps").Index(i).Child("setMirrorRoute")); err != nil {
				return err
			}
		}
		if step.Analysis != nil {
			if err := validateAnalysis(obs, step.Analysis, path.Child("steps").Index(i).Child("analysis")); err != nil {
				return err
			}
		}
		if step.Experiment != nil {
			share := experimentShare{routed: routing != nil, maxWeight: maxWeight, canaryWeight: canaryWeight}
			if err := validateExperimentStep(obs, step.Experiment, share, path.Child("steps").Index(i).Child("experiment")); err != nil {
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
		if step.Pause.Duration != nil {
			if err := validatePauseDuration(*step.Pause.Duration, path.Child("pause", "duration")); err != nil {
				return err
			}
		}
	}
	if step.Analysis != nil {
		kinds++
	}
	if step.Experiment != nil {
		kinds++
	}
	if step.SetHeaderRoute != nil && routed {
		kinds++
	}
	if step.SetMirrorRoute != nil && routed {
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
		{step.SetMirrorRoute != nil && !routed, "setMirrorRoute", needsRouter},
		{step.Plugin != nil, "plugin", "step plugins are not supported"},
	} {
		if unsupported.set {
			return field.Forbidden(path.Child(unsupported.name), unsupported.why)
		}
	}
	if kinds != 1 {
		return field.Invalid(path, "", "a step must have exactly one of setWeight, pause, analysis, experiment or, with trafficRouting, setCanaryScale, setHeaderRoute or setMirrorRoute")
	}
	return nil
}

// validatePauseDuration checks a pause's duration: a number of seconds or a
// Go duration, neither negative nor longer than the int32 seconds Argo's
// RolloutPause.DurationSeconds counts in, which would wrap a longer one
// around to a short or negative pause.
func validatePauseDuration(duration intstr.IntOrString, path *field.Path) *field.Error {
	var value any = duration.IntVal
	seconds := int64(duration.IntVal)
	if duration.Type == intstr.String {
		value = duration.StrVal
		n, err := strconv.ParseInt(duration.StrVal, 10, 32)
		if err != nil {
			d, durationErr := time.ParseDuration(duration.StrVal)
			if durationErr != nil {
				return field.Invalid(path, value, `must be a number of seconds or a duration such as "30s" or "1m"`)
			}
			n = int64(d / time.Second)
		}
		seconds = n
	}
	switch {
	case seconds < 0:
		return field.Invalid(path, value, "must not be negative")
	case seconds > math.MaxInt32:
		return field.Invalid(path, value, fmt.Sprintf("must be at most %d seconds", math.MaxInt32))
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

// limitInvalid is the InvalidSpec error for a resolveLimits error, naming
// maxSurge or maxUnavailable under the strategy's path.
func limitInvalid(err error, strategy *field.Path) *field.Error {
	var limit *limitError
	if !errors.As(err, &limit) {
		return field.InternalError(strategy, err)
	}
	return field.Invalid(strategy.Child(limit.field), limit.value, limit.why)
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
