// Command demo is what `make demo` runs: a simulated cluster on this machine,
// a Git server, Prometheus and the Sluice manager; an Application that syncs
// a Rollout from Git, and commits that take it through metric-gated
// canaries; then everything left running until Ctrl-C stops it.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/test/promtest"
	"github.com/sluicehq/sluice/test/simcluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	binDir, err := simcluster.DefaultBinDir()
	if err != nil {
		return err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return err
	}
	stateDir := filepath.Join(cache, "sluice", "demo")

	fmt.Println("== starting a simulated cluster")
	cluster, err := simcluster.Start(ctx, simcluster.Options{StateDir: stateDir, Progress: indent{os.Stdout}})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("== stopping the simulated cluster")
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
	}()

	fmt.Println("== starting Prometheus, scraping an exporter that plays the app's error rate")
	exporter, err := promtest.StartExporter()
	if err != nil {
		return err
	}
	defer func() { _ = exporter.Stop() }()
	prom, err := promtest.Start(ctx, filepath.Join(stateDir, "logs"), exporter.Addr)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("== stopping Prometheus")
		_ = prom.Stop()
	}()

	fmt.Println("== starting a Git server with the app's manifests")
	gitDir := filepath.Join(stateDir, "git")
	if err := os.RemoveAll(gitDir); err != nil { // a fresh repository each run
		return err
	}
	git, err := gitserver.Start(gitDir, gitserver.Options{})
	if err != nil {
		return err
	}
	defer git.Stop()
	repo, err := git.Create("gitops")
	if err != nil {
		return err
	}

	fmt.Println("== starting the Sluice manager")
	probeAddr, metricsAddr, err := twoLoopbackAddrs()
	if err != nil {
		return err
	}
	manager, err := simcluster.StartLogged("sluice", filepath.Join(binDir, "sluice"), filepath.Join(stateDir, "logs"),
		"--kubeconfig="+cluster.KubeconfigPath,
		"--health-probe-bind-address="+probeAddr,
		"--metrics-bind-address="+metricsAddr,
		"--prometheus-address="+prom.URL,
		"--git-cache-dir="+filepath.Join(stateDir, "git-cache"),
	)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("== stopping the Sluice manager")
		if err := manager.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
	}()
	if err := simcluster.WaitReady(ctx, manager, "http://"+probeAddr+"/readyz"); err != nil {
		return err
	}
	if err := showCanary(ctx, cluster.Config, exporter, repo); err != nil {
		return err
	}

	fmt.Printf(`
Sluice is running against the simulated cluster; the canaries above are done.
Commit to the Git repository and the Application syncs it within seconds:

  git clone %s && cd gitops
  sed -i 's/newTag: .*/newTag: "1.3"/' apps/my-app/kustomization.yaml && git commit -qam 1.3 && git push
  export KUBECONFIG=%s
  kubectl get application my-app -o yaml         # sync, health, history
  kubectl -n demo get rollout my-app
  kubectl -n demo get httproute my-app -o yaml   # the weights Sluice sets
  kubectl -n demo patch rollout my-app --subresource status --type merge -p '{"status":{"abort":true}}'   # abort
  curl http://%s/readyz     # manager readiness
  curl http://%s/metrics    # manager metrics
  manager log: %s
  Prometheus: %s

Press Ctrl-C to stop everything.
`, repo.URL, cluster.KubeconfigPath, probeAddr, metricsAddr, filepath.Join(stateDir, "logs", "sluice.log"), prom.URL)

	select {
	case <-ctx.Done():
		return nil
	case <-manager.Exited():
		return manager.ExitError()
	}
}

// twoLoopbackAddrs picks two free loopback ports for the manager's probe and
// metrics endpoints, so the demo never clashes with something on :8080.
func twoLoopbackAddrs() (string, string, error) {
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		addrs = append(addrs, l.Addr().String())
		defer func() { _ = l.Close() }()
	}
	if addrs[0] == addrs[1] {
		return "", "", errors.New("no two free ports")
	}
	return addrs[0], addrs[1], nil
}

// indent prefixes each progress line so the demo's own steps stand out.
type indent struct{ w *os.File }

func (i indent) Write(p []byte) (int, error) {
	if _, err := fmt.Fprintf(i.w, "   %s", p); err != nil {
		return 0, err
	}
	return len(p), nil
}
