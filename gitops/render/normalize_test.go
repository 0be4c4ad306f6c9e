package render

import (
	"math"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// deployment is a Deployment as people write it: numbers for replicas,
// ports and probe timings.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  revisionHistoryLimit: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
      - name: web
        image: registry.example/web:1.0
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 5
`

const service = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
`

// The crash this guards against: kustomize hands out Go ints, which
// unstructured.DeepCopy panics on, in the apply engine's own goroutine.
func TestRenderedObjectsAreJSONTyped(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"a kustomization with a Deployment and a Service", map[string]string{
			"app/kustomization.yaml": "resources:\n- deployment.yaml\n- service.yaml\nreplicas:\n- name: web\n  count: 3\n",
			"app/deployment.yaml":    deployment,
			"app/service.yaml":       service,
		}},
		{"a plain directory with a Deployment and a Service", map[string]string{
			"app/deployment.yaml": deployment,
			"app/service.yaml":    service,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objects, err := Render(tree(t, tt.files), "app", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(objects) != 2 {
				t.Fatalf("got %d objects, want 2", len(objects))
			}
			for _, o := range objects {
				_ = o.DeepCopy() // panics on a value that is not JSON-typed
				if err := CheckJSONTyped("test", o); err != nil {
					t.Error(err)
				}
			}
			byKind := map[string]*unstructured.Unstructured{}
			for _, o := range objects {
				byKind[o.GetKind()] = o
			}
			// Whole numbers are int64, as the API server's decoder makes
			// them, so the typed accessors read them.
			for _, f := range []struct {
				kind  string
				path  []string
				value int64
			}{
				{"Deployment", []string{"spec", "replicas"}, 3},
				{"Deployment", []string{"spec", "template", "spec", "terminationGracePeriodSeconds"}, 20},
			} {
				got, found, err := unstructured.NestedInt64(byKind[f.kind].Object, f.path...)
				if err != nil || !found || got != f.value {
					t.Errorf("%s %s = %d (found %v, %v), want %d", f.kind, strings.Join(f.path, "."), got, found, err, f.value)
				}
			}
			ports, _, _ := unstructured.NestedSlice(byKind["Service"].Object, "spec", "ports")
			if port := ports[0].(map[string]any)["targetPort"]; port != int64(8080) {
				t.Errorf("targetPort = %#v, want int64 8080", port)
			}
		})
	}
}

func TestCheckJSONTyped(t *testing.T) {
	tests := []struct {
		name    string
		content map[string]any
		wantErr string
	}{
		{"every JSON type", map[string]any{"kind": "X", "s": "a", "i": int64(1), "f": 0.5, "b": true, "n": nil,
			"m": map[string]any{"l": []any{int64(1), "x"}}}, ""},
		{"a Go int", map[string]any{"kind": "X", "spec": map[string]any{"replicas": 3}},
			"field spec.replicas holds a int, which is not a JSON value"},
		{"an int32 in a list", map[string]any{"kind": "X", "spec": map[string]any{"ports": []any{map[string]any{"port": int32(80)}}}},
			"field spec.ports[0].port holds a int32"},
		{"a map with keys that are not strings", map[string]any{"kind": "X", "data": map[any]any{"a": "b"}},
			"field data holds a map[interface {}]interface {}"},
		{"NaN", map[string]any{"kind": "X", "v": math.NaN()}, "field v holds a float64"},
		{"a typed slice", map[string]any{"kind": "X", "v": []string{"a"}}, "field v holds a []string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJSONTyped("file.yaml", &unstructured.Unstructured{Object: tt.content})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "file.yaml: X") {
				t.Fatalf("err = %v, want one naming file.yaml and containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNormalizeMakesGoNumbersJSONTyped(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "X", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"a": 3, "b": int32(4), "c": 2.5, "d": float64(7), "e": uint8(1)},
	}}
	if err := normalize("x.yaml", obj); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": int64(3), "b": int64(4), "c": 2.5, "d": int64(7), "e": int64(1)}
	spec := obj.Object["spec"].(map[string]any)
	for k, v := range want {
		if spec[k] != v {
			t.Errorf("spec.%s = %#v, want %#v", k, spec[k], v)
		}
	}
	if _, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj); err != nil {
		t.Errorf("the normalized object does not convert: %v", err)
	}
}

func TestNormalizeRefusesWhatJSONCannotHold(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "X", "metadata": map[string]any{"name": "x"}, "v": math.Inf(1),
	}}
	err := normalize("app/kustomization.yaml", obj)
	if err == nil || !strings.HasPrefix(err.Error(), `app/kustomization.yaml: X "x" cannot be written as JSON`) {
		t.Fatalf("err = %v", err)
	}
}
