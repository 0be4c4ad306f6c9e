package gitops

import (
	kstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// healthyOnceApplied are the built-in kinds whose live object tells nothing
// that applying it did not: they have no status, or one that never says
// anything is wrong. A sync does not read them back, so an Application of
// five hundred ConfigMaps costs no read after its apply.
var healthyOnceApplied = map[string]bool{
	"/ConfigMap": true, "/Secret": true, "/ServiceAccount": true, "/Endpoints": true, "/LimitRange": true,
	"/ResourceQuota": true, "/PodTemplate": true,
	"rbac.authorization.k8s.io/Role": true, "rbac.authorization.k8s.io/RoleBinding": true,
	"rbac.authorization.k8s.io/ClusterRole": true, "rbac.authorization.k8s.io/ClusterRoleBinding": true,
	"networking.k8s.io/NetworkPolicy": true, "networking.k8s.io/IngressClass": true,
	"discovery.k8s.io/EndpointSlice": true, "policy/PodDisruptionBudget": true,
	"scheduling.k8s.io/PriorityClass": true, "storage.k8s.io/StorageClass": true, "storage.k8s.io/CSIDriver": true,
	"node.k8s.io/RuntimeClass": true, "coordination.k8s.io/Lease": true,
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration": true,
	"admissionregistration.k8s.io/MutatingWebhookConfiguration":   true,
	"argoproj.io/AnalysisTemplate":                                true, "argoproj.io/ClusterAnalysisTemplate": true,
}

// ReadsLiveHealth reports, from the object as rendered and without a
// request, whether its health needs its live object read back after a sync.
// Kinds that are healthy once applied are not read (healthyOnceApplied), nor
// a Service unless it is a LoadBalancer waiting for an address. Every other
// kind is read: the workloads, Rollouts and the other kinds with a rule in
// HealthOf, and any kind this list does not know, custom resources
// included, because a status may say it failed; kstatus then decides.
func ReadsLiveHealth(desired *unstructured.Unstructured) bool {
	gvk := desired.GroupVersionKind()
	if gvk.Group == "" && gvk.Kind == "Service" {
		kind, _, _ := unstructured.NestedString(desired.Object, "spec", "type")
		return kind == "LoadBalancer"
	}
	return !healthyOnceApplied[gvk.Group+"/"+gvk.Kind]
}

// healthRule is the health of one kind, read from its live object.
type healthRule func(*unstructured.Unstructured) gitopsv1alpha1.HealthStatus

// healthRules are the kinds with a rule of their own, keyed "group/Kind":
// the ones Argo CD knows (its built-in checks and its bundled ones for Argo
// Rollouts' kinds), so an Application moved over reports the same health.
// Any other kind is kstatus'.
var healthRules = map[string]healthRule{
	"apps/Deployment":                     deploymentHealth,
	"apps/StatefulSet":                    statefulSetHealth,
	"apps/DaemonSet":                      daemonSetHealth,
	"apps/ReplicaSet":                     replicaSetHealth,
	"batch/Job":                           jobHealth,
	"batch/CronJob":                       cronJobHealth,
	"/Pod":                                podHealth,
	"/PersistentVolumeClaim":              pvcHealth,
	"/Service":                            serviceHealth,
	"/Namespace":                          namespaceHealth,
	"networking.k8s.io/Ingress":           ingressHealth,
	"extensions/Ingress":                  ingressHealth,
	"autoscaling/HorizontalPodAutoscaler": hpaHealth,
	"apiregistration.k8s.io/APIService":   apiServiceHealth,
	"argoproj.io/Rollout":                 rolloutHealth,
	"argoproj.io/AnalysisRun":             analysisRunHealth,
	"argoproj.io/Experiment":              experimentHealth,
	"gitops.sluice.dev/Application":       applicationHealth,
}

// HealthOf is an object's health, from its live state: Missing when it is
// gone, Progressing while it is being deleted, its kind's rule when it has
// one (healthRules), and otherwise kstatus' reading of its status, where
// only Current is Healthy.
func HealthOf(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	if u == nil {
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthMissing}
	}
	if u.GetDeletionTimestamp() != nil {
		return progressing("pending deletion")
	}
	gvk := u.GroupVersionKind()
	if rule, ok := healthRules[gvk.Group+"/"+gvk.Kind]; ok {
		return rule(u)
	}
	return kstatusHealth(u)
}

func kstatusHealth(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	result, err := kstatus.Compute(u)
	if err != nil {
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthUnknown, Message: err.Error()}
	}
	switch result.Status {
	case kstatus.CurrentStatus:
		return healthy("")
	case kstatus.FailedStatus:
		return degraded(result.Message)
	case kstatus.NotFoundStatus:
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthMissing}
	case kstatus.InProgressStatus, kstatus.TerminatingStatus:
		return progressing(result.Message)
	default:
		return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthUnknown, Message: result.Message}
	}
}

func healthy(message string) gitopsv1alpha1.HealthStatus {
	return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthHealthy, Message: message}
}

func progressing(message string) gitopsv1alpha1.HealthStatus {
	return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthProgressing, Message: message}
}

func degraded(message string) gitopsv1alpha1.HealthStatus {
	return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthDegraded, Message: message}
}

func suspended(message string) gitopsv1alpha1.HealthStatus {
	return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthSuspended, Message: message}
}

func unknown(message string) gitopsv1alpha1.HealthStatus {
	return gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthUnknown, Message: message}
}
