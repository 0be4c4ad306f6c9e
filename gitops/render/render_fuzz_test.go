package render

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRender feeds a tenant's files through rendering and through the
// copying the apply engine does in goroutines of its own: whatever a
// commit holds, rendering returns an error or objects that copy, never a
// panic. kustomization, when not empty, makes the directory a
// kustomization whose resource is manifest.
//
//	go test ./gitops/render -run XXX -fuzz FuzzRender -fuzztime 60s
func FuzzRender(f *testing.F) {
	f.Add("", deployment+"---\n"+service)
	f.Add("resources:\n- manifest.yaml\nreplicas:\n- name: web\n  count: 2\n", deployment)
	f.Add("resources:\n- manifest.yaml\nimages:\n- name: registry.example/web\n  newTag: \"2.0\"\nnamePrefix: prod-\n", deployment+"---\n"+service)
	f.Add("resources:\n- manifest.yaml\nconfigMapGenerator:\n- name: settings\n  literals: [a=1, b=2.5]\n", service)
	f.Add("resources:\n- manifest.yaml\npatches:\n- patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: 7\n  target: {kind: Deployment}\n", deployment)
	f.Add("", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n  data: {n: \"1\"}\n")
	f.Add("", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: .inf}\n")
	f.Add("", "apiVersion: v1\nkind: X\nmetadata: {name: a}\nspec: {big: 123456789012345678901234567890, neg: -0.0, e: 1e400}\n")
	f.Add("resources:\n- manifest.yaml\n", "apiVersion: v1\nkind: X\nmetadata: {name: a}\nv: !!binary aGVsbG8=\nw: 2001-12-14\n")
	f.Fuzz(func(t *testing.T, kustomization, manifest string) {
		root := t.TempDir()
		app := filepath.Join(root, "app")
		if err := os.MkdirAll(app, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(app, "manifest.yaml"), []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		if kustomization != "" {
			if err := os.WriteFile(filepath.Join(app, "kustomization.yaml"), []byte(kustomization), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		objects, err := Render(root, "app", Options{})
		if err != nil {
			return
		}
		for _, o := range objects {
			if err := CheckJSONTyped("fuzz", o); err != nil {
				t.Fatalf("Render returned an object that is not JSON-typed: %v", err)
			}
			_ = o.DeepCopy()
		}
	})
}
