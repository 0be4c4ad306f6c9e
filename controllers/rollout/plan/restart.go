package plan

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// restartRecheck is how often a restart in progress is looked at again: an
// evicted pod's replacement can come up before the old one is gone, leaving
// the ReplicaSet's counts (and so its watch events) unchanged.
const restartRecheck = 10 * time.Second

// EvictPod evicts one pod through the Eviction API, so PodDisruptionBudgets
// are honoured.
type EvictPod struct {
	Name string
}

func (a EvictPod) String() string { return "evict Pod " + a.Name }

// RestartPending reports whether a Rollout has a restart (spec.restartAt)
// not yet done, so the controller knows to read its pods.
func RestartPending(obs Observation) bool {
	at, done := obs.Rollout.Spec.RestartAt, obs.Rollout.Status.RestartedAt
	return at != nil && (done == nil || !done.Equal(at))
}

// restartPods replaces, oldest first, every pod created before spec.restartAt
// (kubectl argo rollouts restart sets it), never more at once than
// maxUnavailable allows (at least one), and records status.restartedAt when
// none is left.
func (p *planner) restartPods() {
	if !RestartPending(p.obs) {
		return
	}
	at := p.ro.Spec.RestartAt
	if p.now.Before(at.Time) {
		p.requeueAfter(at.Sub(p.now))
		return
	}
	var old []*corev1.Pod
	for _, pod := range p.obs.Pods {
		if pod.DeletionTimestamp == nil && pod.CreationTimestamp.Before(at) {
			old = append(old, pod)
		}
	}
	if len(old) == 0 {
		p.status.RestartedAt = at.DeepCopy()
		p.event(false, "RolloutRestarted", "Restarted every pod created before "+at.UTC().Format(time.RFC3339))
		return
	}
	var unavailable int32
	for _, rs := range p.obs.ReplicaSets {
		unavailable += max(0, specReplicas(rs)-rs.Status.AvailableReplicas)
	}
	sort.SliceStable(old, func(i, j int) bool { return old[i].CreationTimestamp.Before(&old[j].CreationTimestamp) })
	budget := max(1, p.limits.unavailable) - unavailable
	for i := 0; i < int(budget) && i < len(old); i++ {
		p.result.Actions = append(p.result.Actions, EvictPod{Name: old[i].Name})
	}
	p.requeueAfter(restartRecheck)
}
