package fieldref

import (
	"strings"
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestValue(t *testing.T) {
	ro := &rolloutsv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"team": "checkout"}},
		Spec: rolloutsv1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: "registry.example/web:2"}},
			}},
		},
	}
	tests := []struct {
		path, want, wantErr string
	}{
		{path: "metadata.name", want: "web"},
		{path: "metadata.namespace", want: "shop"},
		{path: "metadata.labels['app']", want: "web"},
		{path: "metadata.annotations['team']", want: "checkout"},
		{path: "metadata.labels['absent']", want: ""},
		{path: "spec.template.spec.containers[0].image", want: "registry.example/web:2"},
		{path: "spec.replicas", want: "4"},
		{path: "metadata.generateName.x", wantErr: "unsupported fieldPath"},
		{path: "spec.template.spec.containers", wantErr: "must end at a single value"},
		{path: "spec.nothing", wantErr: "field path \"spec.nothing\""},
		{path: "spec.template.spec.containers[3].image", wantErr: "field path"},
		{path: "spec.strategy", wantErr: "must end at a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := Value(ro, tt.path)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Value(%q) = %q, %v; want an error containing %q", tt.path, got, err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Value(%q): %v", tt.path, err)
			case got != tt.want:
				t.Fatalf("Value(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}
