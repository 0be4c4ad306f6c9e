package application

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// What the controller keeps per Application goes with the Application.
func TestForgetDropsWhatWasKeptForAnApplication(t *testing.T) {
	var m memories
	a := types.NamespacedName{Namespace: "team", Name: "a"}
	b := types.NamespacedName{Namespace: "team", Name: "b"}
	m.of(a, "uid-a").synced = "abc@1"
	m.of(b, "uid-b").synced = "abc@1"

	m.forget(a)
	count := 0
	m.byUID.Range(func(_, _ any) bool { count++; return true })
	if count != 1 {
		t.Errorf("%d memories after forgetting a, want b's alone", count)
	}
	if got := m.of(b, "uid-b").synced; got != "abc@1" {
		t.Errorf("b's memory went too: synced %q", got)
	}

	// b deleted and created again under its name: the old one's memory
	// goes, and the new one starts with nothing trusted.
	if got := m.of(b, "uid-b2").synced; got != "" {
		t.Errorf("the new b starts with synced %q", got)
	}
	if _, ok := m.byUID.Load(types.UID("uid-b")); ok {
		t.Error("the earlier b's memory outlived it")
	}
}
