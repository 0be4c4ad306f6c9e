package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// decodeOne is the one object of a YAML document, normalized as Render
// leaves it.
func decodeOne(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	objects, err := Decode("test.yaml", []byte(doc))
	if err != nil || len(objects) != 1 {
		t.Fatalf("decoding %q: %v (%d objects)", doc, err, len(objects))
	}
	if err := normalize("test.yaml", objects[0]); err != nil {
		t.Fatal(err)
	}
	return objects[0]
}

func TestSubstitute(t *testing.T) {
	cm := func(annotations, data string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n" + annotations + "data:\n" + data
	}
	tests := []struct {
		reason string
		in     string
		vars   map[string]string
		want   string
	}{
		{"a variable is replaced", cm("", "  region: ${region}\n"), map[string]string{"region": "eu-west"},
			cm("", "  region: eu-west\n")},
		{"a default is used when the variable is not set", cm("", "  region: ${region:=us-east}\n"), nil,
			cm("", "  region: us-east\n")},
		{"a set variable wins over its default", cm("", "  region: ${region:=us-east}\n"), map[string]string{"region": "eu-west"},
			cm("", "  region: eu-west\n")},
		{"$${var} escapes: it is left as ${var}", cm("", "  script: echo $${HOME} ${who}\n"), map[string]string{"who": "me"},
			cm("", "  script: echo ${HOME} me\n")},
		{"a variable that is not set and has no default is empty", cm("", "  region: zone-${region}\n"), map[string]string{"other": "x"},
			cm("", "  region: zone-\n")},
		{"a bare $var is not a variable", cm("", "  script: echo $HOME\n"), map[string]string{"HOME": "/root"},
			cm("", "  script: echo $HOME\n")},
		{"an object annotated substitute: disabled is left as it is",
			cm("  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n", "  region: ${region}\n"), map[string]string{"region": "eu-west"},
			cm("  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n", "  region: ${region}\n")},
		{"an object labelled substitute: disabled is left as it is",
			cm("  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n", "  region: ${region}\n"), map[string]string{"region": "eu-west"},
			cm("  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n", "  region: ${region}\n")},
		{"a value's newlines are dropped, as Flux drops them", cm("", "  region: ${region}\n"), map[string]string{"region": "eu-\nwest\n"},
			cm("", "  region: eu-west\n")},
		{"a substituted number is a number", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: ${replicas:=1}\n",
			map[string]string{"replicas": "3"}, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n"},
		{"names and namespaces are substituted too", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${app}-settings\n  namespace: ${env}\n",
			map[string]string{"app": "web", "env": "prod"}, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\n  namespace: prod\n"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			got, err := Substitute([]*unstructured.Unstructured{decodeOne(t, tt.in)}, Variables{Values: tt.vars})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(decodeOne(t, tt.want).Object, got[0].Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubstituteErrors(t *testing.T) {
	settings := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  k: ${v}\n"
	tests := []struct {
		reason  string
		in      string
		vars    Variables
		wantErr string
	}{
		{"a variable name Flux refuses", settings, Variables{Values: map[string]string{"my-var": "x"}},
			`"my-var" is not a variable name: it must match ^[_[:alpha:]][_[:alpha:][:digit:]]*$`},
		{"a name starting with a digit", settings, Variables{Values: map[string]string{"1st": "x"}}, `"1st" is not a variable name`},
		{"a value that breaks the YAML names the object and hides a Secret's value", settings,
			Variables{Values: map[string]string{"v": "s3cret: [unclosed"}, Sensitive: []string{"s3cret: [unclosed"}},
			"spec.postBuild: ConfigMap shop/settings: "},
		{"an unterminated expression names the object", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  k: ${v\n",
			Variables{}, "spec.postBuild: ConfigMap settings: "},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			_, err := Substitute([]*unstructured.Unstructured{decodeOne(t, tt.in)}, tt.vars)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			for _, v := range tt.vars.Sensitive {
				if strings.Contains(err.Error(), v) {
					t.Errorf("the error shows a Secret's value: %v", err)
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	if got := Redact("token abcdef and abc", []string{"abc", "abcdef", ""}); got != "token *** and ***" {
		t.Errorf("redact: %q", got)
	}
}
