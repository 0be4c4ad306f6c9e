package experiment

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers/experiment/plan"
	"github.com/sluicehq/sluice/internal/owned"
)

// ownerIndex indexes ReplicaSets and AnalysisRuns by the name of the
// Experiment that controls them, so a reconcile lists only its own.
const ownerIndex = ".metadata.controller.experiment"

func indexOwners(ctx context.Context, mgr ctrl.Manager) error {
	byExperiment := owned.ControllerName(plan.Kind)
	if err := mgr.GetFieldIndexer().IndexField(ctx, &appsv1.ReplicaSet{}, ownerIndex, byExperiment); err != nil {
		return err
	}
	return mgr.GetFieldIndexer().IndexField(ctx, &rolloutsv1alpha1.AnalysisRun{}, ownerIndex, byExperiment)
}

// observe reads, from the cache, everything the planner looks at. It
// decides nothing.
func (r *Reconciler) observe(ctx context.Context, ex *rolloutsv1alpha1.Experiment) (plan.Observation, error) {
	obs := plan.Observation{Experiment: ex, Now: r.Now(),
		Templates:        map[string]*rolloutsv1alpha1.AnalysisTemplate{},
		ClusterTemplates: map[string]*rolloutsv1alpha1.ClusterAnalysisTemplate{}}
	byOwner := []client.ListOption{client.InNamespace(ex.Namespace), client.MatchingFields{ownerIndex: ex.Name}}

	var rsList appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &rsList, byOwner...); err != nil {
		return obs, err
	}
	obs.ReplicaSets = owned.ControlledBy(rsList.Items, ex)
	var runs rolloutsv1alpha1.AnalysisRunList
	if err := r.Client.List(ctx, &runs, byOwner...); err != nil {
		return obs, err
	}
	obs.AnalysisRuns = owned.ControlledBy(runs.Items, ex)
	seen := map[string]bool{}
	for _, run := range obs.AnalysisRuns {
		seen[run.Name] = true
	}
	// A run status names that the cache does not show was made a moment
	// ago, or is gone: only the API server can tell.
	for _, st := range ex.Status.AnalysisRuns {
		if st.AnalysisRun == "" || seen[st.AnalysisRun] || st.Phase.Completed() {
			continue
		}
		var run rolloutsv1alpha1.AnalysisRun
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ex.Namespace, Name: st.AnalysisRun}, &run)
		switch {
		case apierrors.IsNotFound(err):
			obs.MissingRuns = append(obs.MissingRuns, st.AnalysisRun)
		case err != nil:
			return obs, err
		case metav1.IsControlledBy(&run, ex):
			obs.AnalysisRuns = append(obs.AnalysisRuns, &run)
		default:
			obs.MissingRuns = append(obs.MissingRuns, st.AnalysisRun)
		}
	}
	for _, name := range plan.ServiceNames(ex) {
		var svc corev1.Service
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: ex.Namespace, Name: name}, &svc)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return obs, err
		}
		obs.Services = append(obs.Services, &svc)
	}
	if len(ex.Spec.Analyses) == 0 {
		return obs, nil
	}
	// Templates include others by name, so all of the namespace's are
	// read; there are few.
	var templates rolloutsv1alpha1.AnalysisTemplateList
	if err := r.Client.List(ctx, &templates, client.InNamespace(ex.Namespace)); err != nil {
		return obs, err
	}
	for i := range templates.Items {
		obs.Templates[templates.Items[i].Name] = &templates.Items[i]
	}
	if r.namespace != "" {
		return obs, nil // ClusterAnalysisTemplates are out of reach
	}
	var clusterTemplates rolloutsv1alpha1.ClusterAnalysisTemplateList
	if err := r.Client.List(ctx, &clusterTemplates); err != nil {
		return obs, err
	}
	for i := range clusterTemplates.Items {
		obs.ClusterTemplates[clusterTemplates.Items[i].Name] = &clusterTemplates.Items[i]
	}
	return obs, nil
}
