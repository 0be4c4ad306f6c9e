package version

import (
	"runtime/debug"
	"testing"
)

func TestInfoOf(t *testing.T) {
	argo := &debug.Module{Path: argoRolloutsModule, Version: "v1.10.0"}
	built := func(mainVersion string, settings map[string]string) *debug.BuildInfo {
		b := &debug.BuildInfo{Main: debug.Module{Version: mainVersion}, Deps: []*debug.Module{argo}}
		for k, v := range settings {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: k, Value: v})
		}
		return b
	}
	tests := []struct {
		name                    string
		build                   *debug.BuildInfo
		stampedVersion, stamped string
		want                    string
	}{
		{"stamped by make build", built("(devel)", map[string]string{"vcs.revision": "abc", "vcs.modified": "true"}),
			"v0.3.0", "1a2b3c", "v0.3.0 (commit 1a2b3c, Argo Rollouts API v1.10.0)"},
		{"a go build in a checkout with changes", built("(devel)", map[string]string{"vcs.revision": "abc", "vcs.modified": "true"}),
			"", "", "dev (commit abc-dirty, Argo Rollouts API v1.10.0)"},
		{"go install at a version", built("v0.4.1", nil), "", "", "v0.4.1 (commit unknown, Argo Rollouts API v1.10.0)"},
		{"no build information at all", nil, "", "", "dev (commit unknown, Argo Rollouts API unknown)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := infoOf(tt.build, tt.stampedVersion, tt.stamped).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
