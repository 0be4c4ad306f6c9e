// Package bench is `make bench`: Sluice measured side by side with the
// controllers it replaces, on one simulated cluster, every controller from
// outside and the same way, whatever it is written in or reports of itself:
// its CPU time and peak resident memory per phase from /proc, and its API
// requests per phase from the API server's audit log (test/audit).
//
// # Suites
//
// A Suite is one comparison, such as Sluice's Rollout controller against
// Argo Rollouts' (test/bench/rollouts). test/cmd/bench starts the cluster,
// builds the manager, and runs each suite with an Env:
//
//	var Suite = bench.Suite{Name: "rollouts", Unit: "rollout", Run: run}
//
//	func run(ctx context.Context, env *bench.Env) (bench.Measurements, error) {
//		var m bench.Measurements
//		for _, n := range env.Sizes {
//			// start a controller as a user of its own (env.Cluster.AddUser),
//			// then for each phase:
//			phase, err := bench.Meter{PID: pid, User: user, AuditLog: env.Cluster.AuditLogPath}.
//				Measure("create", func() error { ... })
//			m.Results = append(m.Results, bench.Result{Controller: "Sluice", Size: n, Phase: phase, Units: n})
//		}
//		return m, nil
//	}
//
// A suite measures each controller at each size of env.Sizes, one
// controller running at a time, and returns one Result per controller, size
// and phase. A suite whose workloads are shapes rather than one size N,
// such as the GitOps suite's one Application of 5,000 objects and 100 of
// 50, labels each Result with its Scenario instead. The controller named
// Subject is Sluice; every other one is a baseline it is compared with. A
// suite may also time events that are no phase, such as the time from a
// push to a canary's first weight (Latency). From the measurements, a
// Report prints the table of ratios and the latencies (Report.Text),
// writes its markdown into docs/performance.md between the suite's own
// markers (Report.Markdown, UpdateSection), and draws the chart
// (Report.Chart), so every suite's figures read alike.
package bench

import (
	"context"
	"io"
	"time"

	"github.com/sluicehq/sluice/test/simcluster"
)

// Subject is the controller every suite measures the others against.
const Subject = "Sluice"

// Suite is one side-by-side comparison.
type Suite struct {
	// Name selects the suite (test/cmd/bench --only) and names its section
	// of docs/performance.md and its chart, docs/performance-<name>.png.
	Name string
	// Title heads its section and chart, such as "Rollouts: Sluice and Argo Rollouts".
	Title string
	// Unit is what Result.Units counts, such as "rollout": the table's
	// requests per unit column.
	Unit string
	// Pods is how many pods the suite's workloads hold at most at once,
	// given env: the simulated cluster's fake nodes are sized for the
	// largest of the suites that run.
	Pods func(env *Env) int
	// Run measures every controller at every size of env.Sizes, or in
	// each of the suite's scenarios.
	Run func(ctx context.Context, env *Env) (Measurements, error)
}

// Env is what a suite runs with.
type Env struct {
	// Cluster is the running simulated cluster, with an audit log.
	Cluster *simcluster.Cluster
	// BinDir holds the cached tools (bin/): the controllers compared with
	// Sluice, such as argo-rollouts.
	BinDir string
	// Manager is the Sluice manager binary, built from this checkout.
	Manager string
	// WorkDir is the suite's own scratch directory; controllers' logs go
	// under it.
	WorkDir string
	// Progress receives a line per step, for a person watching.
	Progress io.Writer
	// Sizes are the fleet sizes to measure, smallest first.
	Sizes []int
	// Idle is how long the Rollouts suite's idle phase lasts.
	Idle time.Duration

	// Steady, Apps and Pushes shape the GitOps suite (test/bench/gitops):
	// how long its steady phase watches synced, healthy Applications, how
	// many Applications its many-Applications scenarios hold, and how many
	// pushes to one Application it times.
	Steady time.Duration
	Apps   int
	Pushes int
}

// Measurements are what a suite's run measured.
type Measurements struct {
	Results   []Result
	Latencies []Latency
}

// Result is one controller's phase at one fleet size, or in one scenario.
type Result struct {
	Controller string
	Size       int
	// Scenario, when set, names the workload in place of Size, such as
	// "100×50" for 100 Applications of 50 objects: rows are labelled and
	// grouped by it, in the order the suite first reported each, rather
	// than sorted by Size. A suite labels all its results or none.
	Scenario string
	Phase    Phase
	// Units is how many objects the phase worked on (Suite.Unit), for
	// requests per unit; 0 when it worked on none in particular.
	Units int
}
