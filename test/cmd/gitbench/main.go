// Command gitbench measures Sluice's Application syncer on a simulated
// cluster of its own: at size against `kubectl apply --server-side`, and
// from a `git push` of a new image to the canary's first traffic weight
// (test/bench/gitops; docs/performance-gitops.md says what the figures
// mean).
//
//	go run ./test/cmd/gitbench [-steady 1m] [-apps 100] [-pushes 20] [-objects 5000] [-only one,many,canary]   (or: make bench-gitops)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sluicehq/sluice/test/bench/gitops"
	"github.com/sluicehq/sluice/test/simcluster"
)

func main() {
	var env gitops.Env
	flag.DurationVar(&env.Steady, "steady", 0, "How long the steady phase watches (default 1m).")
	flag.IntVar(&env.Apps, "apps", 0, "Applications in the many-Applications measurements (default 100).")
	flag.IntVar(&env.Pushes, "pushes", 0, "Pushes timed for one Application (default 20).")
	flag.IntVar(&env.Objects, "objects", 0, "Objects of the one-Application measurements, in the same proportions (default 5000).")
	only := flag.String("only", "", "Comma-separated measurements to run, of one, many and canary (default all).")
	keep := flag.Bool("keep", false, "Keep the work directory (logs, audit log) instead of removing it.")
	flag.Parse()
	if *only != "" {
		env.Only = strings.Split(*only, ",")
	}

	// envtest's and the clients' logs would drown the figures.
	ctrl.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, env, *keep)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, env gitops.Env, keep bool) error {
	work, err := os.MkdirTemp("", "sluice-gitbench-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("== work directory:", work)
	} else {
		defer func() { _ = os.RemoveAll(work) }()
	}
	env.WorkDir, env.Progress = work, os.Stdout
	if env.BinDir, err = simcluster.DefaultBinDir(); err != nil {
		return err
	}
	env.Manager = filepath.Join(work, "sluice")
	fmt.Println("== building the manager")
	build := exec.CommandContext(ctx, "go", "build", "-o", env.Manager, "./cmd/sluice")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the manager: %w", err)
	}

	fmt.Println("== starting a simulated cluster")
	// Eight fake nodes of 250 pods: the measurements run about 1,500 pods.
	cluster, err := simcluster.Start(ctx, simcluster.Options{StateDir: filepath.Join(work, "cluster"), Nodes: 8,
		Audit: true, Progress: os.Stdout})
	if err != nil {
		return err
	}
	defer func() { _ = cluster.Stop() }()
	env.Cluster = cluster

	results, err := gitops.Run(ctx, env)
	fmt.Println("== results")
	for _, r := range results {
		fmt.Println(gitops.Format(r))
	}
	return err
}
