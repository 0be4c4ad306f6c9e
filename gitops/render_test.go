package gitops

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/render"
)

func TestApplicationRenderOptionsForHelm(t *testing.T) {
	app := func(helm *gitopsv1alpha1.HelmSource) *gitopsv1alpha1.Application {
		return &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team"},
			Spec:       gitopsv1alpha1.ApplicationSpec{Source: gitopsv1alpha1.ApplicationSource{Helm: helm}},
		}
	}
	tests := []struct {
		name string
		app  *gitopsv1alpha1.Application
		want render.HelmOptions
	}{
		{"no helm options: the release is the Application's name", app(nil),
			render.HelmOptions{ReleaseName: "shop", Namespace: "prod"}},
		{"helm options make the path a chart, and name the release",
			app(&gitopsv1alpha1.HelmSource{ReleaseName: "storefront", ValueFiles: []string{"a.yaml"}, Values: "a: 1",
				Parameters: []gitopsv1alpha1.HelmParameter{{Name: "b", Value: "2", ForceString: true}}, SkipCrds: true}),
			render.HelmOptions{Explicit: true, ReleaseName: "storefront", Namespace: "prod", ValueFiles: []string{"a.yaml"},
				Values: "a: 1", Parameters: []render.HelmParameter{{Name: "b", Value: "2", ForceString: true}}, SkipCrds: true}},
		{"valuesObject replaces values",
			app(&gitopsv1alpha1.HelmSource{Values: "a: 1", ValuesObject: &runtime.RawExtension{Raw: []byte(`{"a":2}`)}}),
			render.HelmOptions{Explicit: true, ReleaseName: "shop", Namespace: "prod", Values: `{"a":2}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ApplicationRenderOptions(tt.app, "prod", false).Helm
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}
