// Package rolloutmeta holds what Argo Rollouts' controller and its tools
// both name: a ReplicaSet's revision annotation and how a canary step is
// described. The Rollout controller writes them and kubectl sluice reads
// them; neither needs the other for it.
package rolloutmeta

import (
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// RevisionAnnotation numbers a ReplicaSet's revision of the Rollout, with
// Argo Rollouts' name. The other label and annotation names Sluice shares
// with Argo (the pod-template hash, managed-by-rollouts, the instance id,
// the scale-down deadline) come from Argo's API package; this one lives in
// Argo's controller utilities, which are not worth importing for a string.
const RevisionAnnotation = "rollout.argoproj.io/revision"

// DescribeStep names a canary step as Argo Rollouts' events and tools show
// it, such as "setWeight: 20", "pause: 1m" or "pause" (with no duration).
func DescribeStep(step rolloutsv1alpha1.CanaryStep) string {
	switch {
	case step.SetWeight != nil:
		return fmt.Sprintf("setWeight: %d", *step.SetWeight)
	case step.Pause != nil && step.Pause.Duration != nil:
		return "pause: " + step.Pause.Duration.String()
	case step.Pause != nil:
		return "pause"
	case step.Experiment != nil:
		return "experiment"
	case step.Analysis != nil:
		return "analysis"
	case step.SetCanaryScale != nil && step.SetCanaryScale.Weight != nil:
		return fmt.Sprintf("setCanaryScale{weight: %d}", *step.SetCanaryScale.Weight)
	case step.SetCanaryScale != nil && step.SetCanaryScale.MatchTrafficWeight:
		return "setCanaryScale{matchTrafficWeight: true}"
	case step.SetCanaryScale != nil && step.SetCanaryScale.Replicas != nil:
		return fmt.Sprintf("setCanaryScale{replicas: %d}", *step.SetCanaryScale.Replicas)
	case step.Plugin != nil:
		return "plugin: " + step.Plugin.Name
	case step.SetHeaderRoute != nil:
		return "setHeaderRoute: " + step.SetHeaderRoute.Name
	case step.SetMirrorRoute != nil:
		return "setMirrorRoute: " + step.SetMirrorRoute.Name
	}
	return "invalid"
}
