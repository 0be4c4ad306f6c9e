// Package builders makes test objects that read as what they are:
//
//	builders.Rollout("web").Replicas(5).Canary(builders.SetWeight(20), builders.Pause()).Obj()
//
// reads better than forty lines of struct literal.
package builders

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// RolloutBuilder builds a Rollout.
type RolloutBuilder struct{ ro *rolloutsv1alpha1.Rollout }

// Rollout starts a canary Rollout named name in namespace "default" with one
// replica, selector app=<name> and one container running image "app:v1".
func Rollout(name string) *RolloutBuilder {
	labels := map[string]string{"app": name}
	return &RolloutBuilder{ro: &rolloutsv1alpha1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Generation: 1, UID: types.UID("uid-" + name)},
		Spec: rolloutsv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:v1"}}},
			},
			Strategy: rolloutsv1alpha1.RolloutStrategy{Canary: &rolloutsv1alpha1.CanaryStrategy{}},
		},
	}}
}

// Namespace sets the namespace.
func (b *RolloutBuilder) Namespace(ns string) *RolloutBuilder { b.ro.Namespace = ns; return b }

// Replicas sets spec.replicas.
func (b *RolloutBuilder) Replicas(n int32) *RolloutBuilder { b.ro.Spec.Replicas = ptr.To(n); return b }

// Image sets the first container's image.
func (b *RolloutBuilder) Image(image string) *RolloutBuilder {
	b.ro.Spec.Template.Spec.Containers[0].Image = image
	return b
}

// Canary sets the canary steps.
func (b *RolloutBuilder) Canary(steps ...rolloutsv1alpha1.CanaryStep) *RolloutBuilder {
	b.ro.Spec.Strategy.Canary.Steps = steps
	return b
}

// BlueGreen makes the Rollout blue-green with the given active and preview
// Services (preview may be empty); Edit sets the strategy's other fields.
func (b *RolloutBuilder) BlueGreen(active, preview string) *RolloutBuilder {
	b.ro.Spec.Strategy = rolloutsv1alpha1.RolloutStrategy{BlueGreen: &rolloutsv1alpha1.BlueGreenStrategy{
		ActiveService: active, PreviewService: preview,
	}}
	return b
}

// Surge sets maxSurge and maxUnavailable as pod counts.
func (b *RolloutBuilder) Surge(maxSurge, maxUnavailable int) *RolloutBuilder {
	b.ro.Spec.Strategy.Canary.MaxSurge = ptr.To(intstr.FromInt(maxSurge))
	b.ro.Spec.Strategy.Canary.MaxUnavailable = ptr.To(intstr.FromInt(maxUnavailable))
	return b
}

// Services sets the canary and stable Service names.
func (b *RolloutBuilder) Services(canary, stable string) *RolloutBuilder {
	b.ro.Spec.Strategy.Canary.CanaryService = canary
	b.ro.Spec.Strategy.Canary.StableService = stable
	return b
}

// Status sets the whole status, for a planner that continues from it.
func (b *RolloutBuilder) Status(st rolloutsv1alpha1.RolloutStatus) *RolloutBuilder {
	b.ro.Status = st
	return b
}

// Edit applies any other change.
func (b *RolloutBuilder) Edit(f func(*rolloutsv1alpha1.Rollout)) *RolloutBuilder { f(b.ro); return b }

// Obj returns the Rollout.
func (b *RolloutBuilder) Obj() *rolloutsv1alpha1.Rollout { return b.ro.DeepCopy() }

// SetWeight is a setWeight step.
func SetWeight(w int32) rolloutsv1alpha1.CanaryStep {
	return rolloutsv1alpha1.CanaryStep{SetWeight: ptr.To(w)}
}

// Pause is a pause step with no duration: it waits until promoted.
func Pause() rolloutsv1alpha1.CanaryStep {
	return rolloutsv1alpha1.CanaryStep{Pause: &rolloutsv1alpha1.RolloutPause{}}
}

// PauseFor is a pause step with a duration.
func PauseFor(d time.Duration) rolloutsv1alpha1.CanaryStep {
	return rolloutsv1alpha1.CanaryStep{Pause: &rolloutsv1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString(d.String()))}}
}
