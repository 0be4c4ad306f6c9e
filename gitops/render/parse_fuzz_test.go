package render

import (
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds a file of a tenant's plain directory to Decode: an error
// or objects with a kind, an apiVersion and (but for Lists' items) a name.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(deployment + "---\n" + service))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}]}`))
	f.Add([]byte("# only a comment\n---\n---\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {k: !!binary aGk=}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objects, err := Decode("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("an error that names no file: %v", err)
			}
			return
		}
		for _, o := range objects {
			if o.GetKind() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("an object with no kind or apiVersion: %v", o.Object)
			}
		}
	})
}

// FuzzGlob: whatever pattern a tenant writes, checking and matching it
// ends quickly and never panics.
func FuzzGlob(f *testing.F) {
	f.Add("{a,b}/*.yaml", "a/x.yaml")
	f.Add("*.{yaml,yml,json}", "deploy.json")
	f.Add(strings.Repeat("{a,b,c}", 10), "abc")
	f.Add("[", "x")
	f.Add("}{", "")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if checkGlob(pattern) != nil {
			return
		}
		start := time.Now()
		matchGlob(pattern, path)
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Fatalf("matching %q took %s", pattern, elapsed)
		}
	})
}

// FuzzParseImage: an image override an Application names parses, or says
// why not; a parsed one has a name.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"web:2.0", "web=registry.example/web:2.0", "web@sha256:abc", "localhost:5000/web:1", "=", "@", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		img, err := parseImage(s)
		if err == nil && img.Name == "" {
			t.Fatalf("parseImage(%q) gave no name and no error", s)
		}
	})
}
