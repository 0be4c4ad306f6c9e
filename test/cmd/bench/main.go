// Command bench is `make bench`: Sluice side by side with the controllers
// and tools it replaces, on one simulated cluster. It prints a table of
// ratios per suite, writes it into docs/performance.md and draws its chart
// beside it. See docs/performance.md and test/bench's package
// documentation.
//
//	go run ./test/cmd/bench [--only rollouts|gitops] [--out docs]
//	    [--sizes 100,400,1000] [--idle 60s]        (the Rollouts suite)
//	    [--steady 60s] [--apps 100] [--pushes 20]  (the GitOps suite)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/test/bench"
	"github.com/sluicehq/sluice/test/bench/gitops"
	"github.com/sluicehq/sluice/test/bench/rollouts"
	"github.com/sluicehq/sluice/test/simcluster"
)

// suites are every comparison make bench runs, in this order.
var suites = []bench.Suite{rollouts.Suite, gitops.Suite}

type options struct {
	only string
	out  string
	keep bool
	// sizes and idle are the Rollouts suite's; steady, apps and pushes
	// the GitOps suite's.
	sizes  []int
	idle   time.Duration
	steady time.Duration
	apps   int
	pushes int
	// shaping are the flags given that shape the figures, for the
	// report's heading: every one but --out and --keep.
	shaping string
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err == nil {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	var o options
	sizes := fs.String("sizes", "100,400,1000", "Comma-separated fleet sizes N the Rollouts suite measures.")
	fs.StringVar(&o.only, "only", "", "Run one suite: "+strings.Join(suiteNames(), " or ")+" (default: all).")
	fs.DurationVar(&o.idle, "idle", time.Minute, "How long the Rollouts suite's idle phase lasts.")
	fs.DurationVar(&o.steady, "steady", time.Minute, "How long the GitOps suite's steady phase watches synced, healthy Applications.")
	fs.IntVar(&o.apps, "apps", 100, "Applications in the GitOps suite's many-Applications scenarios.")
	fs.IntVar(&o.pushes, "pushes", 20, "Pushes to one Application the GitOps suite times.")
	fs.StringVar(&o.out, "out", "docs", "Directory of performance.md, whose generated sections are rewritten, and of the charts.")
	fs.BoolVar(&o.keep, "keep", false, "Keep the work directory (the cluster's and controllers' logs) after the run.")
	_ = fs.Parse(args)
	var shaping []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "out" && f.Name != "keep" {
			shaping = append(shaping, "--"+f.Name+"="+f.Value.String())
		}
	})
	o.shaping = strings.Join(shaping, " ")
	var err error
	if o.sizes, err = parseSizes(*sizes); err != nil {
		return o, err
	}
	if o.only != "" && !slices.Contains(suiteNames(), o.only) {
		return o, fmt.Errorf("--only %q: no such suite (%s)", o.only, strings.Join(suiteNames(), ", "))
	}
	if o.apps < 1 || o.pushes < 1 {
		return o, fmt.Errorf("--apps %d, --pushes %d: the GitOps suite needs at least one of each", o.apps, o.pushes)
	}
	if o.idle <= 0 || o.steady <= 0 {
		return o, fmt.Errorf("--idle %s, --steady %s: a quiet phase needs a length", o.idle, o.steady)
	}
	return o, nil
}

func suiteNames() []string {
	var names []string
	for _, s := range suites {
		names = append(names, s.Name)
	}
	return names
}

// parseSizes reads "100,400,1000" into sizes, smallest first.
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--sizes %q: %q is not a positive number", s, part)
		}
		if !slices.Contains(sizes, n) {
			sizes = append(sizes, n)
		}
	}
	slices.Sort(sizes)
	return sizes, nil
}

func run(o options) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// envtest logs through controller-runtime; its lines would drown the
	// progress.
	ctrl.SetLogger(logr.Discard())
	machine := bench.ThisMachine()
	machine.Flags = o.shaping

	work, err := os.MkdirTemp("", "sluice-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keep || err != nil {
			fmt.Println("== logs kept in", work)
			return
		}
		_ = os.RemoveAll(work)
	}()
	binDir, err := simcluster.DefaultBinDir()
	if err != nil {
		return err
	}

	fmt.Println("== building the Sluice manager")
	manager := filepath.Join(work, "sluice")
	root, err := repo.Root()
	if err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", manager, "./cmd/sluice")
	build.Dir, build.Stdout, build.Stderr = root, os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the manager: %w", err)
	}

	// Every suite runs with the same flags, in a work directory of its
	// own, on one cluster sized for the suite that holds the most pods.
	envOf := func(s bench.Suite) *bench.Env {
		return &bench.Env{
			BinDir: binDir, Manager: manager, WorkDir: filepath.Join(work, s.Name), Progress: indent{},
			Sizes: o.sizes, Idle: o.idle, Steady: o.steady, Apps: o.apps, Pushes: o.pushes,
		}
	}
	var selected []bench.Suite
	pods := 0
	for _, s := range suites {
		if o.only == "" || s.Name == o.only {
			selected = append(selected, s)
			pods = max(pods, s.Pods(envOf(s)))
		}
	}

	fmt.Println("== starting a simulated cluster with an audit log")
	const nodes = 4
	cluster, err := simcluster.Start(ctx, simcluster.Options{
		StateDir: filepath.Join(work, "cluster"),
		Audit:    true,
		Progress: indent{},
		// Room for the pods of the suite that holds the most; fake
		// nodes cost nothing but their number.
		Nodes:       nodes,
		PodsPerNode: max(250, (pods+nodes-1)/nodes),
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cluster.Stop()) }()

	for _, s := range selected {
		fmt.Printf("== suite %s: %s\n", s.Name, s.Title)
		env := envOf(s)
		env.Cluster = cluster
		if err := os.MkdirAll(env.WorkDir, 0o755); err != nil {
			return err
		}
		measured, err := s.Run(ctx, env)
		if err != nil {
			return fmt.Errorf("suite %s: %w", s.Name, err)
		}
		r := bench.Report{Suite: s, Results: measured.Results, Latencies: measured.Latencies, Machine: machine}
		if err := report(r, o.out); err != nil {
			return err
		}
	}
	return nil
}

// report prints a suite's table and writes it and its chart into the
// output directory.
func report(r bench.Report, out string) error {
	fmt.Println()
	if err := r.Text(os.Stdout); err != nil {
		return err
	}
	chart := "performance-" + r.Suite.Name + ".png"
	if err := r.Chart(filepath.Join(out, chart)); err != nil {
		return fmt.Errorf("drawing the chart: %w", err)
	}
	doc := filepath.Join(out, "performance.md")
	if err := bench.UpdateSection(doc, r.Suite.Name, r.Markdown(chart)); err != nil {
		return err
	}
	fmt.Printf("\n== wrote %s's %s section and %s\n", doc, r.Suite.Name, filepath.Join(out, chart))
	return nil
}

// indent prefixes progress lines so the command's own steps stand out.
type indent struct{}

func (indent) Write(p []byte) (int, error) {
	if _, err := fmt.Fprintf(os.Stdout, "   %s", p); err != nil {
		return 0, err
	}
	return len(p), nil
}
