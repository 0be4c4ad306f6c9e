package rollout

import (
	"context"
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sluicehq/sluice/controllers/internal/writes"
	"github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/internal/instance"
)

// adoptIntoShard brings a Rollout's children into its shard after the
// Rollout moved there (its sharding.fluxcd.io/key label changed). The
// manager caches only its shard's ReplicaSets, AnalysisRuns and
// Experiments, so the children the Rollout made in its old shard do not
// show: planned from that view, the Rollout would look new and start over.
// When its status names a revision whose ReplicaSet the cache does not
// show, the children are read around the cache and those the Rollout
// controls take its shard label; their watch events then reconcile it
// again, with everything in view. It reports whether it relabelled any,
// in which case nothing is planned from this observation. A manager of no
// shard caches children whatever their shard label, so it has nothing to
// adopt and never pays for the uncached lists.
func (r *Reconciler) adoptIntoShard(ctx context.Context, ro *rolloutsv1alpha1.Rollout, obs plan.Observation) (bool, error) {
	if !r.sharded || !revisionMissing(ro, obs.ReplicaSets) {
		return false, nil
	}
	var replicaSets appsv1.ReplicaSetList
	if err := r.APIReader.List(ctx, &replicaSets, client.InNamespace(ro.Namespace),
		client.MatchingLabelsSelector{Selector: ReplicaSetSelector()}); err != nil {
		return false, err
	}
	var runs rolloutsv1alpha1.AnalysisRunList
	if err := r.APIReader.List(ctx, &runs, client.InNamespace(ro.Namespace)); err != nil {
		return false, err
	}
	var experiments rolloutsv1alpha1.ExperimentList
	if err := r.APIReader.List(ctx, &experiments, client.InNamespace(ro.Namespace)); err != nil {
		return false, err
	}
	var children []client.Object
	for i := range replicaSets.Items {
		children = append(children, &replicaSets.Items[i])
	}
	for i := range runs.Items {
		children = append(children, &runs.Items[i])
	}
	for i := range experiments.Items {
		children = append(children, &experiments.Items[i])
	}
	adopted := false
	for _, child := range children {
		if !metav1.IsControlledBy(child, ro) {
			continue
		}
		patch := writes.LabelsPatch(child.GetLabels(), ro.Labels, instance.ShardLabel)
		if patch == "" {
			continue
		}
		log.FromContext(ctx).Info("taking a child of this Rollout into its shard", "child", fmt.Sprintf("%T %s", child, child.GetName()),
			"shard", ro.Labels[instance.ShardLabel])
		if err := writes.MergePatch(ctx, r.Client, child.DeepCopyObject().(client.Object), child.GetNamespace(), child.GetName(), patch); err != nil {
			return adopted, client.IgnoreNotFound(err)
		}
		adopted = true
	}
	return adopted, nil
}

// revisionMissing reports whether the Rollout's status names a stable or
// current revision of which no ReplicaSet was observed.
func revisionMissing(ro *rolloutsv1alpha1.Rollout, observed []*appsv1.ReplicaSet) bool {
	for _, hash := range []string{ro.Status.StableRS, ro.Status.CurrentPodHash} {
		if hash == "" {
			continue
		}
		found := false
		for _, rs := range observed {
			found = found || rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == hash
		}
		if !found {
			return true
		}
	}
	return false
}
