package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MergeTemplates flattens the analysis templates refs name, and those they
// include, into one spec, by the rules analysis steps follow (see
// analysisSpec): metrics, dryRun and measurementRetention appended in
// order, arguments merged by name. Other planners that start AnalysisRuns
// (an Experiment's analyses) use it so every run is made the same way.
func MergeTemplates(templates map[string]*rolloutsv1alpha1.AnalysisTemplate,
	clusterTemplates map[string]*rolloutsv1alpha1.ClusterAnalysisTemplate,
	refs []rolloutsv1alpha1.AnalysisTemplateRef, path *field.Path) (*rolloutsv1alpha1.AnalysisTemplateSpec, *field.Error) {
	obs := Observation{Templates: templates, ClusterTemplates: clusterTemplates}
	return analysisSpec(obs, &rolloutsv1alpha1.RolloutAnalysis{Templates: refs}, path)
}
