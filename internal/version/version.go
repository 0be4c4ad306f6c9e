// Package version says which Sluice a binary is: the version and commit
// `make build` stamps into it, else what the Go toolchain recorded of the
// checkout it was built from, and the version of Argo Rollouts' API it
// speaks (the module it was built with).
package version

import (
	"fmt"
	"runtime/debug"
)

// Stamped by `make build` and `make plugin` with
// -ldflags "-X github.com/sluicehq/sluice/internal/version.Version=... -X ...Commit=...".
var (
	Version string
	Commit  string
)

// argoRolloutsModule is the module whose API types Sluice serves.
const argoRolloutsModule = "github.com/argoproj/argo-rollouts"

// Info is what a binary says of itself.
type Info struct {
	Version, Commit, ArgoRolloutsAPI string
}

// Get is this binary's Info.
func Get() Info {
	build, _ := debug.ReadBuildInfo()
	return infoOf(build, Version, Commit)
}

// infoOf fills Info from what was stamped, then from the build's own
// record: a `go build` in a Git checkout records the commit, a `go install
// module@version` the module's version.
func infoOf(build *debug.BuildInfo, stampedVersion, stampedCommit string) Info {
	info := Info{Version: stampedVersion, Commit: stampedCommit}
	if build != nil {
		if info.Version == "" && build.Main.Version != "" && build.Main.Version != "(devel)" {
			info.Version = build.Main.Version
		}
		modified := false
		for _, s := range build.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && stampedCommit == "" && info.Commit != "" {
			info.Commit += "-dirty"
		}
		for _, dep := range build.Deps {
			if dep.Path == argoRolloutsModule {
				info.ArgoRolloutsAPI = dep.Version
				if dep.Replace != nil {
					info.ArgoRolloutsAPI = dep.Replace.Version
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.ArgoRolloutsAPI == "" {
		info.ArgoRolloutsAPI = "unknown"
	}
	return info
}

// String reads "v0.3.0 (commit 1a2b3c…, Argo Rollouts API v1.10.0)".
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, Argo Rollouts API %s)", i.Version, i.Commit, i.ArgoRolloutsAPI)
}
