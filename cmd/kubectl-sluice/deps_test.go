package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPluginLinksNoController fails when the plugin imports a controller,
// directly or through another package: the controllers pull in the
// manager, and the plugin is meant to stay a small client. (depguard's
// plugin-links-no-controller rule catches the direct imports as they are
// written.)
func TestPluginLinksNoController(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing")
	}
	for _, pkg := range deps {
		if strings.HasPrefix(pkg, "github.com/sluicehq/sluice/controllers/") || pkg == "github.com/sluicehq/sluice/controllers" {
			t.Errorf("kubectl-sluice links %s: move what it needs out of controllers/", pkg)
		}
	}
}
