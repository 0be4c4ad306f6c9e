package render

import (
	"strings"
	"testing"
)

// FuzzSubstitute feeds a tenant's manifest and a variable's value (from
// Git, or from a ConfigMap or Secret the tenant writes) through postBuild
// substitution: it returns an error or objects that copy, never a panic,
// and an error never shows the value, which may be a Secret's.
//
//	go test ./gitops/render -run XXX -fuzz FuzzSubstitute -fuzztime 60s
func FuzzSubstitute(f *testing.F) {
	f.Add(deployment, "3")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"${v}\", d: \"${w:=x}\", e: \"$${v}\"}\n", "value")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"${v}\"}\n", "")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: ${v}}\n", "[unclosed: {")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"${v:0:2}${v/a/b}${#v}${v^^}\"}\n", "abc")
	f.Fuzz(func(t *testing.T, manifest, value string) {
		objects, err := Decode("fuzz.yaml", []byte(manifest))
		if err != nil {
			return
		}
		for _, o := range objects {
			if normalize("fuzz.yaml", o) != nil {
				return
			}
		}
		out, err := Substitute(objects, Variables{Values: map[string]string{"v": value}, Sensitive: []string{value}})
		if err != nil {
			if len(value) > 3 && strings.Contains(err.Error(), value) {
				t.Fatalf("the error shows the value: %v", err)
			}
			return
		}
		for _, o := range out {
			if err := CheckJSONTyped("fuzz", o); err != nil {
				t.Fatalf("Substitute returned an object that is not JSON-typed: %v", err)
			}
			_ = o.DeepCopy()
		}
	})
}
