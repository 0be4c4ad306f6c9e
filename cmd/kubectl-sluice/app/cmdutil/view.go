package cmdutil

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/owned"
	"github.com/sluicehq/sluice/internal/plugin"
)

// RolloutView reads a Rollout and what it owns.
func (c Connection) RolloutView(ctx context.Context, name string) (plugin.RolloutView, error) {
	ro := &rolloutsv1alpha1.Rollout{}
	if err := c.Get(ctx, "rollout", name, ro); err != nil {
		return plugin.RolloutView{}, err
	}
	v := plugin.RolloutView{Rollout: ro}
	var err error
	if v.ReplicaSets, v.AnalysisRuns, err = c.replicaSetsAndRuns(ctx, ro); err != nil {
		return v, err
	}
	var exs rolloutsv1alpha1.ExperimentList
	if err := c.Client.List(ctx, &exs, client.InNamespace(c.Namespace)); err != nil {
		return v, err
	}
	v.Experiments = owned.ControlledBy(exs.Items, ro)
	return v, nil
}

// ExperimentView reads an Experiment and what it owns.
func (c Connection) ExperimentView(ctx context.Context, name string) (plugin.ExperimentView, error) {
	ex := &rolloutsv1alpha1.Experiment{}
	if err := c.Get(ctx, "experiment", name, ex); err != nil {
		return plugin.ExperimentView{}, err
	}
	v := plugin.ExperimentView{Experiment: ex}
	var err error
	v.ReplicaSets, v.AnalysisRuns, err = c.replicaSetsAndRuns(ctx, ex)
	return v, err
}

// replicaSetsAndRuns reads the ReplicaSets and AnalysisRuns a Rollout or an
// Experiment controls.
func (c Connection) replicaSetsAndRuns(ctx context.Context, owner client.Object) ([]*appsv1.ReplicaSet, []*rolloutsv1alpha1.AnalysisRun, error) {
	var rss appsv1.ReplicaSetList
	if err := c.Client.List(ctx, &rss, client.InNamespace(owner.GetNamespace())); err != nil {
		return nil, nil, err
	}
	var runs rolloutsv1alpha1.AnalysisRunList
	if err := c.Client.List(ctx, &runs, client.InNamespace(owner.GetNamespace())); err != nil {
		return nil, nil, err
	}
	return owned.ControlledBy(rss.Items, owner), owned.ControlledBy(runs.Items, owner), nil
}

// OwnedKinds are the kinds a drawing of a Rollout or an Experiment shows:
// a watch of it watches them all in the namespace.
func OwnedKinds(namespace string) Watched {
	return Watched{
		Lists: []client.ObjectList{&rolloutsv1alpha1.RolloutList{}, &appsv1.ReplicaSetList{},
			&rolloutsv1alpha1.AnalysisRunList{}, &rolloutsv1alpha1.ExperimentList{}},
		Options: []client.ListOption{client.InNamespace(namespace)},
	}
}
