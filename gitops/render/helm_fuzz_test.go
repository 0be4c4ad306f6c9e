package render

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzChart's templates put the values in an object's structure, not only
// in strings, so what the fuzzer writes reaches normalization.
var fuzzChart = map[string]string{
	"Chart.yaml":  chartYAML,
	"values.yaml": "replicas: 1\nspec:\n  a: b\nlist: [1, 2.5, true]\n",
	"templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: fuzz
data:
  all: {{ toYaml .Values | quote }}
  replicas: {{ .Values.replicas | quote }}
`,
	"templates/widget.yaml": `apiVersion: example.com/v1
kind: Widget
metadata:
  name: widget
spec:
  {{- toYaml .Values.spec | nindent 2 }}
list:
  {{- toYaml .Values.list | nindent 2 }}
`,
}

// FuzzHelmValues feeds what an Application writes for a chart (values
// YAML and a parameter) through rendering, and the objects through the
// copying the apply engine does: an error or JSON-typed objects, never a
// panic.
//
//	go test ./gitops/render -run XXX -fuzz FuzzHelmValues -fuzztime 60s
func FuzzHelmValues(f *testing.F) {
	root := f.TempDir()
	for name, content := range fuzzChart {
		p := filepath.Join(root, "app", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	f.Add("", "replicas", "3", false)
	f.Add("spec:\n  replicas: 2\n  big: 123456789012345678901234567890\n", "spec.ratio", "0.5", false)
	f.Add("spec: {x: .inf, y: .nan}\n", "list[0]", "7", true)
	f.Add("spec: [1, 2]\n", "spec", "{a,b}", false)
	f.Add("spec: {t: 2001-12-14, b: !!binary aGVsbG8=}\n", "spec.when", "2001-12-14", false)
	f.Add("a: &a [*a, *a]\n", "spec.e", "1e400", false)
	f.Add(`{"spec": {"n": -0.0}}`, "x[100000]", "1", false)
	f.Fuzz(func(t *testing.T, values, name, value string, forceString bool) {
		opts := Options{Helm: HelmOptions{
			ReleaseName: "fuzz", Namespace: "fuzz", Values: values,
			Parameters: []HelmParameter{{Name: name, Value: value, ForceString: forceString}},
		}}
		objects, err := Render(root, "app", opts)
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
