package rollout

import (
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
)

func TestRevisionMissing(t *testing.T) {
	rs := func(hash string) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{}
		r.Labels = map[string]string{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: hash}
		return r
	}
	for _, tc := range []struct {
		why             string
		stable, current string
		observed        []*appsv1.ReplicaSet
		want            bool
	}{
		{"a new Rollout names no revision: nothing to adopt", "", "", nil, false},
		{"both revisions in view", "s", "c", []*appsv1.ReplicaSet{rs("s"), rs("c")}, false},
		{"one revision, in view", "s", "s", []*appsv1.ReplicaSet{rs("s")}, false},
		{"the stable revision out of view: moved from another shard", "s", "c", []*appsv1.ReplicaSet{rs("c")}, true},
		{"the current revision out of view", "s", "c", []*appsv1.ReplicaSet{rs("s")}, true},
		{"nothing in view of a Rollout that has run", "s", "s", nil, true},
	} {
		t.Run(tc.why, func(t *testing.T) {
			ro := &rolloutsv1alpha1.Rollout{}
			ro.Status.StableRS, ro.Status.CurrentPodHash = tc.stable, tc.current
			if got := revisionMissing(ro, tc.observed); got != tc.want {
				t.Errorf("revisionMissing = %v, want %v", got, tc.want)
			}
		})
	}
}
