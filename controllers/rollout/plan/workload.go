package plan

import (
	"fmt"
	"strconv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ScaleDeployment sets the replicas of the Deployment a workloadRef names.
type ScaleDeployment struct {
	Name     string
	From, To int32
}

func (a ScaleDeployment) String() string {
	return "scale Deployment " + a.Name + " from " + itoa(a.From) + " to " + itoa(a.To)
}

// resolveWorkload returns the Rollout to plan with. A Rollout with a
// workloadRef takes its pod template and selector from the Deployment it
// names, so a team can move a Deployment to progressive delivery without
// copying its template; the result is a copy, the observed Rollout is left
// as it is.
func resolveWorkload(obs Observation) (*rolloutsv1alpha1.Rollout, *field.Error) {
	ro := obs.Rollout
	ref := ro.Spec.WorkloadRef
	if ref == nil {
		return ro, nil
	}
	path := field.NewPath("spec", "workloadRef")
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" {
		return nil, field.NotSupported(path.Child("kind"), ref.APIVersion+" "+ref.Kind, []string{"apps/v1 Deployment"})
	}
	switch ref.ScaleDown {
	case "", rolloutsv1alpha1.ScaleDownNever, rolloutsv1alpha1.ScaleDownOnSuccess, rolloutsv1alpha1.ScaleDownProgressively:
	default:
		return nil, field.NotSupported(path.Child("scaleDown"), ref.ScaleDown, []string{
			rolloutsv1alpha1.ScaleDownNever, rolloutsv1alpha1.ScaleDownOnSuccess, rolloutsv1alpha1.ScaleDownProgressively})
	}
	if !apiequality.Semantic.DeepEqual(ro.Spec.Template, corev1.PodTemplateSpec{}) {
		// Argo refuses both as well, in these words, which tools match.
		return nil, field.Forbidden(field.NewPath("spec", "template"),
			"template must be empty for workload reference rollout: the pod template comes from the Deployment spec.workloadRef names")
	}
	if obs.Workload == nil {
		return nil, field.Invalid(path.Child("name"), ref.Name, fmt.Sprintf("deployment %q not found", ref.Name))
	}
	resolved := ro.DeepCopy()
	resolved.Spec.Template = *obs.Workload.Spec.Template.DeepCopy()
	resolved.Spec.Selector = obs.Workload.Spec.Selector.DeepCopy()
	return resolved, nil
}

// scaleWorkload plans the referenced Deployment's size per scaleDown:
// "onsuccess" empties it once the Rollout is fully promoted and available,
// "progressively" shrinks it as the Rollout's current pods become available,
// and "never" (the default) leaves it alone.
func (p *planner) scaleWorkload(promoted bool) {
	ref, dep := p.ro.Spec.WorkloadRef, p.obs.Workload
	if ref == nil || dep == nil {
		return
	}
	p.status.WorkloadObservedGeneration = strconv.FormatInt(dep.Generation, 10)
	from := deploymentReplicas(dep)
	to := from
	available := countsOf(p.current).available
	switch ref.ScaleDown {
	case rolloutsv1alpha1.ScaleDownOnSuccess:
		if promoted && available >= replicasOf(p.ro) {
			to = 0
		}
	case rolloutsv1alpha1.ScaleDownProgressively:
		to = min(from, max(0, replicasOf(p.ro)-available))
	}
	if to != from {
		p.result.Actions = append(p.result.Actions, ScaleDeployment{Name: dep.Name, From: from, To: to})
	}
}

func deploymentReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}
