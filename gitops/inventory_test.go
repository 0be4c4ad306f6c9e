package gitops

import (
	"reflect"
	"testing"

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
	got := ParseSyncOptions([]string{"CreateNamespace=true", "PruneLast=true", "PrunePropagationPolicy=foreground", "ServerSideApply=true"})
	want := SyncOptions{CreateNamespace: true, PruneLast: true, PropagationPolicy: "foreground"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := ParseSyncOptions(nil); got != (SyncOptions{PropagationPolicy: "background"}) {
		t.Errorf("defaults: %+v", got)
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
