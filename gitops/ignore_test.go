package gitops

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// deployment is a Deployment with two containers, an init container, and
// replicas set, as read from the API server (int64 numbers).
func deployment(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	var u unstructured.Unstructured
	doc := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `, namespace: shop}
spec:
  replicas: 3
  template:
    spec:
      initContainers:
      - {name: istio-init, image: proxy}
      containers:
      - {name: app, image: app:1, env: [{name: A, value: "1"}, {name: OTEL_X, value: "2"}, {name: OTEL_Y, value: "3"}]}
      - {name: sidecar, image: proxy}
`
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return &u
}

func TestIgnorePointers(t *testing.T) {
	hpa := metav1.ManagedFieldsEntry{Manager: "hpa-controller", Operation: metav1.ManagedFieldsOperationApply,
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:replicas":{}}}`)}
	injector := metav1.ManagedFieldsEntry{Manager: "injector", Operation: metav1.ManagedFieldsOperationUpdate,
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(
			`{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`)}
	tests := []struct {
		name    string
		spec    []gitopsv1alpha1.ResourceIgnoreDifferences
		desired string // the object's name; the live one is the same object
		live    bool
		want    []string
	}{{
		name: "a pointer for the object's group and kind",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
		want: []string{"/spec/replicas"},
	}, {
		name: "the empty group is the core group only",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
	}, {
		name: "wildcards in group and kind",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "*", Kind: "Deploy*", JSONPointers: []string{"/spec/replicas"}}},
		want: []string{"/spec/replicas"},
	}, {
		name: "another name does not match",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", Name: "other", JSONPointers: []string{"/spec/replicas"}}},
	}, {
		name: "another namespace does not match",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", Namespace: "other", JSONPointers: []string{"/spec/replicas"}}},
	}, {
		name: "name and namespace narrow to the object",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", Name: "web", Namespace: "shop",
			JSONPointers: []string{"/spec/replicas"}}},
		want: []string{"/spec/replicas"},
	}, {
		name: "a jq expression selecting a list item by content",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment",
			JQPathExpressions: []string{`.spec.template.spec.initContainers[] | select(.name == "istio-init")`}}},
		want: []string{"/spec/template/spec/initContainers/0"},
	}, {
		name: "jq paths of one list, the later item first",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment",
			JQPathExpressions: []string{`.spec.template.spec.containers[0].env[] | select(.name | startswith("OTEL_"))`}}},
		want: []string{"/spec/template/spec/containers/0/env/2", "/spec/template/spec/containers/0/env/1"},
	}, {
		name: "a jq expression over a field the object lacks ignores nothing",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment",
			JQPathExpressions: []string{`.spec.volumes[] | select(.name == "x")`}}},
	}, {
		name: "a manager's fields, resolved in the live object",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"hpa-controller"}}},
		live: true,
		want: []string{"/spec/replicas"},
	}, {
		name: "a manager's list item by key, without what is inside it",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"injector"}}},
		live: true,
		want: []string{"/spec/template/spec/containers/1"},
	}, {
		name: "managers ignore nothing of an object not created yet",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"hpa-controller"}}},
	}, {
		name: "entries add up, each pointer once, an escaped name kept",
		spec: []gitopsv1alpha1.ResourceIgnoreDifferences{
			{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas", "/metadata/annotations/a~1b"}},
			{Group: "apps", Kind: "*", JSONPointers: []string{"/spec/replicas"}, ManagedFieldsManagers: []string{"hpa-controller"}},
		},
		live: true,
		want: []string{"/spec/replicas", "/metadata/annotations/a~1b"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := CompileIgnoreDifferences(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			desired := deployment(t, "web")
			var live *unstructured.Unstructured
			if tt.live {
				live = deployment(t, "web")
				live.SetManagedFields([]metav1.ManagedFieldsEntry{hpa, injector})
			}
			got, err := rules.Pointers(desired, live)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pointers = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIgnoreRuleSelectsTheObjectAlone(t *testing.T) {
	rules, err := CompileIgnoreDifferences([]gitopsv1alpha1.ResourceIgnoreDifferences{{Group: "*", Kind: "*", JSONPointers: []string{"/data"}}})
	if err != nil {
		t.Fatal(err)
	}
	cm := obj("v1", "ConfigMap", "shop", "a.b")
	rule, err := rules.Rule(cm, nil)
	if err != nil || rule == nil {
		t.Fatalf("rule = %v, %v", rule, err)
	}
	want := "()|v1|ConfigMap|shop|a\\.b"
	s := rule.Selector
	if got := strings.Join([]string{s.Group, s.Version, s.Kind, s.Namespace, s.Name}, "|"); got != want {
		t.Errorf("selector = %s, want %s", got, want)
	}
}

func TestCompileIgnoreDifferencesNamesTheField(t *testing.T) {
	tests := []struct {
		spec gitopsv1alpha1.ResourceIgnoreDifferences
		want string
	}{
		{gitopsv1alpha1.ResourceIgnoreDifferences{}, "spec.ignoreDifferences[0].kind"},
		{gitopsv1alpha1.ResourceIgnoreDifferences{Kind: "[x"}, "spec.ignoreDifferences[0].kind"},
		{gitopsv1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JSONPointers: []string{"spec/replicas"}}, "spec.ignoreDifferences[0].jsonPointers[0]"},
		{gitopsv1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JSONPointers: []string{"/a~2"}}, "spec.ignoreDifferences[0].jsonPointers[0]"},
		{gitopsv1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JQPathExpressions: []string{".spec | "}}, "spec.ignoreDifferences[0].jqPathExpressions[0]"},
		{gitopsv1alpha1.ResourceIgnoreDifferences{Kind: "Deployment", JQPathExpressions: []string{".a", `"x" * 1000000000`}}, "spec.ignoreDifferences[0].jqPathExpressions[1]"},
	}
	for _, tt := range tests {
		_, err := CompileIgnoreDifferences([]gitopsv1alpha1.ResourceIgnoreDifferences{tt.spec})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want+":") {
			t.Errorf("%+v: error %v, want one naming %s", tt.spec, err, tt.want)
		}
	}
}

func TestJQPathSubset(t *testing.T) {
	accepted := []string{
		`.spec.replicas`,
		`.webhooks[]?.clientConfig.caBundle`,
		`.metadata.annotations["kubectl.kubernetes.io/restartedAt"]`,
		`.spec.template.spec.containers[] | select(.name == "app") | .resources`,
		`.spec.template.spec.containers[] | select(.name | test("^side"))`,
		`.spec.x[] | select(.name | IN("a", "b"))`,
		`.. | select(type == "object" and has("caBundle")) | .caBundle`,
		`(.a, .b) // empty`,
		`.items[-1]`,
		`if .a then .b else .c end`,
	}
	for _, x := range accepted {
		if _, err := compileJQPath(x); err != nil {
			t.Errorf("%s: %v", x, err)
		}
	}
	refused := []string{
		`"a" * 1000000000`,
		`.a + .a`,
		`[., .]`,
		`{a: .}`,
		`"\(.)\(.)"`,
		`@json`,
		`reduce range(40) as $i (.; .)`,
		`def f: f; f`,
		`env`,
		`$ENV`,
		`input`,
		`tostring`,
		`recurse(.a)`,
		`. as $x | $x`,
		`.a = 1`,
		`import "x" as x; .`,
		strings.Repeat(".a", 600),
	}
	for _, x := range refused {
		if _, err := compileJQPath(x); err == nil {
			t.Errorf("%s: accepted", x)
		}
	}
}

func TestJQPathBudget(t *testing.T) {
	// Allowed functions, composed to run long: stopped by the budget, an
	// error rather than a field silently not ignored.
	x, err := compileJQPath(`.. | .. | .. | .. | .. | .. | .. | .. | select(. == "never")`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.paths(deployment(t, "web").Object); err == nil {
		t.Fatal("a long evaluation was not stopped")
	}
}

func FuzzJQPath(f *testing.F) {
	for _, seed := range []string{`.spec.replicas`, `.spec.template.spec.containers[] | select(.name == "app")`,
		`.. | select(type == "string")`, `.a[1:2]`, `.["a"]?`, `limit(3; ..)`, `try .a catch .b`} {
		f.Add(seed)
	}
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","labels":{"x":"y"}},
		"data":{"a":"1","b":"2"},"spec":{"replicas":3,"list":[{"name":"a","n":1},{"name":"b","n":2.5}]}}`)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		x, err := compileJQPath(expr)
		if err != nil {
			return
		}
		paths, _ := x.paths(u.Object)
		for _, p := range paths {
			if err := checkPointer(p); err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
		}
	})
}
