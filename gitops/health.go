package gitops

import (
	"fmt"

	kstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// HasHealth reports whether objects of a kind have a health worth reading
// after a sync; the others (ConfigMaps, Services, RBAC...) are healthy once
// applied, so a sync of many of them reads nothing back.
func HasHealth(group, kind string) bool {
	switch group + "/" + kind {
	case "apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "apps/ReplicaSet", "batch/Job",
		"/PersistentVolumeClaim", "/Pod", "argoproj.io/Rollout", "gitops.sluice.dev/Application":
		return true
	}
	return false
}

// HealthOf is an object's health. A Rollout's follows its phase (Paused is
// Suspended, as in Argo CD); an Application's its own status; other kinds
// kstatus' reading of their status.
func HealthOf(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	if u == nil {
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthMissing}
	}
	gvk := u.GroupVersionKind()
	switch gvk.Group + "/" + gvk.Kind {
	case "argoproj.io/Rollout":
		return rolloutHealth(u)
	case "gitops.sluice.dev/Application":
		status, _, _ := unstructured.NestedString(u.Object, "status", "health", "status")
		message, _, _ := unstructured.NestedString(u.Object, "status", "health", "message")
		if status == "" {
			return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthProgressing, Message: "not synced yet"}
		}
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthStatusCode(status), Message: message}
	}
	result, err := kstatus.Compute(u)
	if err != nil {
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthUnknown, Message: err.Error()}
	}
	switch result.Status {
	case kstatus.CurrentStatus:
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthHealthy}
	case kstatus.FailedStatus:
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthDegraded, Message: result.Message}
	case kstatus.NotFoundStatus:
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthMissing}
	default:
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthProgressing, Message: result.Message}
	}
}

func rolloutHealth(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	message, _, _ := unstructured.NestedString(u.Object, "status", "message")
	observed, _, _ := unstructured.NestedString(u.Object, "status", "observedGeneration")
	if observed != fmt.Sprint(u.GetGeneration()) {
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthProgressing, Message: "waiting for the rollout controller to see the new spec"}
	}
	switch phase {
	case "Healthy":
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthHealthy}
	case "Paused":
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthSuspended, Message: message}
	case "Degraded":
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthDegraded, Message: message}
	default:
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthProgressing, Message: message}
	}
}
