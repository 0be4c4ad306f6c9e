package render

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
`
	apiDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api}
  annotations: {tier: backend}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: registry.example/api:1.0
`
	replicasPatch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"
	jsonPatch     = "- op: replace\n  path: /spec/replicas\n  value: 5\n"
	annotatePatch = "- op: add\n  path: /metadata/annotations\n  value: {patched: \"yes\"}\n"
)

// summary is each object as "Kind namespace/name replicas=N {annotations}",
// the fields the kustomize options change.
func summary(objects []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objects {
		s := fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
		if replicas, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas"); found {
			s += fmt.Sprintf(" replicas=%d", replicas)
		}
		if a := o.GetAnnotations(); len(a) > 0 {
			s += fmt.Sprintf(" %v", a)
		}
		if t, found, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "annotations"); found {
			s += fmt.Sprintf(" template %v", t)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestKustomizeOptions(t *testing.T) {
	root := tree(t, map[string]string{
		"app/kustomization.yaml":   "resources:\n- web.yaml\n- api.yaml\n- settings.yaml\n",
		"app/web.yaml":             webDeployment,
		"app/api.yaml":             apiDeployment,
		"app/settings.yaml":        configMap("settings"),
		"app/patches/replicas.yml": replicasPatch,
		"patches/json.yaml":        jsonPatch,
		"plain/web.yaml":           webDeployment,
		"plain/api.yaml":           apiDeployment,
		"plain/sub/settings.yaml":  configMap("settings"),
		"plain/sub/ignored.yaml":   configMap("ignored"),
		"plain/replicas.patch":     replicasPatch,
		"empty/README.md":          "no manifests here",
	})
	untouched := []string{"ConfigMap /settings", "Deployment /api replicas=1 map[tier:backend]", "Deployment /web replicas=1"}
	tests := []struct {
		reason string
		path   string
		opts   Options
		want   []string
	}{
		{"no options: the kustomization as it is", "app", Options{}, untouched},
		{"namespace is set on every namespaced object", "app", Options{Namespace: "shop"},
			[]string{"ConfigMap shop/settings", "Deployment shop/api replicas=1 map[tier:backend]", "Deployment shop/web replicas=1"}},
		{"commonAnnotations go on every object and its pod template", "app", Options{CommonAnnotations: map[string]string{"owner": "shop"}},
			[]string{"ConfigMap /settings map[owner:shop]", "Deployment /api replicas=1 map[owner:shop tier:backend] template map[owner:shop]",
				"Deployment /web replicas=1 map[owner:shop] template map[owner:shop]"}},
		{"an inline strategic merge patch applies to the object it names", "app", Options{Patches: []Patch{{Patch: replicasPatch}}},
			[]string{"ConfigMap /settings", "Deployment /api replicas=1 map[tier:backend]", "Deployment /web replicas=3"}},
		{"an inline JSON 6902 patch applies to its target", "app",
			Options{Patches: []Patch{{Patch: jsonPatch, Target: &PatchTarget{Kind: "Deployment", Name: "web"}}}},
			[]string{"ConfigMap /settings", "Deployment /api replicas=1 map[tier:backend]", "Deployment /web replicas=5"}},
		{"a patch in a file, relative to the path", "app", Options{Patches: []Patch{{Path: "patches/replicas.yml"}}},
			[]string{"ConfigMap /settings", "Deployment /api replicas=1 map[tier:backend]", "Deployment /web replicas=3"}},
		{"a patch in a file, from the repository's root", "app",
			Options{Patches: []Patch{{Path: "/patches/json.yaml", Target: &PatchTarget{Group: "apps", Kind: "Deployment"}}}},
			[]string{"ConfigMap /settings", "Deployment /api replicas=5 map[tier:backend]", "Deployment /web replicas=5"}},
		{"a target's name is a regular expression", "app",
			Options{Patches: []Patch{{Patch: jsonPatch, Target: &PatchTarget{Kind: "Deployment", Name: "w.*"}}}},
			[]string{"ConfigMap /settings", "Deployment /api replicas=1 map[tier:backend]", "Deployment /web replicas=5"}},
		{"a target by label selector", "app",
			Options{Patches: []Patch{{Patch: annotatePatch, Target: &PatchTarget{LabelSelector: "app in (web)"}}}},
			[]string{"ConfigMap /settings", "Deployment /api replicas=1 map[tier:backend]", "Deployment /web replicas=1 map[patched:yes]"}},
		{"a target by annotation selector", "app",
			Options{Patches: []Patch{{Patch: "- op: replace\n  path: /spec/replicas\n  value: 2\n", Target: &PatchTarget{AnnotationSelector: "tier=backend"}}}},
			[]string{"ConfigMap /settings", "Deployment /api replicas=2 map[tier:backend]", "Deployment /web replicas=1"}},
		{"patches apply in order", "app",
			Options{Patches: []Patch{{Patch: replicasPatch}, {Patch: jsonPatch, Target: &PatchTarget{Name: "web"}}}},
			[]string{"ConfigMap /settings", "Deployment /api replicas=1 map[tier:backend]", "Deployment /web replicas=5"}},
		{"no option leaves a plain directory plain", "plain", Options{},
			[]string{"Deployment /api replicas=1 map[tier:backend]", "Deployment /web replicas=1"}},
		{"a plain directory's manifests are the resources of the options' kustomization", "plain",
			Options{Namespace: "shop", Patches: []Patch{{Path: "replicas.patch"}}},
			[]string{"Deployment shop/api replicas=1 map[tier:backend]", "Deployment shop/web replicas=3"}},
		{"a plain directory's files are chosen by recurse, include and exclude before the options", "plain",
			Options{Recurse: true, Exclude: "ignored.yaml", CommonAnnotations: map[string]string{"owner": "shop"}},
			[]string{"ConfigMap /settings map[owner:shop]", "Deployment /api replicas=1 map[owner:shop tier:backend] template map[owner:shop]",
				"Deployment /web replicas=1 map[owner:shop] template map[owner:shop]"}},
		{"a plain directory with no manifests renders none, options or not", "empty", Options{Namespace: "shop"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			objects, err := Render(root, tt.path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(objects)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

// Images, names and labels apply to a plain directory too, as Flux applies
// them to the kustomization it generates.
func TestKustomizeImagesOnAPlainDirectory(t *testing.T) {
	root := tree(t, map[string]string{"plain/web.yaml": webDeployment})
	objects, err := Render(root, "plain", Options{Images: []string{"registry.example/web:2.0"}, NamePrefix: "prod-"})
	if err != nil {
		t.Fatal(err)
	}
	containers, _, _ := unstructuredSlice(objects[0].Object, "spec", "template", "spec", "containers")
	got := objects[0].GetName() + " " + containers[0].(map[string]any)["image"].(string)
	if want := "prod-web registry.example/web:2.0"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestKustomizeOptionsRefused(t *testing.T) {
	secret := secretOutside(t)
	files := map[string]string{
		"app/kustomization.yaml": "resources:\n- web.yaml\n",
		"app/web.yaml":           webDeployment,
		"plain/web.yaml":         webDeployment,
		"chart/Chart.yaml":       "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/templates/a.yaml": configMap("a"),
	}
	tests := []struct {
		reason  string
		path    string
		opts    Options
		link    string // app/<link> links to the secret outside the checkout
		wantErr string
	}{
		{"a patch path above the repository", "app", Options{Patches: []Patch{{Path: "../../../../etc/passwd"}}}, "",
			`spec.source.kustomize.patches[0]: path "../../../../etc/passwd": it leads out of the repository`},
		{"a patch path above the repository, on a plain directory", "plain", Options{Patches: []Patch{{Path: "../../x.yaml"}}}, "",
			`spec.source.kustomize.patches[0]: path "../../x.yaml": it leads out of the repository`},
		{"a patch file that links out of the repository", "app", Options{Patches: []Patch{{Path: "stolen.yaml"}}}, "stolen.yaml",
			`spec.source.kustomize.patches[0]: path "stolen.yaml": it leads out of the repository`},
		{"a patch file that is not there", "app", Options{Patches: []Patch{{Patch: replicasPatch}, {Path: "nope.yaml"}}}, "",
			`spec.source.kustomize.patches[1]: path "nope.yaml": no such file in the revision`},
		{"both path and patch", "app", Options{Patches: []Patch{{Path: "web.yaml", Patch: replicasPatch}}}, "",
			"spec.source.kustomize.patches[0]: a patch has either path or patch, not both"},
		{"neither path nor patch", "app", Options{Patches: []Patch{{}}}, "",
			"spec.source.kustomize.patches[0]: a patch needs path or patch"},
		{"an option kustomize does not have", "app", Options{Patches: []Patch{{Patch: replicasPatch, Options: map[string]bool{"force": true}}}}, "",
			`spec.source.kustomize.patches[0]: options: "force" is not a patch option`},
		{"a patch that is not YAML", "plain", Options{Patches: []Patch{{Patch: "{{{", Target: &PatchTarget{Kind: "Deployment"}}}}, "",
			`spec.source.kustomize on plain: `},
		{"patches on a Helm chart", "chart", Options{Patches: []Patch{{Patch: replicasPatch}}}, "",
			`path "chart" is a Helm chart, and spec.source.kustomize.patches applies to kustomize and plain directories only`},
		{"namespace on a Helm chart", "chart", Options{Namespace: "shop", Helm: HelmOptions{Explicit: true}}, "",
			`spec.source.kustomize.namespace applies to kustomize and plain directories only`},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			root := tree(t, files)
			if tt.link != "" {
				link(t, secret, filepath.Join(root, "app", tt.link))
			}
			objects, err := Render(root, tt.path, tt.opts)
			if err == nil {
				t.Fatalf("rendered %d objects, want an error", len(objects))
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "the-managers-token") || strings.Contains(err.Error(), root) ||
				strings.Contains(err.Error(), "sluice-kustomize-") {
				t.Errorf("the error leaks a file's content or a location on the manager's disk: %v", err)
			}
		})
	}
}
