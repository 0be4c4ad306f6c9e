// Package rollouts is make bench's comparison of Sluice's Rollout
// controller with Argo Rollouts' own: a fleet of N canary Rollouts created,
// updated and left idle under each controller in turn.
package rollouts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/bench"
	"github.com/sluicehq/sluice/test/simcluster"
)

// Suite measures Sluice and Argo Rollouts on the same fleets.
var Suite = bench.Suite{
	Name:  "rollouts",
	Title: "Rollouts: Sluice and Argo Rollouts",
	Unit:  "rollout",
	Pods:  pods,
	Run:   run,
}

// pods is room for the largest fleet mid-update (two replicas and a surge
// each), with the pods of the fleet before it still terminating: four
// fake nodes of the largest N plus 200 each.
func pods(env *bench.Env) int {
	return 4 * (slices.Max(env.Sizes) + 200)
}

// The fleet's two images: create runs the first, update the second.
const (
	imageBefore = "registry.example/web:1.0"
	imageAfter  = "registry.example/web:2.0"
)

func run(ctx context.Context, env *bench.Env) (bench.Measurements, error) {
	results, err := measureSizes(ctx, env)
	return bench.Measurements{Results: results}, err
}

func measureSizes(ctx context.Context, env *bench.Env) ([]bench.Result, error) {
	cfg := rest.CopyConfig(env.Cluster.Config)
	// The fleet's writes and polls should never wait on client-side rate
	// limits; they are not what is measured.
	cfg.QPS, cfg.Burst = 500, 1000
	cl, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, err
	}
	if env, err = env.Staged("argo-rollouts"); err != nil {
		return nil, err
	}
	var results []bench.Result
	for _, n := range env.Sizes {
		for _, c := range controllers {
			measured, err := measure(ctx, env, cl, c, n)
			if err != nil {
				return results, fmt.Errorf("%s, N=%d: %w", c.name, n, err)
			}
			results = append(results, measured...)
		}
	}
	return results, nil
}

// waitTimeout is how long a phase may take before the run fails: far more
// than either controller needs on two loaded cores.
func waitTimeout(n int) time.Duration {
	return 5*time.Minute + time.Duration(n)*500*time.Millisecond
}

// measure runs one controller over a fleet of n in a namespace of its
// own, through the create, update and idle phases, then stops it and
// deletes the fleet.
func measure(ctx context.Context, env *bench.Env, cl client.Client, c controller, n int) (_ []bench.Result, err error) {
	f := fleet{cl: cl, namespace: fmt.Sprintf("%s-%d", c.user, n), size: n, progress: env.Progress}
	logf(env, "== %s, %d Rollouts, namespace %s", c.name, n, f.namespace)
	if err := f.createNamespace(ctx); err != nil {
		return nil, err
	}
	kubeconfig, _, err := env.Cluster.AddUser(c.user, "system:masters")
	if err != nil {
		return nil, err
	}
	logDir := filepath.Join(env.WorkDir, f.namespace)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	proc, readyURL, err := c.start(env, kubeconfig, f.namespace, logDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		// The controller stops before its fleet goes, so deleting the
		// fleet costs it nothing and the next controller finds the nodes
		// free.
		if stopErr := proc.Stop(); stopErr != nil && err == nil {
			err = stopErr
		}
		logf(env, "   deleting namespace %s", f.namespace)
		if delErr := f.deleteNamespace(context.WithoutCancel(ctx), waitTimeout(n)); delErr != nil && err == nil {
			err = delErr
		}
	}()
	if err := simcluster.WaitReady(ctx, proc, readyURL); err != nil {
		return nil, err
	}

	meter := bench.Meter{PID: proc.PID(), User: c.user, AuditLog: env.Cluster.AuditLogPath}
	timeout := waitTimeout(n)
	var stableBefore map[string]string
	phases := []struct {
		name string
		work func() error
	}{
		{"create", func() error {
			if err := f.create(ctx, imageBefore); err != nil {
				return err
			}
			done, err := f.waitUntil(ctx, "create", timeout, healthy)
			stableBefore = map[string]string{}
			for _, ro := range done {
				stableBefore[ro.Name] = ro.Status.StableRS
			}
			return err
		}},
		{"update", func() error {
			if err := f.setImage(ctx, imageAfter); err != nil {
				return err
			}
			_, err := f.waitUntil(ctx, "update", timeout, func(ro *rolloutsv1alpha1.Rollout) bool {
				return healthy(ro) && ro.Status.StableRS != stableBefore[ro.Name]
			})
			return err
		}},
		{"idle", func() error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-proc.Exited():
				return nil // reported below
			case <-time.After(env.Idle):
				return nil
			}
		}},
	}
	var results []bench.Result
	for _, ph := range phases {
		phase, err := meter.Measure(ph.name, ph.work)
		if !proc.Running() {
			return nil, proc.ExitError()
		}
		if err != nil {
			return nil, err
		}
		logf(env, "   %-6s %6.1f s wall, %6.1f s CPU, %6d requests, peak RSS %4.0f MiB", ph.name,
			phase.Wall.Seconds(), phase.CPU.Seconds(), phase.Requests.Total(), float64(phase.PeakRSS)/(1<<20))
		results = append(results, bench.Result{Controller: c.name, Size: n, Phase: phase, Units: n})
	}
	return results, nil
}

func logf(env *bench.Env, format string, args ...any) {
	_, _ = fmt.Fprintf(env.Progress, strings.TrimSuffix(format, "\n")+"\n", args...)
}
