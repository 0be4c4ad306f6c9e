package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The fields of Argo Rollouts' RolloutSpec, by JSON path under spec ("[]"
// for a list's items), sorted by what Sluice does with them. Every field is
// either honoured or refused with an InvalidSpec condition naming it; none
// is silently ignored. TestEveryRolloutSpecFieldIsHonouredOrRefused walks
// the type and fails on a field in neither list, so a field a newer Argo
// adds must be decided on here, and in docs/compatibility.md, whose rows say
// how each is honoured or why it is refused. Honoured fields are listed one
// by one (Kubernetes' own types, such as the pod template, count as one);
// a refused entry covers everything under it.
var (
	HonouredFields = join(
		[]string{
			"replicas", "selector", "template", "minReadySeconds", "revisionHistoryLimit", "paused",
			"progressDeadlineSeconds", "progressDeadlineAbort", "restartAt", "rollbackWindow.revisions",
			"workloadRef.apiVersion", "workloadRef.kind", "workloadRef.name", "workloadRef.scaleDown",
			"analysis.successfulRunHistoryLimit", "analysis.unsuccessfulRunHistoryLimit",

			"strategy.blueGreen.activeService", "strategy.blueGreen.previewService",
			"strategy.blueGreen.previewReplicaCount", "strategy.blueGreen.autoPromotionEnabled",
			"strategy.blueGreen.autoPromotionSeconds", "strategy.blueGreen.maxUnavailable",
			"strategy.blueGreen.scaleDownDelaySeconds", "strategy.blueGreen.scaleDownDelayRevisionLimit",
			"strategy.blueGreen.abortScaleDownDelaySeconds",

			"strategy.canary.canaryService", "strategy.canary.stableService",
			"strategy.canary.maxSurge", "strategy.canary.maxUnavailable",
			"strategy.canary.analysis.startingStep",
			// With trafficRouting only. Without it, the first and the
			// fourth are refused, as in Argo (refuseUnroutedFields), and
			// the rest have no effect, as in Argo.
			"strategy.canary.scaleDownDelaySeconds", "strategy.canary.scaleDownDelayRevisionLimit",
			"strategy.canary.abortScaleDownDelaySeconds", "strategy.canary.dynamicStableScale",
			"strategy.canary.minPodsPerReplicaSet",
			"strategy.canary.replicaProgressThreshold.type", "strategy.canary.replicaProgressThreshold.value",

			"strategy.canary.steps[].setWeight", "strategy.canary.steps[].pause.duration",
			// With trafficRouting only, as in Argo.
			"strategy.canary.steps[].setCanaryScale.weight", "strategy.canary.steps[].setCanaryScale.replicas",
			"strategy.canary.steps[].setCanaryScale.matchTrafficWeight",
			"strategy.canary.steps[].setHeaderRoute.name", "strategy.canary.steps[].setHeaderRoute.match[].headerName",
			"strategy.canary.steps[].setMirrorRoute.name", "strategy.canary.steps[].setMirrorRoute.percentage",
			"strategy.canary.steps[].setMirrorRoute.match[].method.exact",
			"strategy.canary.steps[].setMirrorRoute.match[].headers",

			// The Gateway API router, configured under
			// plugins["argoproj-labs/gatewayAPI"]; any other plugin is
			// refused.
			"strategy.canary.trafficRouting.plugins", "strategy.canary.trafficRouting.managedRoutes[].name",
			"strategy.canary.trafficRouting.maxTrafficWeight",
		},
		experimentStepFields("strategy.canary.steps[].experiment"),
		stringMatchFields("strategy.canary.steps[].setHeaderRoute.match[].headerValue"),
		stringMatchFields("strategy.canary.steps[].setMirrorRoute.match[].path"),
		analysisFields("strategy.canary.steps[].analysis"),
		analysisFields("strategy.canary.analysis"),
		analysisFields("strategy.blueGreen.prePromotionAnalysis"),
		analysisFields("strategy.blueGreen.postPromotionAnalysis"),
		antiAffinityFields("strategy.canary.antiAffinity"),
		antiAffinityFields("strategy.blueGreen.antiAffinity"),
		metadataFields("strategy.canary.canaryMetadata"),
		metadataFields("strategy.canary.stableMetadata"),
		metadataFields("strategy.blueGreen.previewMetadata"),
		metadataFields("strategy.blueGreen.activeMetadata"),
	)

	RefusedFields = []string{
		// Traffic routers other than Gateway API.
		"strategy.canary.trafficRouting.istio", "strategy.canary.trafficRouting.nginx",
		"strategy.canary.trafficRouting.alb", "strategy.canary.trafficRouting.smi",
		"strategy.canary.trafficRouting.ambassador", "strategy.canary.trafficRouting.appMesh",
		"strategy.canary.trafficRouting.traefik", "strategy.canary.trafficRouting.apisix",
		// Ping-pong swaps two Services between the revisions; Sluice's
		// router weights a canary and a stable Service.
		"strategy.canary.pingPong",
		"strategy.canary.steps[].plugin",
		// Gateway API matches a method exactly (traffic.MirrorMethodMatch).
		"strategy.canary.steps[].setMirrorRoute.match[].method.prefix",
		"strategy.canary.steps[].setMirrorRoute.match[].method.regex",
	}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// experimentStepFields are the fields of a canary experiment step that
// Sluice honours: all of them; a template's weight with trafficRouting
// only, as in Argo.
func experimentStepFields(prefix string) []string {
	return join([]string{
		prefix + ".templates[].name", prefix + ".templates[].specRef", prefix + ".templates[].replicas",
		prefix + ".templates[].selector", prefix + ".templates[].service.name", prefix + ".templates[].weight",
		prefix + ".duration", prefix + ".scaleDownDelaySeconds",
		prefix + ".analyses[].name", prefix + ".analyses[].templateName", prefix + ".analyses[].clusterScope",
		prefix + ".analyses[].args[].name", prefix + ".analyses[].args[].value",
		prefix + ".analyses[].args[].valueFrom.podTemplateHashValue", prefix + ".analyses[].args[].valueFrom.fieldRef.fieldPath",
		prefix + ".analyses[].requiredForCompletion",
		prefix + ".dryRun[].metricName",
	}, metadataFields(prefix+".templates[].metadata"), metadataFields(prefix+".analysisRunMetadata"))
}

func stringMatchFields(prefix string) []string {
	return []string{prefix + ".exact", prefix + ".prefix", prefix + ".regex"}
}

func metadataFields(prefix string) []string {
	return []string{prefix + ".labels", prefix + ".annotations"}
}

func antiAffinityFields(prefix string) []string {
	return []string{
		prefix + ".preferredDuringSchedulingIgnoredDuringExecution.weight",
		prefix + ".requiredDuringSchedulingIgnoredDuringExecution",
	}
}

// analysisFields are the fields of a RolloutAnalysis.
func analysisFields(prefix string) []string {
	return join([]string{
		prefix + ".templates[].templateName", prefix + ".templates[].clusterScope",
		prefix + ".args[].name", prefix + ".args[].value",
		prefix + ".args[].valueFrom.podTemplateHashValue", prefix + ".args[].valueFrom.fieldRef.fieldPath",
		prefix + ".dryRun[].metricName",
		prefix + ".measurementRetention[].metricName", prefix + ".measurementRetention[].limit",
	}, metadataFields(prefix+".analysisRunMetadata"))
}

// refuseUnroutedFields refuses the canary fields Sluice does not act on:
// pingPong always, and without trafficRouting the two Argo refuses there
// too. The other fields only a routed canary uses (minPodsPerReplicaSet,
// abortScaleDownDelaySeconds, scaleDownDelayRevisionLimit) Argo accepts
// and ignores without routing, so Sluice does the same: refusing them would
// break Rollouts that work on Argo.
func refuseUnroutedFields(canary *rolloutsv1alpha1.CanaryStrategy, routed bool, path *field.Path) *field.Error {
	if canary.PingPong != nil {
		return field.Forbidden(path.Child("pingPong"),
			"not supported: Sluice's Gateway API router weights canaryService and stableService; use those")
	}
	if routed {
		return nil
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"scaleDownDelaySeconds", canary.ScaleDownDelaySeconds != nil},
		{"dynamicStableScale", canary.DynamicStableScale},
	} {
		if f.set {
			return field.Forbidden(path.Child(f.name),
				"needs trafficRouting: without it the old pods go as the new ones come, by replica counts")
		}
	}
	return nil
}
