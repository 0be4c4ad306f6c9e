package rollout

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Each case is a Rollout as the API server stores it under Argo's CRD,
// which leaves quantities unchecked.
func TestDecodeRollout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		manifest string
		// problem is the error naming the field left out, "" for none.
		problem string
		// memory is the first container's memory request after decoding.
		memory string
	}{{
		name: "a valid Rollout decodes whole",
		manifest: `
spec:
  template:
    spec:
      containers:
      - name: app
        resources: {requests: {memory: 16Mi, cpu: 1m}}`,
		memory: "16Mi",
	}, {
		name: "an invalid quantity is named and left out, the rest kept",
		manifest: `
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: app
        image: registry.example/app:v1
        resources: {requests: {memory: invalid, cpu: 1m}}`,
		problem: `spec.template.spec.containers[0].resources.requests[memory]: Invalid value: "invalid": quantities must match the regular expression`,
	}, {
		name: "an invalid quantity in an ephemeral container as well",
		manifest: `
spec:
  template:
    spec:
      containers:
      - name: app
        resources: {limits: {memory: 1Gi}}
      ephemeralContainers:
      - name: debug
        resources: {requests: {memory: invalid}}`,
		problem: `spec.template.spec.ephemeralContainers[0].resources.requests[memory]: Invalid value: "invalid"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web, namespace: shop, resourceVersion: \"7\"}\n"+tc.manifest), &u.Object); err != nil {
				t.Fatal(err)
			}
			ro, problem := DecodeRollout(u)
			if ro.Name != "web" || ro.Namespace != "shop" || ro.ResourceVersion != "7" {
				t.Errorf("metadata lost: %+v", ro.ObjectMeta)
			}
			switch {
			case tc.problem == "" && problem != nil:
				t.Fatalf("unexpected problem: %v", problem)
			case tc.problem != "" && (problem == nil || !strings.HasPrefix(problem.Error(), tc.problem)):
				t.Fatalf("problem = %v, want one starting %q", problem, tc.problem)
			}
			if tc.problem == "" {
				if diff := cmp.Diff(tc.memory, ro.Spec.Template.Spec.Containers[0].Resources.Requests.Memory().String()); diff != "" {
					t.Errorf("memory (-want +got):\n%s", diff)
				}
				return
			}
			if len(ro.Spec.Template.Spec.Containers) != 1 || ro.Spec.Template.Spec.Containers[0].Name != "app" {
				t.Errorf("the rest of the template was lost: %+v", ro.Spec.Template.Spec)
			}
		})
	}
}
