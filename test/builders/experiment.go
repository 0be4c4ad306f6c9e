package builders

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// ExperimentBuilder builds an Experiment.
type ExperimentBuilder struct{ ex *rolloutsv1alpha1.Experiment }

// Experiment starts an Experiment named name in namespace "default" with no
// templates.
func Experiment(name string) *ExperimentBuilder {
	return &ExperimentBuilder{ex: &rolloutsv1alpha1.Experiment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Experiment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Generation: 1, UID: types.UID("uid-" + name)},
	}}
}

// Namespace sets the namespace.
func (b *ExperimentBuilder) Namespace(ns string) *ExperimentBuilder { b.ex.Namespace = ns; return b }

// Template adds a template named name: replicas pods (nil leaves Argo's
// default of one) of one container running image, labelled and selected by
// app=<name>, serving port 8080.
func (b *ExperimentBuilder) Template(name, image string, replicas *int32) *ExperimentBuilder {
	labels := map[string]string{"app": b.ex.Name + "-" + name}
	b.ex.Spec.Templates = append(b.ex.Spec.Templates, rolloutsv1alpha1.TemplateSpec{
		Name:     name,
		Replicas: replicas,
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Image: image,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			}}},
		},
	})
	return b
}

// Service asks for a Service for the last template added (name empty:
// named after its ReplicaSet).
func (b *ExperimentBuilder) Service(name string) *ExperimentBuilder {
	b.ex.Spec.Templates[len(b.ex.Spec.Templates)-1].Service = &rolloutsv1alpha1.TemplateService{Name: name}
	return b
}

// Analysis adds an analysis of the AnalysisTemplate templateName.
func (b *ExperimentBuilder) Analysis(name, templateName string, required bool, args ...rolloutsv1alpha1.Argument) *ExperimentBuilder {
	b.ex.Spec.Analyses = append(b.ex.Spec.Analyses, rolloutsv1alpha1.ExperimentAnalysisTemplateRef{
		Name: name, TemplateName: templateName, RequiredForCompletion: required, Args: args,
	})
	return b
}

// Duration sets spec.duration.
func (b *ExperimentBuilder) Duration(d string) *ExperimentBuilder {
	b.ex.Spec.Duration = rolloutsv1alpha1.DurationString(d)
	return b
}

// ProgressDeadline sets spec.progressDeadlineSeconds.
func (b *ExperimentBuilder) ProgressDeadline(seconds int32) *ExperimentBuilder {
	b.ex.Spec.ProgressDeadlineSeconds = ptr.To(seconds)
	return b
}

// ScaleDownDelay sets spec.scaleDownDelaySeconds.
func (b *ExperimentBuilder) ScaleDownDelay(seconds int32) *ExperimentBuilder {
	b.ex.Spec.ScaleDownDelaySeconds = ptr.To(seconds)
	return b
}

// Edit changes anything else.
func (b *ExperimentBuilder) Edit(f func(*rolloutsv1alpha1.Experiment)) *ExperimentBuilder {
	f(b.ex)
	return b
}

// Obj returns the Experiment.
func (b *ExperimentBuilder) Obj() *rolloutsv1alpha1.Experiment { return b.ex.DeepCopy() }
