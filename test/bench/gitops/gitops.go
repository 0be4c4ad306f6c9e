// Package gitops measures Sluice's Application syncer on the simulated
// cluster for `make bench`: applying a Git path at size, against `kubectl
// apply --server-side` on the same files, and the time from a `git push`
// of a new image to the canary's first traffic weight on its route.
//
// The manager runs as a process of its own, as a user of its own, so its
// CPU and memory are read from /proc and its requests from the API
// server's audit log (test/bench's Meter); kubectl is counted the same way.
// docs/performance-gitops.md says what each figure means.
package gitops

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/test/simcluster"
)

// Env is where the measurements run.
type Env struct {
	// Cluster is a simulated cluster started with Audit on, and enough fake
	// nodes for about 1,500 pods (eight of 250 each).
	Cluster *simcluster.Cluster
	// BinDir holds kubectl (hack/tools.sh kubectl).
	BinDir string
	// Manager is the sluice binary (go build ./cmd/sluice).
	Manager string
	// WorkDir holds the Git server's repositories, the manager's logs and
	// Git cache, and kubectl's copies of the files.
	WorkDir string
	// Progress receives a line per step; nil discards them.
	Progress io.Writer
	// Steady is how long the steady phase watches a synced, healthy
	// Application (default a minute).
	Steady time.Duration
	// Apps is how many Applications the many-Applications measurements
	// make (default 100).
	Apps int
	// Pushes is how many commits the one-Application canary measurement
	// times (default 20).
	Pushes int
	// Objects is how many objects the one-Application measurement applies
	// (default Large's 5,000), in Large's proportions (Scaled).
	Objects int
	// Only, when set, names the measurements to run, of "one" (one large
	// Application), "many" (many small ones) and "canary" (commit to
	// canary); empty, all of them.
	Only []string
}

// Result is one measured line: a name and its figures, in order.
type Result struct {
	Name    string
	Figures []Figure
}

// Figure is one named column of a Result.
type Figure struct {
	Column string
	Value  float64
}

// Run measures the syncer at size (one Application of 5,000 objects, and
// many of 50, each against kubectl) and commit-to-canary latency (one
// Application pushed to again and again, and many pushed to at once).
func Run(ctx context.Context, env Env) ([]Result, error) {
	env = env.withDefaults()
	for _, name := range env.Only {
		if !slices.Contains(measurements, name) {
			return nil, fmt.Errorf("no measurement is called %q: %v are", name, measurements)
		}
	}
	admin, err := client.NewWithWatch(env.Cluster.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, err
	}
	git, err := gitserver.Start(env.WorkDir+"/git", gitserver.Options{})
	if err != nil {
		return nil, err
	}
	defer git.Stop()
	r := &runner{env: env, admin: admin, git: git}

	var results []Result
	large := Large.Scaled(env.Objects)
	for _, s := range []sizeScenario{
		{name: "one", title: fmt.Sprintf("1 Application of %d objects", large.Objects()), apps: 1, mix: large},
		{name: "many", title: fmt.Sprintf("%d Applications of %d objects", env.Apps, Many50.Objects()), apps: env.Apps, mix: Many50},
	} {
		if !env.runs(s.name) {
			continue
		}
		out, err := r.size(ctx, s)
		if err != nil {
			return results, fmt.Errorf("%s: %w", s.title, err)
		}
		results = append(results, out...)
	}
	if !env.runs("canary") {
		return results, nil
	}
	out, err := r.commitToCanary(ctx)
	results = append(results, out...)
	if err != nil {
		return results, fmt.Errorf("commit to canary: %w", err)
	}
	return results, nil
}

func (env Env) withDefaults() Env {
	if env.Steady == 0 {
		env.Steady = time.Minute
	}
	if env.Apps == 0 {
		env.Apps = 100
	}
	if env.Pushes == 0 {
		env.Pushes = 20
	}
	if env.Objects == 0 {
		env.Objects = Large.Objects()
	}
	if env.Progress == nil {
		env.Progress = io.Discard
	}
	return env
}

// measurements are the names Env.Only chooses from.
var measurements = []string{"one", "many", "canary"}

// runs says whether the measurement called name is to run.
func (env Env) runs(name string) bool {
	return len(env.Only) == 0 || slices.Contains(env.Only, name)
}

// runner holds what every measurement uses.
type runner struct {
	env   Env
	admin client.WithWatch
	git   *gitserver.Server
}

func (r *runner) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(r.env.Progress, format+"\n", args...)
}
