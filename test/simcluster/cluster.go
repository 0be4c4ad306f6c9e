// Package simcluster runs a real Kubernetes control plane on one machine with
// no containers: etcd and kube-apiserver (through envtest), plus
// kube-controller-manager, kube-scheduler and kwok, which plays the kubelet of
// fake nodes so Deployments and ReplicaSets get Ready pods.
//
// Tests start one per suite with Start and stop it with Stop; the simcluster
// command (test/cmd/simcluster) wraps the same code for people and the demo.
package simcluster

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/sluicehq/sluice/internal/scheme"
)

// NeverReadyImage is an image name kwok never starts: a pod whose first
// container uses it stays Pending and never turns Ready.
const NeverReadyImage = "sluice.test/never-ready"

// FailImage is an image name whose pods, when a Job owns them, exit 1 at
// once: a failing analysis Job. Other Jobs' pods succeed at once.
const FailImage = "sluice.test/fail"

// FakeNodeAnnotation marks a Node as one kwok manages.
const FakeNodeAnnotation = "kwok.x-k8s.io/node"

//go:embed kwok-stages.yaml
var kwokStages []byte

// Options configure a simulated cluster.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler and kwok. Default: DefaultBinDir().
	BinDir string
	// StateDir holds the kubeconfig, component logs, certificates and etcd's
	// data. It is created if missing and locked while the cluster runs.
	StateDir string
	// Nodes is the number of fake nodes. Default 3.
	Nodes int
	// PodsPerNode is each fake node's pod capacity. Default 250, as a
	// kubelet's default; a benchmark of thousands of pods raises it rather
	// than the node count, since every node costs kwok a heartbeat.
	PodsPerNode int
	// CRDPaths are files or directories of CustomResourceDefinitions to
	// install before Start returns. Default: DefaultCRDPaths().
	CRDPaths []string
	// Progress receives one line per start-up step. Nil discards them.
	Progress io.Writer
	// ControlPlaneOnly starts etcd and kube-apiserver alone: no
	// controllers, scheduler, kwok or nodes, and no CRDs unless CRDPaths
	// names some. Enough for a second cluster that only receives objects.
	ControlPlaneOnly bool
	// Audit makes kube-apiserver write every request it answers to an
	// audit log (Cluster.AuditLogPath), at the Metadata level: who asked,
	// the verb, the resource and the answer's code. Benchmarks and specs
	// count a client's requests there, where no client can hide one.
	Audit bool
}

// Cluster is a running simulated cluster.
type Cluster struct {
	// Config reaches the API server as a system:masters user.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file for the same user.
	KubeconfigPath string
	// StateDir is where the cluster keeps its files.
	StateDir string
	// AuditLogPath is the API server's audit log, JSON lines of
	// audit.k8s.io/v1 Events; empty unless Options.Audit was set.
	AuditLogPath string

	env        *envtest.Environment
	healthURLs map[string]string
	components []*Process
	lock       *stateLock
	progress   io.Writer
}

// Start brings up a simulated cluster and returns once its fake nodes are
// Ready, the controller manager and scheduler answer their health checks and
// the CRDs are established. On error nothing is left running.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	o, err = o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return nil, err
	}
	lock, err := lockStateDir(o.StateDir)
	if err != nil {
		return nil, err
	}
	// Processes of an earlier run that died without cleaning up would hold
	// ports and etcd's data directory.
	reapStrays(o.StateDir)

	c := &Cluster{StateDir: o.StateDir, lock: lock, progress: o.Progress}
	defer func() {
		// envtest panics on some failures; etcd and kube-apiserver do not
		// die with this process, so turn the panic into an error and stop
		// whatever was started.
		if r := recover(); r != nil {
			err = fmt.Errorf("simcluster: starting the control plane: %v", r)
		}
		if err != nil {
			_ = c.Stop()
		}
	}()

	if err := c.startAPIServer(o); err != nil {
		return nil, err
	}
	if o.ControlPlaneOnly {
		c.logf("control plane ready: KUBECONFIG=%s", c.KubeconfigPath)
		return c, nil
	}
	if err := c.startComponents(o); err != nil {
		return nil, err
	}
	if err := c.waitUntilUsable(ctx, o.Nodes, o.PodsPerNode); err != nil {
		return nil, err
	}
	c.logf("simulated cluster ready: %d nodes, KUBECONFIG=%s", o.Nodes, c.KubeconfigPath)
	return c, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.BinDir == "" {
		dir, err := DefaultBinDir()
		if err != nil {
			return o, err
		}
		o.BinDir = dir
	}
	if o.StateDir == "" {
		return o, errors.New("simcluster: StateDir is required")
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.PodsPerNode == 0 {
		o.PodsPerNode = 250
	}
	if o.CRDPaths == nil && !o.ControlPlaneOnly {
		paths, err := DefaultCRDPaths()
		if err != nil {
			return o, err
		}
		o.CRDPaths = paths
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	binaries := []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
	if o.ControlPlaneOnly {
		binaries = binaries[:2]
	}
	for _, name := range binaries {
		if _, err := os.Stat(filepath.Join(o.BinDir, name)); err != nil {
			return o, fmt.Errorf("simcluster: %s not found in %s; run `make tools` first", name, o.BinDir)
		}
	}
	return o, nil
}

func (c *Cluster) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(c.progress, format+"\n", args...)
}

// startAPIServer starts etcd and kube-apiserver through envtest, installs the
// CRDs and writes the admin kubeconfig.
func (c *Cluster) startAPIServer(o Options) error {
	c.logf("starting etcd and kube-apiserver")
	pki := filepath.Join(o.StateDir, "pki")
	etcdData := filepath.Join(o.StateDir, "etcd")
	// A fresh cluster every time: old etcd data would carry objects over,
	// and envtest reuses serving certificates it finds without knowing
	// their CA.
	for _, dir := range []string{pki, etcdData} {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: o.BinDir,
		CRDDirectoryPaths:     o.CRDPaths,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme.New(),
	}
	c.env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdData}
	c.env.ControlPlane.APIServer = &envtest.APIServer{CertDir: pki}
	// envtest's range, a /24, runs out of cluster IPs at 254 Services;
	// `make bench` creates a Service per Rollout, a thousand at a time.
	c.env.ControlPlane.APIServer.Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	if o.Audit {
		if err := c.configureAudit(o.StateDir); err != nil {
			return err
		}
	}
	cfg, err := c.env.Start()
	if err != nil {
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
	c.Config = cfg

	user, err := c.env.AddUser(envtest.User{Name: "sim-admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return fmt.Errorf("adding the admin user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	c.KubeconfigPath = filepath.Join(o.StateDir, "kubeconfig")
	return os.WriteFile(c.KubeconfigPath, kubeconfig, 0o600)
}

// auditPolicy records every request once, when its answer is sent, with
// no bodies: enough to count requests by user, verb and resource.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
`

// configureAudit points kube-apiserver at a fresh audit log. The log
// backend's default mode writes each event before the request returns, so
// a reader that waits for a client's last answer sees all of its requests.
func (c *Cluster) configureAudit(stateDir string) error {
	policy := filepath.Join(stateDir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	c.AuditLogPath = filepath.Join(stateDir, "audit.log")
	if err := os.Remove(c.AuditLogPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	args := c.env.ControlPlane.APIServer.Configure()
	args.Set("audit-policy-file", policy)
	args.Set("audit-log-path", c.AuditLogPath)
	args.Set("audit-log-format", "json")
	args.Set("audit-log-maxsize", "0")
	return nil
}

// AddUser adds a client certificate user to the running cluster and writes
// a kubeconfig for it into the state directory, so a process under test
// runs as a user of its own and the audit log tells its requests apart.
func (c *Cluster) AddUser(name string, groups ...string) (kubeconfigPath string, cfg *rest.Config, err error) {
	if c.env == nil {
		return "", nil, errors.New("simcluster: not running")
	}
	user, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, c.Config)
	if err != nil {
		return "", nil, fmt.Errorf("adding user %s: %w", name, err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return "", nil, err
	}
	kubeconfigPath = filepath.Join(c.StateDir, "kubeconfig-"+name)
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return "", nil, err
	}
	return kubeconfigPath, user.Config(), nil
}

// startComponents starts kube-controller-manager, kube-scheduler and kwok.
func (c *Cluster) startComponents(o Options) error {
	logDir := filepath.Join(o.StateDir, "logs")
	stagesPath := filepath.Join(o.StateDir, "kwok-stages.yaml")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(stagesPath, kwokStages, 0o644); err != nil {
		return err
	}
	kcmPort, err := freePort()
	if err != nil {
		return err
	}
	schedulerPort, err := freePort()
	if err != nil {
		return err
	}
	kubeconfig := c.KubeconfigPath
	// The flags kube-controller-manager and kube-scheduler share. Each serves
	// its health checks on a port of its own, so several clusters (one per
	// test package) can run on one machine at once.
	servingArgs := func(port int, certDir string) []string {
		return []string{
			"--kubeconfig=" + kubeconfig,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--leader-elect=false",
			"--secure-port=" + strconv.Itoa(port),
			"--bind-address=127.0.0.1",
			"--cert-dir=" + filepath.Join(o.StateDir, certDir),
		}
	}
	specs := []struct {
		name string
		args []string
	}{
		{"kube-controller-manager", append(servingArgs(kcmPort, "kcm"),
			// envtest's API server signs no service-account tokens for
			// controllers, so they use the admin credentials instead.
			"--use-service-account-credentials=false",
			"--controllers=*,-serviceaccount-token,-serviceaccount",
			// kwok's heartbeats arrive late on a loaded machine; with the
			// default 40 s grace every pod would be marked unready.
			"--node-monitor-grace-period=1h",
			"--kube-api-qps=200",
			"--kube-api-burst=400",
		)},
		{"kube-scheduler", servingArgs(schedulerPort, "scheduler")},
		{"kwok", []string{
			"--kubeconfig=" + kubeconfig,
			"--config=" + stagesPath,
			"--manage-all-nodes=true",
			"--cidr=10.244.0.0/16",
		}},
	}
	for _, s := range specs {
		c.logf("starting %s", s.name)
		comp, err := StartLogged(s.name, filepath.Join(o.BinDir, s.name), logDir, s.args...)
		if err != nil {
			return err
		}
		c.components = append(c.components, comp)
	}
	c.healthURLs = map[string]string{
		"kube-controller-manager": fmt.Sprintf("https://127.0.0.1:%d/healthz", kcmPort),
		"kube-scheduler":          fmt.Sprintf("https://127.0.0.1:%d/healthz", schedulerPort),
	}
	return nil
}

// waitUntilUsable creates the fake nodes and waits until they are Ready and
// the controller manager and scheduler are healthy.
func (c *Cluster) waitUntilUsable(ctx context.Context, nodes, podsPerNode int) error {
	cl, err := client.New(c.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	c.logf("creating %d fake nodes", nodes)
	for i := range nodes {
		if err := cl.Create(ctx, fakeNode(fmt.Sprintf("kwok-node-%d", i), podsPerNode)); err != nil {
			return fmt.Errorf("creating a fake node: %w", err)
		}
	}
	c.logf("waiting for the nodes to be Ready and the components to be healthy")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var lastProblem error
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for _, comp := range c.components {
			if !comp.Running() {
				return false, comp.ExitError()
			}
		}
		lastProblem = c.problem(ctx, cl, nodes)
		return lastProblem == nil, nil
	})
	if err != nil && lastProblem != nil {
		return fmt.Errorf("the simulated cluster did not become usable: %w", lastProblem)
	}
	return err
}

// problem names the first thing that keeps the cluster from being usable, or
// returns nil.
func (c *Cluster) problem(ctx context.Context, cl client.Client, want int) error {
	for name, url := range c.healthURLs {
		if err := checkHealth(ctx, url); err != nil {
			return fmt.Errorf("%s is not healthy: %w", name, err)
		}
	}
	var list corev1.NodeList
	if err := cl.List(ctx, &list); err != nil {
		return err
	}
	ready := 0
	for _, n := range list.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready < want {
		return fmt.Errorf("%d of %d nodes Ready", ready, want)
	}
	return nil
}

func fakeNode(name string, pods int) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{FakeNodeAnnotation: "fake"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Status: corev1.NodeStatus{Allocatable: capacity, Capacity: capacity},
	}
}

// StopAPIServer kills kube-apiserver alone, as a crash of the control
// plane would (a graceful stop waits up to a minute for the watches clients
// hold open): etcd keeps the cluster's state, and StartAPIServer brings it
// back on the same address with the same certificates, so clients made
// before reach it again.
func (c *Cluster) StopAPIServer() error {
	if c.env == nil {
		return errors.New("simcluster: not running")
	}
	c.logf("killing kube-apiserver")
	killComponents(c.StateDir, func(name string) bool { return name == "kube-apiserver" })
	return c.env.ControlPlane.APIServer.Stop()
}

// StartAPIServer starts kube-apiserver again after StopAPIServer and
// returns once it answers its health check.
func (c *Cluster) StartAPIServer() error {
	if c.env == nil {
		return errors.New("simcluster: not running")
	}
	c.logf("starting kube-apiserver again")
	return c.env.ControlPlane.APIServer.Start()
}

// Stop stops every component, then kube-apiserver and etcd, and releases the
// state directory. It is safe to call more than once.
func (c *Cluster) Stop() error {
	var errs []error
	// Reverse order: kwok and the controllers go before the API server they
	// talk to, so none of them logs a burst of connection errors.
	for i := len(c.components) - 1; i >= 0; i-- {
		errs = append(errs, c.components[i].Stop())
	}
	c.components = nil
	if c.env != nil {
		errs = append(errs, c.env.Stop())
		c.env = nil
	}
	if c.lock != nil {
		reapStrays(c.StateDir)
		errs = append(errs, c.lock.release())
		c.lock = nil
	}
	return errors.Join(errs...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
