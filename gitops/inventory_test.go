package gitops

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func obj(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

func TestStale(t *testing.T) {
	previous := []gitopsv1alpha1.ObjectRef{
		{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "kept"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "gone"},
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "shop", Name: "moved"},
	}
	current := []*unstructured.Unstructured{
		obj("v1", "ConfigMap", "shop", "kept"),
		obj("apps/v1beta2", "Deployment", "shop", "web"), // another version of the same object
		obj("argoproj.io/v1alpha1", "Rollout", "other", "moved"),
		obj("v1", "ConfigMap", "shop", "new"),
	}
	want := []gitopsv1alpha1.ObjectRef{previous[1], previous[3]}
	if got := Stale(previous, current); !reflect.DeepEqual(got, want) {
		t.Errorf("Stale = %v, want %v", got, want)
	}
	if got := Stale(nil, current); got != nil {
		t.Errorf("nothing applied before: %v", got)
	}
}

func TestParseSyncOptions(t *testing.T) {
	cases := []struct {
		reason  string
		options []string
		want    SyncOptions
	}{
		{"defaults", nil, SyncOptions{PropagationPolicy: "background"}},
		{"every option Sluice honours; unknown ones ignored",
			[]string{"CreateNamespace=true", "PruneLast=true", "PrunePropagationPolicy=foreground", "ServerSideApply=true", "Replace=true", "Force=true"},
			SyncOptions{CreateNamespace: true, PruneLast: true, PropagationPolicy: "foreground", Replace: true, Force: true}},
		{"values are case-insensitive and trimmed, as Argo CD reads them",
			[]string{" Replace = TRUE", "Force=True "}, SyncOptions{PropagationPolicy: "background", Replace: true, Force: true}},
		{"false is off", []string{"Replace=false", "Force=no"}, SyncOptions{PropagationPolicy: "background"}},
		{"an unknown propagation policy keeps the default", []string{"PrunePropagationPolicy=later"}, SyncOptions{PropagationPolicy: "background"}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, ParseSyncOptions(c.options)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.reason, diff)
		}
	}
}

func TestSyncOptionsForObject(t *testing.T) {
	app := ParseSyncOptions([]string{"CreateNamespace=true"})
	replaceAll := ParseSyncOptions([]string{"Replace=true"})
	cases := []struct {
		reason      string
		app         SyncOptions
		annotations map[string]string
		want        SyncOptions
	}{
		{"no annotation: the Application's options", app, nil, app},
		{"an object asks for Replace and Force, comma-separated as in Argo CD", app,
			map[string]string{"argocd.argoproj.io/sync-options": "Force=true, Replace=true"},
			SyncOptions{CreateNamespace: true, PropagationPolicy: "background", Replace: true, Force: true}},
		{"an object's own entry wins over the Application's", replaceAll,
			map[string]string{"argocd.argoproj.io/sync-options": "Replace=false"},
			SyncOptions{PropagationPolicy: "background"}},
		{"Prune=false is not a write option: the Application's stay", replaceAll,
			map[string]string{"argocd.argoproj.io/sync-options": "Prune=false"}, replaceAll},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, c.app.ForObject(c.annotations)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.reason, diff)
		}
	}
}

func TestPruneDisabled(t *testing.T) {
	for annotations, want := range map[string]bool{
		"gitops.sluice.dev/prune=disabled":                         true,
		"kustomize.toolkit.fluxcd.io/prune=disabled":               true,
		"argocd.argoproj.io/sync-options=Prune=false":              true,
		"argocd.argoproj.io/sync-options=Replace=true,Prune=false": true,
		"argocd.argoproj.io/sync-options=Replace=true":             false,
		"": false,
	} {
		m := map[string]string{}
		if annotations != "" {
			k, v, _ := cut(annotations)
			m[k] = v
		}
		if got := PruneDisabled(m); got != want {
			t.Errorf("PruneDisabled(%q) = %v", annotations, got)
		}
	}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
