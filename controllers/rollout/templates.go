package rollout

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sluicehq/sluice/controllers/rollout/plan"
)

// templateIndex indexes Rollouts by the analysis templates their analyses
// name, and includesIndex indexes analysis templates by the templates they
// include (spec.templates). Both write a ClusterAnalysisTemplate's name with
// "cluster/" in front.
const (
	templateIndex = ".spec.strategy.analysisTemplates"
	includesIndex = ".spec.templates"
)

func indexTemplates(ctx context.Context, mgr ctrl.Manager, clusterTemplates bool) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &rolloutsv1alpha1.Rollout{}, templateIndex, templatesNamed); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &rolloutsv1alpha1.AnalysisTemplate{}, includesIndex, func(obj client.Object) []string {
		return templateKeys(obj.(*rolloutsv1alpha1.AnalysisTemplate).Spec.Templates)
	}); err != nil {
		return err
	}
	if !clusterTemplates {
		return nil
	}
	return indexer.IndexField(ctx, &rolloutsv1alpha1.ClusterAnalysisTemplate{}, includesIndex, func(obj client.Object) []string {
		return templateKeys(obj.(*rolloutsv1alpha1.ClusterAnalysisTemplate).Spec.Templates)
	})
}

// analysesOf lists a Rollout's analyses: the background one and the steps',
// or the pre- and post-promotion ones.
func analysesOf(ro *rolloutsv1alpha1.Rollout) []*rolloutsv1alpha1.RolloutAnalysis {
	var analyses []*rolloutsv1alpha1.RolloutAnalysis
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		for _, analysis := range []*rolloutsv1alpha1.RolloutAnalysis{bg.PrePromotionAnalysis, bg.PostPromotionAnalysis} {
			if analysis != nil {
				analyses = append(analyses, analysis)
			}
		}
		return analyses
	}
	canary := ro.Spec.Strategy.Canary
	if canary == nil {
		return nil
	}
	if canary.Analysis != nil {
		analyses = append(analyses, &canary.Analysis.RolloutAnalysis)
	}
	for _, step := range canary.Steps {
		if step.Analysis != nil {
			analyses = append(analyses, step.Analysis)
		}
		if step.Experiment != nil {
			// An experiment step's analyses name one template each; the
			// Rollout checks them before it creates the Experiment.
			for _, a := range step.Experiment.Analyses {
				analyses = append(analyses, &rolloutsv1alpha1.RolloutAnalysis{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{
					{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}}})
			}
		}
	}
	return analyses
}

// templatesNamed lists the analysis templates a Rollout's analyses name, for
// templateIndex.
func templatesNamed(obj client.Object) []string {
	var keys []string
	for _, analysis := range analysesOf(obj.(*rolloutsv1alpha1.Rollout)) {
		keys = append(keys, templateKeys(analysis.Templates)...)
	}
	return keys
}

func templateKeys(refs []rolloutsv1alpha1.AnalysisTemplateRef) []string {
	keys := make([]string, 0, len(refs))
	for _, ref := range refs {
		keys = append(keys, templateKey(ref.TemplateName, ref.ClusterScope != nil && *ref.ClusterScope))
	}
	return keys
}

func templateKey(name string, cluster bool) string {
	if cluster {
		return "cluster/" + name
	}
	return name
}

// observeTemplates reads the analysis templates the Rollout's analyses name
// and those they include, each once; one that does not exist is left out
// for the planner to report.
func (r *Reconciler) observeTemplates(ctx context.Context, ro *rolloutsv1alpha1.Rollout, obs *plan.Observation) error {
	obs.Templates = map[string]*rolloutsv1alpha1.AnalysisTemplate{}
	obs.ClusterTemplates = map[string]*rolloutsv1alpha1.ClusterAnalysisTemplate{}
	var queue []rolloutsv1alpha1.AnalysisTemplateRef
	for _, analysis := range analysesOf(ro) {
		queue = append(queue, analysis.Templates...)
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		cluster := ref.ClusterScope != nil && *ref.ClusterScope
		if key := templateKey(ref.TemplateName, cluster); seen[key] {
			continue
		} else {
			seen[key] = true
		}
		var err error
		switch {
		case cluster && r.namespace != "":
			// Namespaced mode reads nothing cluster-scoped; the planner
			// reports the template as not found.
		case cluster:
			var t rolloutsv1alpha1.ClusterAnalysisTemplate
			if err = r.Client.Get(ctx, client.ObjectKey{Name: ref.TemplateName}, &t); err == nil {
				obs.ClusterTemplates[ref.TemplateName] = &t
				queue = append(queue, t.Spec.Templates...)
			}
		default:
			var t rolloutsv1alpha1.AnalysisTemplate
			if err = r.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.TemplateName}, &t); err == nil {
				obs.Templates[ref.TemplateName] = &t
				queue = append(queue, t.Spec.Templates...)
			}
		}
		if client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// templateUser is an analysis template as the Rollouts that may use it see
// it: a namespaced template serves the Rollouts of its namespace; a cluster
// template serves every namespace, or, when it was reached by including a
// namespaced template, only that template's namespace.
type templateUser struct {
	namespace string
	key       string // templateKey
}

// rolloutsUsingTemplate maps an analysis template that changed to the
// Rollouts that use it, directly or through templates that include it, so
// a Rollout waiting for a template it reaches only by inclusion still wakes
// when that template is created.
func (r *Reconciler) rolloutsUsingTemplate(ctx context.Context, obj client.Object) []reconcile.Request {
	_, cluster := obj.(*rolloutsv1alpha1.ClusterAnalysisTemplate)
	start := templateUser{namespace: obj.GetNamespace(), key: templateKey(obj.GetName(), cluster)}
	seen := map[templateUser]bool{start: true}
	queue := []templateUser{start}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		includers, err := r.templatesIncluding(ctx, t)
		if err != nil {
			log.FromContext(ctx).Error(err, "listing the analysis templates that include a template")
			return nil
		}
		for _, u := range includers {
			if !seen[u] {
				seen[u] = true
				queue = append(queue, u)
			}
		}
	}
	var requests []reconcile.Request
	for t := range seen {
		var list rolloutsv1alpha1.RolloutList
		opts := []client.ListOption{client.MatchingFields{templateIndex: t.key}}
		if t.namespace != "" {
			opts = append(opts, client.InNamespace(t.namespace))
		}
		if err := r.Client.List(ctx, &list, opts...); err != nil {
			log.FromContext(ctx).Error(err, "listing the Rollouts that name an analysis template")
			return nil
		}
		for _, ro := range list.Items {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
		}
	}
	return requests
}

// templatesIncluding lists the templates whose spec.templates name t.
func (r *Reconciler) templatesIncluding(ctx context.Context, t templateUser) ([]templateUser, error) {
	var namespaced rolloutsv1alpha1.AnalysisTemplateList
	opts := []client.ListOption{client.MatchingFields{includesIndex: t.key}}
	if t.namespace != "" {
		opts = append(opts, client.InNamespace(t.namespace))
	}
	if err := r.Client.List(ctx, &namespaced, opts...); err != nil {
		return nil, err
	}
	var clusterWide rolloutsv1alpha1.ClusterAnalysisTemplateList
	if r.namespace == "" {
		if err := r.Client.List(ctx, &clusterWide, client.MatchingFields{includesIndex: t.key}); err != nil {
			return nil, err
		}
	}
	var out []templateUser
	for _, i := range namespaced.Items {
		out = append(out, templateUser{namespace: i.Namespace, key: templateKey(i.Name, false)})
	}
	for _, i := range clusterWide.Items {
		// A cluster template including a namespaced one reaches it in the
		// namespace of the Rollout that uses it.
		out = append(out, templateUser{namespace: t.namespace, key: templateKey(i.Name, true)})
	}
	return out, nil
}
