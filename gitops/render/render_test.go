package render

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tree writes files (path -> content) under a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func configMap(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  k: v\n"
}

func names(t *testing.T, root, path string, opts Options) []string {
	t.Helper()
	objects, err := Render(root, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objects {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

func TestRenderDirectory(t *testing.T) {
	root := tree(t, map[string]string{
		"app/a.yaml":           configMap("a") + "---\n# only a comment\n---\n" + configMap("a2"),
		"app/b.json":           `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`,
		"app/notes.txt":        "not a manifest",
		"app/list.yml":         "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(configMap("l1"), "\n", "\n  "),
		"app/sub/c.yaml":       configMap("c"),
		"app/sub/skip.yaml":    configMap("skip"),
		"app/.hidden/h.yaml":   configMap("hidden"),
		"other/elsewhere.yaml": configMap("elsewhere"),
	})
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"the directory's manifests, files in order, documents in order", Options{},
			[]string{"ConfigMap/a", "ConfigMap/a2", "ConfigMap/b", "ConfigMap/l1"}},
		{"recurse", Options{Recurse: true},
			[]string{"ConfigMap/a", "ConfigMap/a2", "ConfigMap/b", "ConfigMap/l1", "ConfigMap/c", "ConfigMap/skip"}},
		{"include with alternatives", Options{Recurse: true, Include: "{a.yaml,sub/*}"},
			[]string{"ConfigMap/a", "ConfigMap/a2", "ConfigMap/c", "ConfigMap/skip"}},
		{"exclude", Options{Recurse: true, Exclude: "skip.yaml"},
			[]string{"ConfigMap/a", "ConfigMap/a2", "ConfigMap/b", "ConfigMap/l1", "ConfigMap/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(t, root, "app", tt.opts); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		path    string
		wantErr string
	}{
		{"broken YAML names the file and the line", map[string]string{
			"app/ok.yaml":  configMap("ok"),
			"app/bad.yaml": configMap("first") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   bad: indent\n",
		}, "app", "bad.yaml:11: "},
		{"an object with no kind", map[string]string{"app/a.yaml": "apiVersion: v1\nmetadata:\n  name: x\n"}, "app",
			"a.yaml:1: an object needs apiVersion and kind"},
		{"an object with no name", map[string]string{"app/a.yaml": "apiVersion: v1\nkind: ConfigMap\n"}, "app",
			"a.yaml:1: ConfigMap has no metadata.name"},
		{"a path that is not there", map[string]string{"app/a.yaml": configMap("a")}, "nope",
			`path "nope": no such directory in the revision`},
		{"a path that climbs out of the checkout stays inside it", map[string]string{"app/a.yaml": configMap("a")}, "../../etc",
			`path "../../etc": no such directory in the revision`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tree(t, tt.files), tt.path, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRenderKustomization(t *testing.T) {
	root := tree(t, map[string]string{
		"base/kustomization.yaml": "resources:\n- deploy.yaml\n",
		"base/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
`,
		"overlays/prod/kustomization.yaml": "resources:\n- ../../base\nnamePrefix: prod-\n",
	})
	objects, err := Render(root, "overlays/prod", Options{
		Images: []string{"registry.example/web:2.0"}, NameSuffix: "-x", CommonLabels: map[string]string{"team": "shop"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) != 1 {
		t.Fatalf("got %d objects", len(objects))
	}
	d := objects[0]
	if d.GetName() != "prod-web-x" {
		t.Errorf("name %q", d.GetName())
	}
	if d.GetLabels()["team"] != "shop" {
		t.Errorf("labels %v", d.GetLabels())
	}
	containers, _, _ := unstructuredSlice(d.Object, "spec", "template", "spec", "containers")
	if image := containers[0].(map[string]any)["image"]; image != "registry.example/web:2.0" {
		t.Errorf("image %v", image)
	}
	// The checkout is left as it was.
	if entries, _ := os.ReadDir(filepath.Join(root, "overlays/prod")); len(entries) != 1 {
		t.Errorf("the overlay directory changed: %v", entries)
	}
}

func TestParseImage(t *testing.T) {
	for in, want := range map[string]string{
		"web:2.0":                      "web  2.0 ",
		"web=registry.example/web:2.0": "web registry.example/web 2.0 ",
		"web@sha256:abc":               "web   sha256:abc",
		"localhost:5000/web:1":         "localhost:5000/web  1 ",
	} {
		img, err := parseImage(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := img.Name + " " + img.NewName + " " + img.NewTag + " " + img.Digest; got != want {
			t.Errorf("parseImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func unstructuredSlice(obj map[string]any, fields ...string) ([]any, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[f]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}
