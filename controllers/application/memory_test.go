package application

import (
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func entries(m *sync.Map) int {
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// What the controller keeps per Application goes with the Application.
func TestForgetDropsWhatWasKeptForAnApplication(t *testing.T) {
	r := &Reconciler{owned: &ownedWatches{}}
	keep := func(key types.NamespacedName, uid types.UID) {
		r.remember(key, uid)
		r.failures.Store(uid, 3)
		r.resolved.Store(uid, resolution{})
		r.applied.Store(uid, "abc@1")
		r.requests.Store(uid, "now/")
		r.owned.changed.Store(key, struct{}{})
	}
	a := types.NamespacedName{Namespace: "team", Name: "a"}
	b := types.NamespacedName{Namespace: "team", Name: "b"}
	keep(a, "uid-a")
	keep(b, "uid-b")

	r.forget(a)
	for name, m := range map[string]*sync.Map{"failures": &r.failures, "resolved": &r.resolved, "applied": &r.applied,
		"requests": &r.requests, "uids": &r.uids, "changed": &r.owned.changed} {
		if n := entries(m); n != 1 {
			t.Errorf("%s holds %d entries after forgetting a, want b's alone", name, n)
		}
	}
	if _, ok := r.failures.Load(types.UID("uid-b")); !ok {
		t.Error("b's entries went too")
	}

	// b deleted and created again under its name: the old one's entries go.
	r.remember(b, "uid-b2")
	if _, ok := r.failures.Load(types.UID("uid-b")); ok {
		t.Error("the earlier b's failures outlived it")
	}
}
