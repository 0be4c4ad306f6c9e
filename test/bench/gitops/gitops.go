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
	"path/filepath"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/bench"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Suite measures the syncer against kubectl on the same files, and
// commit-to-canary latency, for make bench (test/cmd/bench --only gitops).
// Its figures are in scenarios, not sizes: env.Sizes and env.Idle are the
// Rollouts suite's; env.Steady, env.Apps and env.Pushes are its own.
var Suite = bench.Suite{
	Name:  "gitops",
	Title: "GitOps: Sluice and kubectl apply --server-side",
	Unit:  "object",
	Pods:  pods,
	Run:   run,
}

// kubectlApply is the baseline's name in the report.
const kubectlApply = "kubectl apply --server-side"

// pods is room for kubectl's and Sluice's copies of both mixes'
// Deployments (one replica each) and the canaries' Rollouts (two replicas
// each, and mid-update a canary pod and an old one on its way out), with
// as much again for pods still terminating: about 3,000 at 100
// Applications.
func pods(env *bench.Env) int {
	deployments := 2 * (Large.Deployments + env.Apps*Many50.Deployments)
	canaries := 4 * (1 + env.Apps)
	return 2 * (deployments + canaries)
}

// run measures the syncer at size (one Application of 5,000 objects, and
// env.Apps of 50, each against kubectl) and commit-to-canary latency (one
// Application pushed to env.Pushes times, and env.Apps pushed to at once).
func run(ctx context.Context, env *bench.Env) (bench.Measurements, error) {
	var m bench.Measurements
	if env.Apps < 1 || env.Pushes < 1 || env.Steady <= 0 {
		return m, fmt.Errorf("the GitOps suite needs at least one Application, one push and a steady phase (apps %d, pushes %d, steady %s)",
			env.Apps, env.Pushes, env.Steady)
	}
	env, err := env.Staged("kubectl")
	if err != nil {
		return m, err
	}
	admin, err := client.NewWithWatch(env.Cluster.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		return m, err
	}
	git, err := gitserver.Start(filepath.Join(env.WorkDir, "git"), gitserver.Options{})
	if err != nil {
		return m, err
	}
	defer git.Stop()
	r := &runner{env: env, admin: admin, git: git}

	for _, s := range []sizeScenario{
		{name: "one", label: "1×" + thousands(Large.Objects()), apps: 1, mix: Large},
		{name: "many", label: fmt.Sprintf("%d×%s", env.Apps, thousands(Many50.Objects())), apps: env.Apps, mix: Many50},
	} {
		results, err := r.size(ctx, s)
		m.Results = append(m.Results, results...)
		if err != nil {
			return m, fmt.Errorf("%s: %w", s.title(), err)
		}
	}
	latencies, err := r.commitToCanary(ctx)
	m.Latencies = latencies
	if err != nil {
		return m, fmt.Errorf("commit to canary: %w", err)
	}
	return m, nil
}

// thousands writes n with a comma between each group of three digits, as
// the docs write figures: 5000 as "5,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// runner holds what every measurement uses.
type runner struct {
	env   *bench.Env
	admin client.WithWatch
	git   *gitserver.Server
}

func (r *runner) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(r.env.Progress, format+"\n", args...)
}

// summary is a measured phase on one line, for the progress.
func summary(p bench.Phase) string {
	kinds := bench.Classify(p.Requests)
	return fmt.Sprintf("%-13s %6.1f s wall, %5.1f s CPU, peak RSS %4.0f MiB, %5d writes, %5d reads, %4d dry-runs",
		p.Name, p.Wall.Seconds(), p.CPU.Seconds(), float64(p.PeakRSS)/(1<<20), kinds.Writes, kinds.Reads, kinds.DryRuns)
}
