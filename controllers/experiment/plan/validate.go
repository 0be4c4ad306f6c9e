package plan

import (
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// validate returns why an Experiment cannot run, naming the field, or "".
// It checks what Argo checks (a selector on every template that selects
// something, names present and distinct, minReadySeconds within the
// progress deadline) and, where Argo would fail later with a less telling
// message or not at all, a selector that does not match the template's
// labels (the API server refuses such a ReplicaSet), an unreadable
// duration (Argo runs such an experiment forever), a negative replica
// count (the API server refuses the ReplicaSet) and analyses without a name
// or with the same name.
func validate(ex *rolloutsv1alpha1.Experiment) string {
	if ex.Spec.Duration != "" {
		if _, err := ex.Spec.Duration.Duration(); err != nil {
			return fmt.Sprintf("spec.duration: %q is not a duration (such as 30s, 5m, 1h)", ex.Spec.Duration)
		}
	}
	deadline := int32(progressDeadline(ex).Seconds())
	names := map[string]bool{}
	for i := range ex.Spec.Templates {
		t := &ex.Spec.Templates[i]
		path := fmt.Sprintf("spec.templates[%d]", i)
		switch {
		case t.Name == "":
			return path + ".name: a template needs a name"
		case names[t.Name]:
			return fmt.Sprintf("%s.name: template name %q is used twice", path, t.Name)
		case t.Selector == nil:
			return path + ".selector: a template needs a selector"
		case len(t.Selector.MatchLabels) == 0 && len(t.Selector.MatchExpressions) == 0:
			return path + ".selector: the selector selects every pod; a non-empty selector is required"
		case t.Replicas != nil && *t.Replicas < 0:
			return fmt.Sprintf("%s.replicas: %d must not be negative", path, *t.Replicas)
		case t.MinReadySeconds > deadline:
			return fmt.Sprintf("%s.minReadySeconds: %d is longer than progressDeadlineSeconds (%d)", path, t.MinReadySeconds, deadline)
		}
		names[t.Name] = true
		selector, err := metav1.LabelSelectorAsSelector(t.Selector)
		if err != nil {
			return fmt.Sprintf("%s.selector: %v", path, err)
		}
		if !selector.Matches(labels.Set(t.Template.Labels)) {
			return fmt.Sprintf("%s.selector: does not match the template's labels (template.metadata.labels)", path)
		}
	}
	services := map[string]string{}
	for i, t := range ex.Spec.Templates {
		if t.Service == nil {
			continue
		}
		name := ServiceNames(ex)[i]
		if other, taken := services[name]; taken {
			return fmt.Sprintf("spec.templates[%d].service.name: Service %q is template %q's too", i, name, other)
		}
		services[name] = t.Name
	}
	analyses := map[string]bool{}
	for i, a := range ex.Spec.Analyses {
		path := fmt.Sprintf("spec.analyses[%d]", i)
		switch {
		case a.Name == "":
			return path + ".name: an analysis needs a name"
		case analyses[a.Name]:
			return fmt.Sprintf("%s.name: analysis name %q is used twice", path, a.Name)
		case a.TemplateName == "":
			return path + ".templateName: an analysis needs a template"
		}
		analyses[a.Name] = true
	}
	return ""
}

// setInvalidSpec sets the InvalidSpec condition, keeping its transition
// time while the reason stays the same.
func (p *planner) setInvalidSpec(msg string) {
	cur := condition(&p.status, rolloutsv1alpha1.InvalidExperimentSpec)
	if cur != nil && cur.Message == msg {
		return
	}
	if cur == nil || cur.Message != msg {
		p.event(true, reasonInvalidSpec, msg)
	}
	removeCondition(&p.status, rolloutsv1alpha1.InvalidExperimentSpec)
	p.status.Conditions = append(p.status.Conditions, rolloutsv1alpha1.ExperimentCondition{
		Type: rolloutsv1alpha1.InvalidExperimentSpec, Status: corev1.ConditionTrue,
		Reason: reasonInvalidSpec, Message: msg, LastUpdateTime: p.stamp, LastTransitionTime: p.stamp,
	})
}
