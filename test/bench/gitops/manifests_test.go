package gitops

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// objectsOf decodes every document of files, failing on any that is not
// an object.
func objectsOf(t *testing.T, files map[string]string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, name := range slices.Sorted(maps.Keys(files)) {
		decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(files[name])), 4096)
		for {
			obj := &unstructured.Unstructured{}
			err := decoder.Decode(&obj.Object)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, obj)
		}
	}
	return out
}

func TestFiles(t *testing.T) {
	cases := []struct {
		name      string
		mix       Mix
		wantFiles int
	}{
		{"the large application: 90 files of ConfigMaps and 250 of a Deployment and its Service", Large, 90 + 250},
		{"a small one: one file of ConfigMaps and 3 of a Deployment and its Service", Many50, 1 + 3},
		{"more Services than Deployments: the rest in files of their own", Mix{ConfigMaps: 51, Deployments: 1, Services: 2}, 2 + 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := Files("app", tc.mix)
			if len(files) != tc.wantFiles {
				t.Errorf("%d files, want %d", len(files), tc.wantFiles)
			}
			kinds := map[string]int{}
			names := map[string]bool{}
			for _, obj := range objectsOf(t, files) {
				kinds[obj.GetKind()]++
				key := obj.GetKind() + "/" + obj.GetName()
				if names[key] {
					t.Errorf("%s twice", key)
				}
				names[key] = true
				if obj.GetNamespace() != "" {
					t.Errorf("%s names namespace %s; the same files must apply anywhere", key, obj.GetNamespace())
				}
			}
			want := map[string]int{"ConfigMap": tc.mix.ConfigMaps, "Deployment": tc.mix.Deployments, "Service": tc.mix.Services}
			if diff := cmp.Diff(want, kinds); diff != "" {
				t.Errorf("objects by kind (-want +got):\n%s", diff)
			}
			for name := range files {
				if !strings.HasPrefix(name, "app/") {
					t.Errorf("%s is outside app/", name)
				}
			}
		})
	}
	if Large.Objects() != 5000 || Many50.Objects() != 50 {
		t.Errorf("Large holds %d objects and Many50 %d, want 5000 and 50", Large.Objects(), Many50.Objects())
	}
}

func TestCanaryFiles(t *testing.T) {
	objects := objectsOf(t, CanaryFiles("apps/shop", "1.7"))
	kinds := map[string]string{}
	var rollout *unstructured.Unstructured
	for _, obj := range objects {
		kinds[obj.GetKind()+"/"+obj.GetName()] = obj.GetAPIVersion()
		if obj.GetKind() == "Rollout" {
			rollout = obj
		}
	}
	want := map[string]string{
		"Rollout/shop": "argoproj.io/v1alpha1", "HTTPRoute/shop": "gateway.networking.k8s.io/v1",
		"Service/shop-stable": "v1", "Service/shop-canary": "v1",
	}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	containers, _, _ := unstructured.NestedSlice(rollout.Object, "spec", "template", "spec", "containers")
	if image := containers[0].(map[string]any)["image"]; image != "registry.example/shop:1.7" {
		t.Errorf("image %v, want the tag's", image)
	}
	route, _, _ := unstructured.NestedString(rollout.Object, "spec", "strategy", "canary", "trafficRouting", "plugins", "argoproj-labs/gatewayAPI", "httpRoute")
	if route != "shop" {
		t.Errorf("the Rollout routes through %q, want the HTTPRoute shop", route)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 50: "50", 999: "999", 5000: "5,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
