package gitops

import (
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// The rules of Kubernetes' own kinds. They read what Argo CD's built-in
// checks read, so an Application moved over from Argo CD reports the
// same health: a workload is Healthy once its controller saw the
// current spec and every replica is updated and available.

// typed converts a live object into its API type; a rule reads typed
// fields rather than walking maps.
func typed[T any](u *unstructured.Unstructured) (*T, error) {
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return out, nil
}

// readTyped runs a rule over the typed object, Unknown when the object
// does not convert.
func readTyped[T any](rule func(*T) gitopsv1alpha1.HealthStatus) healthRule {
	return func(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
		obj, err := typed[T](u)
		if err != nil {
			return unknown(err.Error())
		}
		return rule(obj)
	}
}

var (
	deploymentHealth  = readTyped(deploymentHealthOf)
	statefulSetHealth = readTyped(statefulSetHealthOf)
	daemonSetHealth   = readTyped(daemonSetHealthOf)
	replicaSetHealth  = readTyped(replicaSetHealthOf)
	jobHealth         = readTyped(jobHealthOf)
	cronJobHealth     = readTyped(cronJobHealthOf)
	podHealth         = readTyped(podHealthOf)
	pvcHealth         = readTyped(pvcHealthOf)
	serviceHealth     = readTyped(serviceHealthOf)
	namespaceHealth   = readTyped(namespaceHealthOf)
)

func deploymentHealthOf(d *appsv1.Deployment) gitopsv1alpha1.HealthStatus {
	if d.Spec.Paused {
		return suspended("the deployment is paused")
	}
	if d.Status.ObservedGeneration < d.Generation {
		return progressing("waiting for the deployment controller to see the new spec")
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return degraded(fmt.Sprintf("the deployment exceeded its progress deadline: %s", c.Message))
		}
	}
	want := replicas(d.Spec.Replicas)
	switch st := d.Status; {
	case st.UpdatedReplicas < want:
		return progressing(fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want))
	case st.Replicas > st.UpdatedReplicas:
		return progressing(fmt.Sprintf("%d old replicas waiting to terminate", st.Replicas-st.UpdatedReplicas))
	case st.AvailableReplicas < st.UpdatedReplicas:
		return progressing(fmt.Sprintf("%d of %d updated replicas available", st.AvailableReplicas, st.UpdatedReplicas))
	}
	return healthy("")
}

func statefulSetHealthOf(s *appsv1.StatefulSet) gitopsv1alpha1.HealthStatus {
	if s.Status.ObservedGeneration == 0 || s.Status.ObservedGeneration < s.Generation {
		return progressing("waiting for the statefulset controller to see the new spec")
	}
	want := replicas(s.Spec.Replicas)
	if s.Status.ReadyReplicas < want {
		return progressing(fmt.Sprintf("%d of %d pods ready", s.Status.ReadyReplicas, want))
	}
	strategy := s.Spec.UpdateStrategy
	if strategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return healthy("updated only as pods are deleted (OnDelete)")
	}
	if strategy.RollingUpdate != nil && strategy.RollingUpdate.Partition != nil {
		// A partitioned update stops at the partition on purpose.
		if due := want - *strategy.RollingUpdate.Partition; s.Status.UpdatedReplicas < due {
			return progressing(fmt.Sprintf("%d of %d pods above the partition updated", s.Status.UpdatedReplicas, due))
		}
		return healthy("")
	}
	if s.Status.UpdateRevision != s.Status.CurrentRevision {
		return progressing(fmt.Sprintf("%d pods at revision %s; the update goes on", s.Status.UpdatedReplicas, s.Status.UpdateRevision))
	}
	return healthy("")
}

func daemonSetHealthOf(d *appsv1.DaemonSet) gitopsv1alpha1.HealthStatus {
	if d.Status.ObservedGeneration < d.Generation {
		return progressing("waiting for the daemonset controller to see the new spec")
	}
	if d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		return healthy("updated only as pods are deleted (OnDelete)")
	}
	st := d.Status
	switch {
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return progressing(fmt.Sprintf("%d of %d pods updated", st.UpdatedNumberScheduled, st.DesiredNumberScheduled))
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return progressing(fmt.Sprintf("%d of %d pods available", st.NumberAvailable, st.DesiredNumberScheduled))
	}
	return healthy("")
}

func replicaSetHealthOf(r *appsv1.ReplicaSet) gitopsv1alpha1.HealthStatus {
	if r.Status.ObservedGeneration < r.Generation {
		return progressing("waiting for the replicaset controller to see the new spec")
	}
	for _, c := range r.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			return degraded(c.Message)
		}
	}
	if want := replicas(r.Spec.Replicas); r.Status.AvailableReplicas < want {
		return progressing(fmt.Sprintf("%d of %d replicas available", r.Status.AvailableReplicas, want))
	}
	return healthy("")
}

func jobHealthOf(j *batchv1.Job) gitopsv1alpha1.HealthStatus {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed:
			return degraded(c.Message)
		case batchv1.JobComplete:
			return healthy(c.Message)
		case batchv1.JobSuspended:
			return suspended(c.Message)
		}
	}
	return progressing(fmt.Sprintf("%d active, %d succeeded", j.Status.Active, j.Status.Succeeded))
}

// cronJobHealthOf follows what a CronJob's status can tell: suspended, or
// its last run failed (scheduled after the last success, and none
// running). It cannot tell a schedule that never fires, so one not run yet
// is Healthy.
func cronJobHealthOf(c *batchv1.CronJob) gitopsv1alpha1.HealthStatus {
	if c.Spec.Suspend != nil && *c.Spec.Suspend {
		return suspended("the cronjob is suspended")
	}
	st := c.Status
	if st.LastScheduleTime != nil && st.LastSuccessfulTime != nil && len(st.Active) == 0 &&
		st.LastSuccessfulTime.Before(st.LastScheduleTime) {
		return degraded("the last run did not succeed")
	}
	return healthy("")
}

func podHealthOf(p *corev1.Pod) gitopsv1alpha1.HealthStatus {
	// A long-running pod whose container cannot start is failing now, even
	// while its phase still says Pending. A pod that runs to completion is
	// left to its phase: it may be waiting on something it needs.
	if p.Spec.RestartPolicy == corev1.RestartPolicyAlways || p.Spec.RestartPolicy == "" {
		var failing []string
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil && (strings.HasPrefix(w.Reason, "Err") ||
				strings.HasSuffix(w.Reason, "Error") || strings.HasSuffix(w.Reason, "BackOff")) {
				failing = append(failing, fmt.Sprintf("container %s: %s %s", c.Name, w.Reason, w.Message))
			}
		}
		if len(failing) > 0 {
			return degraded(strings.Join(failing, "; "))
		}
	}
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		return healthy(p.Status.Message)
	case corev1.PodFailed:
		return degraded(podFailure(p))
	case corev1.PodRunning:
		if p.Spec.RestartPolicy != corev1.RestartPolicyAlways && p.Spec.RestartPolicy != "" {
			return progressing("running to completion")
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return healthy(p.Status.Message)
			}
		}
		for _, c := range p.Status.ContainerStatuses {
			if c.LastTerminationState.Terminated != nil {
				return degraded(fmt.Sprintf("container %s restarted and is not ready", c.Name))
			}
		}
		return progressing("waiting to be ready")
	case corev1.PodPending:
		return progressing(p.Status.Message)
	}
	return unknown(p.Status.Message)
}

// podFailure says why a pod failed: its own message, else the first
// container that ended badly.
func podFailure(p *corev1.Pod) string {
	if p.Status.Message != "" {
		return p.Status.Message
	}
	for _, c := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		t := c.State.Terminated
		switch {
		case t == nil:
		case t.Message != "":
			return t.Message
		case t.Reason == "OOMKilled":
			return fmt.Sprintf("container %s: OOMKilled", c.Name)
		case t.ExitCode != 0:
			return fmt.Sprintf("container %s exited with code %d", c.Name, t.ExitCode)
		}
	}
	return "the pod failed"
}

func pvcHealthOf(p *corev1.PersistentVolumeClaim) gitopsv1alpha1.HealthStatus {
	switch p.Status.Phase {
	case corev1.ClaimBound:
		return healthy("")
	case corev1.ClaimPending:
		return progressing("waiting for a volume to be bound")
	case corev1.ClaimLost:
		return degraded("the bound volume is lost")
	}
	return unknown(fmt.Sprintf("phase %q", p.Status.Phase))
}

// serviceHealthOf: only a LoadBalancer waits, for its address.
func serviceHealthOf(s *corev1.Service) gitopsv1alpha1.HealthStatus {
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Status.LoadBalancer.Ingress) == 0 {
		return progressing("waiting for the load balancer's address")
	}
	return healthy("")
}

// ingressHealth reads status.loadBalancer.ingress, the same field in
// every version of Ingress.
func ingressHealth(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	if addresses, _, _ := unstructured.NestedSlice(u.Object, "status", "loadBalancer", "ingress"); len(addresses) > 0 {
		return healthy("")
	}
	return progressing("waiting for the ingress controller's address")
}

func namespaceHealthOf(n *corev1.Namespace) gitopsv1alpha1.HealthStatus {
	if n.Status.Phase == corev1.NamespaceTerminating {
		return progressing("the namespace is terminating")
	}
	return healthy("")
}

// hpaHealth reads a HorizontalPodAutoscaler's conditions: in status at
// autoscaling/v2 and its betas, in an annotation when read at
// autoscaling/v1. It is Degraded when it cannot read its target's scale or
// metrics, Healthy once it is able to scale.
func hpaHealth(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	if v1, ok := u.GetAnnotations()["autoscaling.alpha.kubernetes.io/conditions"]; ok && len(conditions) == 0 {
		if err := json.Unmarshal([]byte(v1), &conditions); err != nil {
			return unknown("reading the autoscaler's conditions: " + err.Error())
		}
	}
	failing := map[string]bool{
		"AbleToScale/FailedGetScale": true, "AbleToScale/FailedUpdateScale": true,
		"ScalingActive/FailedGetResourceMetric": true, "ScalingActive/InvalidSelector": true,
	}
	for _, raw := range conditions {
		c, _ := raw.(map[string]any)
		kind, _ := c["type"].(string)
		reason, _ := c["reason"].(string)
		status, _ := c["status"].(string)
		message, _ := c["message"].(string)
		if failing[kind+"/"+reason] {
			return degraded(message)
		}
		if (kind == "AbleToScale" || kind == "ScalingLimited") && status == "True" {
			return healthy(message)
		}
	}
	return progressing("waiting for the autoscaler's first reading")
}

// apiServiceHealth follows an APIService's Available condition.
func apiServiceHealth(u *unstructured.Unstructured) gitopsv1alpha1.HealthStatus {
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, raw := range conditions {
		c, _ := raw.(map[string]any)
		if c["type"] != "Available" {
			continue
		}
		message := fmt.Sprintf("%v: %v", c["reason"], c["message"])
		if c["status"] == "True" {
			return healthy(message)
		}
		return progressing(message)
	}
	return progressing("waiting for the API service to be checked")
}

func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}
