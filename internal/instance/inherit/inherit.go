// Package inherit is the pure half of package instance: the labels that
// assign an object to a controller instance and to a shard, and how an
// object a Rollout, an Experiment, an AnalysisRun or an Application
// creates takes them from its parent. Planners use it, and a planner may
// not import controller-runtime, which package instance does.
package inherit

import rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"

const (
	// InstanceLabel assigns an object to a controller instance
	// (--instance-id), as in Argo Rollouts.
	InstanceLabel = rolloutsv1alpha1.LabelKeyControllerInstanceID
	// ShardLabel assigns an object to a shard of the manager
	// (--watch-label-selector), with the key Flux's controllers shard by.
	ShardLabel = "sharding.fluxcd.io/key"
)

// Shard gives child the parent's shard label, or takes it off child when
// the parent has none, and returns child (a new map when child was nil).
// A child must be in its parent's shard: the shard's manager holds only
// its shard's objects in memory, so a child in another shard is never seen
// by the manager that made it.
func Shard(parent, child map[string]string) map[string]string {
	return same(ShardLabel, parent, child)
}

// Instance does for the instance label what Shard does for the shard label.
func Instance(parent, child map[string]string) map[string]string {
	return same(InstanceLabel, parent, child)
}

// ShardAdded gives child the parent's shard label when the parent has one,
// and otherwise leaves child as it is: what an Application applies keeps
// a shard label its author wrote unless the Application is itself in a
// shard.
func ShardAdded(parent, child map[string]string) map[string]string {
	value, ok := parent[ShardLabel]
	if !ok {
		return child
	}
	if child == nil {
		child = map[string]string{}
	}
	child[ShardLabel] = value
	return child
}

func same(key string, parent, child map[string]string) map[string]string {
	value, ok := parent[key]
	if !ok {
		delete(child, key)
		return child
	}
	if child == nil {
		child = map[string]string{}
	}
	child[key] = value
	return child
}
