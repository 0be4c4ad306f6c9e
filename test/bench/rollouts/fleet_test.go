package rollouts

import (
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

func TestHealthy(t *testing.T) {
	done := func() *rolloutsv1alpha1.Rollout {
		ro := fleet{namespace: "bench"}.rollout(0, imageBefore)
		ro.Generation = 2
		ro.Status = rolloutsv1alpha1.RolloutStatus{
			ObservedGeneration: "2", Phase: rolloutsv1alpha1.RolloutPhaseHealthy,
			Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2, StableRS: "abc", CurrentPodHash: "abc",
		}
		return ro
	}
	for _, tc := range []struct {
		name string
		edit func(*rolloutsv1alpha1.Rollout)
		want bool
	}{
		{"Healthy, every replica ready on the stable revision", func(*rolloutsv1alpha1.Rollout) {}, true},
		{"the controller has not seen the latest spec: its Healthy is stale",
			func(ro *rolloutsv1alpha1.Rollout) { ro.Generation = 3 }, false},
		{"mid-canary: the current revision is not yet the stable one",
			func(ro *rolloutsv1alpha1.Rollout) { ro.Status.CurrentPodHash = "def" }, false},
		{"a pod of the old revision still runs",
			func(ro *rolloutsv1alpha1.Rollout) { ro.Status.Replicas = 3 }, false},
		{"a replica not ready",
			func(ro *rolloutsv1alpha1.Rollout) { ro.Status.ReadyReplicas = 1 }, false},
		{"Progressing",
			func(ro *rolloutsv1alpha1.Rollout) { ro.Status.Phase = rolloutsv1alpha1.RolloutPhaseProgressing }, false},
		{"no status yet",
			func(ro *rolloutsv1alpha1.Rollout) { ro.Status = rolloutsv1alpha1.RolloutStatus{} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := done()
			tc.edit(ro)
			if got := healthy(ro); got != tc.want {
				t.Errorf("healthy = %v, want %v: %s", got, tc.want, describe(ro))
			}
		})
	}
}

func TestFleetRolloutIsAPlainCanaryOfTwoReplicas(t *testing.T) {
	ro := fleet{namespace: "bench"}.rollout(7, imageAfter)
	c := ro.Spec.Strategy.Canary
	if ro.Name != "web-0007" || ro.Namespace != "bench" || *ro.Spec.Replicas != replicas ||
		ro.Spec.Template.Spec.Containers[0].Image != imageAfter || ro.UID != "" || ro.Generation != 0 {
		t.Errorf("rollout: %s/%s, %d replicas, image %s, uid %q, generation %d", ro.Namespace, ro.Name,
			*ro.Spec.Replicas, ro.Spec.Template.Spec.Containers[0].Image, ro.UID, ro.Generation)
	}
	if c == nil || c.TrafficRouting != nil || len(c.Steps) != 3 || *c.Steps[0].SetWeight != 50 ||
		c.Steps[1].Pause.Duration.String() != "1s" || *c.Steps[2].SetWeight != 100 {
		t.Errorf("strategy: %+v", c)
	}
}
