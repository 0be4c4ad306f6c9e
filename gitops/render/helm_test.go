package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const chartYAML = "apiVersion: v2\nname: web\nversion: 1.0.0\n"

// settingsTemplate renders the values a test looks at into a ConfigMap.
const settingsTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  namespace: {{ .Release.Namespace }}
data:
  color: {{ .Values.color | quote }}
  size: {{ .Values.size | quote }}
  tag: {{ .Values.image.tag | quote }}
  tagType: {{ kindOf .Values.image.tag | quote }}
  from: {{ .Values.from | quote }}
`

// webChart is a chart with default values and the settings template.
func webChart(extra map[string]string) map[string]string {
	files := map[string]string{
		"app/Chart.yaml":              chartYAML,
		"app/values.yaml":             "color: blue\nsize: small\nimage:\n  tag: \"1.0\"\nfrom: chart\n",
		"app/templates/settings.yaml": settingsTemplate,
	}
	for k, v := range extra {
		files[k] = v
	}
	return files
}

func helmOptions(h HelmOptions) Options {
	if h.ReleaseName == "" {
		h.ReleaseName = "web"
	}
	if h.Namespace == "" {
		h.Namespace = "shop"
	}
	return Options{Helm: h}
}

func renderOne(t *testing.T, root string, opts Options, kind, name string) *unstructured.Unstructured {
	t.Helper()
	objects, err := Render(root, "app", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s among %d objects", kind, name, len(objects))
	return nil
}

func TestHelmValuePrecedence(t *testing.T) {
	root := tree(t, webChart(map[string]string{
		"app/values-prod.yaml":  "color: red\nsize: large\nfrom: values-prod\n",
		"app/values-eu.yaml":    "from: values-eu\n",
		"shared/team.yaml":      "color: green\nfrom: shared\n",
		"app/env/override.yaml": "size: medium\n",
	}))
	tests := []struct {
		name string
		helm HelmOptions
		want map[string]string // ConfigMap data entries
	}{
		{"the chart's values.yaml alone", HelmOptions{},
			map[string]string{"color": "blue", "size": "small", "tag": "1.0", "from": "chart"}},
		{"value files over the chart's, a later file over an earlier one",
			HelmOptions{ValueFiles: []string{"values-prod.yaml", "values-eu.yaml"}},
			map[string]string{"color": "red", "size": "large", "from": "values-eu"}},
		{"a value file elsewhere in the repository, relative or from the root",
			HelmOptions{ValueFiles: []string{"../shared/team.yaml", "/app/env/override.yaml"}},
			map[string]string{"color": "green", "size": "medium", "from": "shared"}},
		{"values over value files",
			HelmOptions{ValueFiles: []string{"values-prod.yaml"}, Values: "from: values\nsize: tiny\n"},
			map[string]string{"color": "red", "size": "tiny", "from": "values"}},
		{"parameters over everything",
			HelmOptions{ValueFiles: []string{"values-prod.yaml"}, Values: "from: values\n",
				Parameters: []HelmParameter{{Name: "from", Value: "parameter"}}},
			map[string]string{"color": "red", "from": "parameter"}},
		{"the last of two parameters of one name wins",
			HelmOptions{Parameters: []HelmParameter{{Name: "color", Value: "one"}, {Name: "color", Value: "two"}}},
			map[string]string{"color": "two"}},
		{"a forceString parameter over a plain one, as --set-string comes after --set",
			HelmOptions{Parameters: []HelmParameter{{Name: "color", Value: "forced", ForceString: true}, {Name: "color", Value: "plain"}}},
			map[string]string{"color": "forced"}},
		{"a missing value file, ignored when asked",
			HelmOptions{ValueFiles: []string{"values-missing.yaml", "values-eu.yaml"}, IgnoreMissingValueFiles: true},
			map[string]string{"from": "values-eu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm := renderOne(t, root, helmOptions(tt.helm), "ConfigMap", "web-settings")
			data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
			for k, want := range tt.want {
				if data[k] != want {
					t.Errorf("%s = %q, want %q (data %v)", k, data[k], want, data)
				}
			}
		})
	}
}

func TestHelmParameters(t *testing.T) {
	root := tree(t, webChart(nil))
	tests := []struct {
		name     string
		param    HelmParameter
		tag      string
		tagType  string
		otherKey string
	}{
		{"a number is a number", HelmParameter{Name: "image.tag", Value: "2"}, "2", "int64", ""},
		{"forceString keeps it a string", HelmParameter{Name: "image.tag", Value: "2", ForceString: true}, "2", "string", ""},
		{"true is a boolean", HelmParameter{Name: "image.tag", Value: "true"}, "true", "bool", ""},
		{"commas are part of the value", HelmParameter{Name: "image.tag", Value: "a,b=c"}, "a,b=c", "string", ""},
		{"a {a,b} value is a list", HelmParameter{Name: "image.tag", Value: "{a,b}"}, "[a b]", "slice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm := renderOne(t, root, helmOptions(HelmOptions{Parameters: []HelmParameter{tt.param}}), "ConfigMap", "web-settings")
			data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
			if data["tag"] != tt.tag || data["tagType"] != tt.tagType {
				t.Errorf("tag = %q (%s), want %q (%s)", data["tag"], data["tagType"], tt.tag, tt.tagType)
			}
			if _, ok := data["b"]; ok {
				t.Errorf("a comma in a value set another key: %v", data)
			}
		})
	}
	if _, err := Render(root, "app", helmOptions(HelmOptions{Parameters: []HelmParameter{{Name: "a[x]", Value: "1"}}})); err == nil ||
		!strings.Contains(err.Error(), "helm.parameters: a[x]") {
		t.Errorf("a parameter that does not parse: err = %v", err)
	}
}

func TestHelmReleaseAndNamespace(t *testing.T) {
	root := tree(t, webChart(nil))
	cm := renderOne(t, root, helmOptions(HelmOptions{ReleaseName: "storefront", Namespace: "prod"}), "ConfigMap", "storefront-settings")
	if cm.GetNamespace() != "prod" {
		t.Errorf("namespace = %q, want the release namespace prod", cm.GetNamespace())
	}
	if _, err := Render(root, "app", helmOptions(HelmOptions{ReleaseName: "Not_A_Release"})); err == nil ||
		!strings.Contains(err.Error(), `release name "Not_A_Release"`) {
		t.Errorf("an invalid release name: err = %v", err)
	}
}

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
`

func TestHelmCRDsAndHooks(t *testing.T) {
	hook := func(name, events string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\n  annotations:\n    helm.sh/hook: " + events +
			"\n    helm.sh/hook-weight: \"-1\"\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n"
	}
	root := tree(t, webChart(map[string]string{
		"app/crds/widget.yaml":             crd,
		"app/templates/migrate.yaml":       hook("migrate", "pre-install,pre-upgrade"),
		"app/templates/tests/smoke.yaml":   hook("smoke", "test"),
		"app/templates/tests/legacy.yaml":  hook("legacy", "test-success"),
		"app/templates/tests/both.yaml":    hook("both", "test, post-install"),
		"app/templates/NOTES.txt":          "Thanks for installing {{ .Release.Name }}",
		"app/templates/_helpers.tpl":       `{{ define "web.name" }}web{{ end }}`,
		"app/templates/empty.yaml":         "{{- if false }}\nnever: here\n{{- end }}\n",
		"app/charts/db/Chart.yaml":         "apiVersion: v2\nname: db\nversion: 0.1.0\n",
		"app/charts/db/crds/gadget.yaml":   strings.ReplaceAll(strings.ReplaceAll(crd, "widget", "gadget"), "Widget", "Gadget"),
		"app/charts/db/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-db\nspec:\n  ports: [{port: 5432}]\n",
	}))
	got := strings.Join(names(t, root, "app", helmOptions(HelmOptions{})), " ")
	want := "CustomResourceDefinition/widgets.example.com CustomResourceDefinition/gadgets.example.com " +
		"Service/web-db Job/migrate ConfigMap/web-settings Job/both"
	if got != want {
		t.Errorf("rendered\n%s\nwant\n%s", got, want)
	}
	objects, err := Render(root, "app", helmOptions(HelmOptions{SkipCrds: true}))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objects {
		if o.GetKind() == "CustomResourceDefinition" {
			t.Errorf("skipCrds rendered %s", o.GetName())
		}
		if o.GetName() == "migrate" && o.GetAnnotations()["helm.sh/hook"] != "pre-install,pre-upgrade" {
			t.Errorf("a hook lost its annotations: %v", o.GetAnnotations())
		}
	}
}

func TestHelmDependencies(t *testing.T) {
	withDependency := chartYAML + "dependencies:\n- name: db\n  version: 0.1.0\n  repository: https://charts.example.com\n"
	dbChart := map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: db\nversion: 0.1.0\n",
		"values.yaml":         "port: 5432\n",
		"templates/svc.yaml":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-db\nspec:\n  ports: [{port: {{ .Values.port }}}]\n",
		"templates/_skip.tpl": "",
	}
	t.Run("a vendored directory, with values from its parent", func(t *testing.T) {
		files := webChart(map[string]string{"app/Chart.yaml": withDependency})
		for name, content := range dbChart {
			files["app/charts/db/"+name] = content
		}
		root := tree(t, files)
		svc := renderOne(t, root, helmOptions(HelmOptions{Values: "db:\n  port: 6543\n"}), "Service", "web-db")
		ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
		if len(ports) != 1 || ports[0].(map[string]any)["port"] != int64(6543) {
			t.Errorf("ports = %v, want the parent's value 6543", ports)
		}
	})
	t.Run("a vendored archive", func(t *testing.T) {
		root := tree(t, webChart(map[string]string{"app/Chart.yaml": withDependency}))
		writeChartArchive(t, filepath.Join(root, "app/charts/db-0.1.0.tgz"), "db", dbChart)
		renderOne(t, root, helmOptions(HelmOptions{}), "Service", "web-db")
	})
	t.Run("a missing one is named, and nothing is downloaded", func(t *testing.T) {
		root := tree(t, webChart(map[string]string{"app/Chart.yaml": withDependency}))
		_, err := Render(root, "app", helmOptions(HelmOptions{}))
		if err == nil || !strings.Contains(err.Error(), `dependency "db" is not in its charts/ directory`) {
			t.Errorf("err = %v", err)
		}
	})
}

// writeChartArchive writes a chart as `helm package` would: a gzipped tar
// whose entries are below a directory named after the chart.
func writeChartArchive(t *testing.T, name, chartName string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for n, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: chartName + "/" + n, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestHelmErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		helm    HelmOptions
		wantErr []string
	}{
		{"a template that does not parse names the template and line",
			webChart(map[string]string{"app/templates/broken.yaml": "apiVersion: v1\nkind: ConfigMap\n{{ if }}\n"}),
			HelmOptions{}, []string{"web/templates/broken.yaml:3"}},
		{"a failing template names the template, line and column",
			webChart(map[string]string{"app/templates/fails.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"name is required\" .Values.name }}\n"}),
			HelmOptions{}, []string{"web/templates/fails.yaml:4:", "name is required"}},
		{"a template's output that is not YAML names the template and line",
			webChart(map[string]string{"app/templates/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [\n"}),
			HelmOptions{}, []string{"web/templates/bad.yaml:"}},
		{"a value file above the checkout", webChart(nil),
			HelmOptions{ValueFiles: []string{"../../../etc/passwd"}}, []string{"helm.valueFiles: ../../../etc/passwd leads out of the repository"}},
		{"a value file by URL", webChart(nil),
			HelmOptions{ValueFiles: []string{"https://example.com/values.yaml"}}, []string{"remote value files are not fetched"}},
		{"a missing value file", webChart(nil),
			HelmOptions{ValueFiles: []string{"values-missing.yaml"}}, []string{"helm.valueFiles: values-missing.yaml: no such file"}},
		{"values that are not YAML", webChart(nil),
			HelmOptions{Values: "color: [\n"}, []string{"helm.values:"}},
		{"values against the chart's schema",
			webChart(map[string]string{"app/values.schema.json": `{"type":"object","properties":{"size":{"enum":["small","large"]}}}`}),
			HelmOptions{Values: "size: huge\n"}, []string{"values.schema.json", "size"}},
		{"a schema that refers to another document loads nothing",
			webChart(map[string]string{"app/values.schema.json": `{"$ref":"file:///etc/passwd"}`}),
			HelmOptions{}, []string{"are not loaded"}},
		{"a chart for another Kubernetes", webChart(map[string]string{"app/Chart.yaml": chartYAML + "kubeVersion: \">= 9.0.0\"\n"}),
			HelmOptions{}, []string{"requires kubeVersion >= 9.0.0"}},
		{"helm options on a directory that is not a chart", map[string]string{"app/cm.yaml": configMap("a")},
			HelmOptions{Explicit: true}, []string{"no Chart.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files)
			objects, err := Render(root, "app", helmOptions(tt.helm))
			if err == nil {
				t.Fatalf("rendered %d objects, want an error", len(objects))
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to name %q", err, want)
				}
			}
			if strings.Contains(err.Error(), root) {
				t.Errorf("the error names the checkout's location: %v", err)
			}
		})
	}
	t.Run("skipSchemaValidation renders anyway", func(t *testing.T) {
		root := tree(t, webChart(map[string]string{"app/values.schema.json": `{"type":"object","properties":{"size":{"enum":["small"]}}}`}))
		renderOne(t, root, helmOptions(HelmOptions{Values: "size: huge\n", SkipSchemaValidation: true}), "ConfigMap", "web-settings")
	})
}

func TestHelmDetection(t *testing.T) {
	files := webChart(map[string]string{"app/kustomization.yaml": "resources:\n- plain.yaml\n", "app/plain.yaml": configMap("kustomized")})
	root := tree(t, files)
	if got := names(t, root, "app", helmOptions(HelmOptions{})); !reflect.DeepEqual(got, []string{"ConfigMap/kustomized"}) {
		t.Errorf("a kustomization beside a Chart.yaml, no helm options: %v", got)
	}
	if got := names(t, root, "app", helmOptions(HelmOptions{Explicit: true})); !reflect.DeepEqual(got, []string{"ConfigMap/web-settings"}) {
		t.Errorf("with helm options: %v", got)
	}
	root = tree(t, webChart(nil))
	if got := names(t, root, "app", helmOptions(HelmOptions{})); !reflect.DeepEqual(got, []string{"ConfigMap/web-settings"}) {
		t.Errorf("a Chart.yaml alone: %v", got)
	}
}

func TestHelmLookupFindsNothing(t *testing.T) {
	root := tree(t, webChart(map[string]string{
		"app/templates/lookup.yaml": `{{- $ns := lookup "v1" "Namespace" "" "kube-system" }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: lookup
data:
  found: {{ empty $ns | ternary "no" "yes" | quote }}
  host: {{ getHostByName "localhost" | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
`,
	}))
	cm := renderOne(t, root, helmOptions(HelmOptions{}), "ConfigMap", "lookup")
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	if data["found"] != "no" || data["host"] != "" || data["kube"] == "" {
		t.Errorf("data = %v: lookup and DNS must find nothing, the Kubernetes version be set", data)
	}
}

// A chart reads only its own checkout, as a kustomization does: each of
// these fails the render naming the tenant's file, and leaks nothing.
func TestHelmStaysInTheCheckout(t *testing.T) {
	secret := secretOutside(t)
	outsideChart := tree(t, map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: elsewhere\nversion: 0.1.0\n",
		"templates/cm.yaml":   configMap("elsewhere"),
		"templates/_x.tpl":    "",
		"values.yaml":         "a: b\n",
		"crds/not-yours.yaml": crd,
	})
	tests := []struct {
		name    string
		links   map[string]string // name in the checkout -> target
		helm    HelmOptions
		wantErr string
	}{
		{"a template that links out", map[string]string{"app/templates/stolen.yaml": secret}, HelmOptions{},
			"templates/stolen.yaml: a link that leads out of the repository"},
		{"a subchart that links out", map[string]string{"app/charts/elsewhere": outsideChart}, HelmOptions{},
			"charts/elsewhere: a link that leads out of the repository"},
		{"a value file that links out", map[string]string{"env/values-stolen.yaml": secret},
			HelmOptions{ValueFiles: []string{"../env/values-stolen.yaml"}}, "helm.valueFiles: ../env/values-stolen.yaml leads out of the repository"},
		{"a value file by absolute path", nil,
			HelmOptions{ValueFiles: []string{"/../../../../../../.." + secret}}, "leads out of the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, webChart(nil))
			for name, target := range tt.links {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				link(t, target, filepath.Join(root, name))
			}
			objects, err := Render(root, "app", helmOptions(tt.helm))
			if err == nil {
				t.Fatalf("rendered %d objects, want an error", len(objects))
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one naming %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "the-managers-token") || strings.Contains(err.Error(), root) {
				t.Errorf("the error leaks a file's content or the checkout's location: %v", err)
			}
		})
	}
	t.Run("links inside the checkout are followed", func(t *testing.T) {
		files := webChart(map[string]string{
			"common/db/Chart.yaml":         "apiVersion: v2\nname: db\nversion: 0.1.0\n",
			"common/db/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: shared-db\nspec:\n  ports: [{port: 1}]\n",
			"common/values.yaml":           "color: linked\n",
		})
		root := tree(t, files)
		if err := os.MkdirAll(filepath.Join(root, "app/charts"), 0o755); err != nil {
			t.Fatal(err)
		}
		link(t, "../../common/db", filepath.Join(root, "app/charts/db"))
		link(t, "../common/values.yaml", filepath.Join(root, "app/values-linked.yaml"))
		cm := renderOne(t, root, helmOptions(HelmOptions{ValueFiles: []string{"values-linked.yaml"}}), "ConfigMap", "web-settings")
		if color, _, _ := unstructured.NestedString(cm.Object, "data", "color"); color != "linked" {
			t.Errorf("color = %q, want the linked value file's", color)
		}
		renderOne(t, root, helmOptions(HelmOptions{}), "Service", "shared-db")
	})
	t.Run("a directory that links to its parent ends", func(t *testing.T) {
		root := tree(t, webChart(map[string]string{"app/files/a.txt": "a"}))
		link(t, "..", filepath.Join(root, "app/files/loop"))
		_, err := Render(root, "app", helmOptions(HelmOptions{}))
		if err == nil || !strings.Contains(err.Error(), "links to directories deep") {
			t.Errorf("err = %v, want the walk stopped at a bound", err)
		}
		if err != nil && strings.Contains(err.Error(), root) {
			t.Errorf("the error names the checkout's location: %v", err)
		}
	})
	t.Run("the chart's size is bounded", func(t *testing.T) {
		saved := maxChartSize
		maxChartSize = 1024
		defer func() { maxChartSize = saved }()
		root := tree(t, webChart(map[string]string{"app/files/big.txt": strings.Repeat("x", 2048)}))
		_, err := Render(root, "app", helmOptions(HelmOptions{}))
		if err == nil || !strings.Contains(err.Error(), "more than 1024 bytes") {
			t.Errorf("err = %v", err)
		}
	})
}
