package rollouts

import (
	"errors"
	"net"
	"path/filepath"

	"github.com/sluicehq/sluice/test/bench"
	"github.com/sluicehq/sluice/test/simcluster"
)

// controller is one of the controllers compared: how to run it confined to
// one namespace, as a user of its own.
type controller struct {
	name string
	// user is its API user, whose requests the audit log counts.
	user string
	// start runs it against kubeconfig, watching namespace only; it
	// returns the process and a URL that answers 200 once it is up.
	start func(env *bench.Env, kubeconfig, namespace, logDir string) (*simcluster.Process, string, error)
}

// controllers are compared in this order at each size, Sluice first.
var controllers = []controller{
	{name: bench.Subject, user: "bench-sluice", start: startSluice},
	{name: "Argo Rollouts", user: "bench-argo-rollouts", start: startArgoRollouts},
}

// startSluice runs the manager with the controllers Argo Rollouts' binary
// also runs (Rollouts, Experiments, AnalysisRuns, notifications; not
// Applications), in namespaced mode, without leader election.
func startSluice(env *bench.Env, kubeconfig, namespace, logDir string) (*simcluster.Process, string, error) {
	probe, metrics, err := loopbackAddrs()
	if err != nil {
		return nil, "", err
	}
	p, err := simcluster.StartLoggedEnv("sluice", env.Manager, logDir, []string{"POD_NAMESPACE=" + namespace},
		"--kubeconfig="+kubeconfig,
		"--namespaced", "--namespace="+namespace,
		"--controllers=rollout,experiment,analysisrun",
		"--leader-elect=false",
		"--health-probe-bind-address="+probe,
		"--metrics-bind-address="+metrics,
	)
	return p, "http://" + probe + "/readyz", err
}

// startArgoRollouts runs Argo Rollouts' rollouts-controller as its
// --namespaced install does: confined to one namespace (the kubeconfig
// override --namespace names it), its notification settings read there
// (POD_NAMESPACE), without leader election.
func startArgoRollouts(env *bench.Env, kubeconfig, namespace, logDir string) (*simcluster.Process, string, error) {
	healthz, metrics, err := loopbackAddrs()
	if err != nil {
		return nil, "", err
	}
	p, err := simcluster.StartLoggedEnv("argo-rollouts", filepath.Join(env.BinDir, "argo-rollouts"), logDir,
		[]string{"POD_NAMESPACE=" + namespace},
		"--kubeconfig="+kubeconfig,
		"--namespaced", "--namespace="+namespace,
		"--leader-elect=false",
		"--healthzPort="+port(healthz),
		"--metricsPort="+port(metrics),
	)
	return p, "http://" + healthz + "/healthz", err
}

// loopbackAddrs picks two free loopback addresses for a controller's
// health and metrics endpoints.
func loopbackAddrs() (string, string, error) {
	var addrs []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", err
		}
		defer func() { _ = l.Close() }()
		addrs = append(addrs, l.Addr().String())
	}
	if addrs[0] == addrs[1] {
		return "", "", errors.New("no two free ports")
	}
	return addrs[0], addrs[1], nil
}

// port is the port of an address net.Listen gave.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
