// Command simcluster starts and stops the simulated cluster that Sluice's
// tests and demo run on: a real kube-apiserver, etcd, controller manager,
// scheduler and kwok with fake nodes, all on this machine.
//
//	simcluster up [--nodes N]   start one in the background, print KUBECONFIG
//	simcluster down             stop it
//	simcluster status           say whether one runs, and its nodes
//	simcluster kubeconfig       print the kubeconfig path
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/simcluster"
)

// readyFile is created in the state directory once the cluster is usable and
// removed when it stops; `up` in the background waits for it.
const readyFile = "ready"

func main() {
	if err := newRoot().Execute(); err != nil {
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	var stateDir string
	root := &cobra.Command{
		Use:           "simcluster",
		Short:         "Run a simulated Kubernetes cluster on this machine",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.PersistentFlags().StringVar(&stateDir, "state-dir", defaultStateDir(),
		"Directory for the cluster's kubeconfig, logs and data")
	root.AddCommand(newUp(&stateDir), newDown(&stateDir), newStatus(&stateDir), newKubeconfig(&stateDir))
	return root
}

func defaultStateDir() string {
	if dir := os.Getenv("SLUICE_CACHE"); dir != "" {
		return filepath.Join(dir, "simcluster")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "sluice", "simcluster")
}

func newUp(stateDir *string) *cobra.Command {
	var nodes int
	var foreground bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a simulated cluster (in the background unless --foreground)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pid := simcluster.Holder(*stateDir); pid != 0 {
				return fmt.Errorf("a simulated cluster is already running (pid %d); "+
					"export KUBECONFIG=%s, or stop it with `simcluster down`",
					pid, filepath.Join(*stateDir, "kubeconfig"))
			}
			if foreground {
				return runForeground(cmd.Context(), *stateDir, nodes)
			}
			return startBackground(*stateDir, nodes)
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 3, "Number of fake nodes")
	cmd.Flags().BoolVar(&foreground, "foreground", false, "Run in the foreground until Ctrl-C")
	return cmd
}

// runForeground runs the cluster in this process until SIGINT or SIGTERM.
func runForeground(ctx context.Context, stateDir string, nodes int) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := simcluster.Start(ctx, simcluster.Options{StateDir: stateDir, Nodes: nodes, Progress: os.Stdout})
	if err != nil {
		return err
	}
	ready := filepath.Join(stateDir, readyFile)
	_ = os.WriteFile(ready, nil, 0o644)
	fmt.Printf("\nexport KUBECONFIG=%s\n\nPress Ctrl-C to stop.\n", c.KubeconfigPath)
	<-ctx.Done()
	fmt.Println("stopping the simulated cluster")
	_ = os.Remove(ready)
	return c.Stop()
}

// startBackground re-runs this command with --foreground in a new session,
// detached from the terminal, and waits until that cluster is usable.
func startBackground(stateDir string, nodes int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(stateDir, readyFile))
	logPath := filepath.Join(stateDir, "simcluster.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	child := exec.Command(self, "up", "--foreground", "--state-dir", stateDir, fmt.Sprintf("--nodes=%d", nodes))
	child.Stdout, child.Stderr = logFile, logFile
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := child.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()

	fmt.Printf("starting a simulated cluster (pid %d); log: %s\n", child.Process.Pid, logPath)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("the simulated cluster failed to start (%w); see %s", err, logPath)
		case <-deadline:
			_ = child.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("the simulated cluster did not start in 3 minutes; see %s", logPath)
		case <-tick.C:
			if _, err := os.Stat(filepath.Join(stateDir, readyFile)); err == nil {
				fmt.Printf("simulated cluster ready\n\nexport KUBECONFIG=%s\n", filepath.Join(stateDir, "kubeconfig"))
				return nil
			}
		}
	}
}

func newDown(stateDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop the simulated cluster",
		RunE: func(*cobra.Command, []string) error {
			pid := simcluster.Holder(*stateDir)
			if pid == 0 {
				fmt.Println("no simulated cluster is running")
				return nil
			}
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
				return err
			}
			// The supervisor releases its lock only after every component
			// has exited.
			deadline := time.Now().Add(time.Minute)
			for simcluster.Holder(*stateDir) != 0 {
				if time.Now().After(deadline) {
					return fmt.Errorf("the simulated cluster (pid %d) did not stop within a minute; see %s",
						pid, filepath.Join(*stateDir, "simcluster.log"))
				}
				time.Sleep(100 * time.Millisecond)
			}
			fmt.Println("simulated cluster stopped")
			return nil
		},
	}
}

func newStatus(stateDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Say whether a simulated cluster is running, and list its nodes",
		RunE: func(cmd *cobra.Command, _ []string) error {
			pid := simcluster.Holder(*stateDir)
			if pid == 0 {
				return errors.New("no simulated cluster is running")
			}
			kubeconfig := filepath.Join(*stateDir, "kubeconfig")
			fmt.Printf("running (pid %d)\nKUBECONFIG=%s\n", pid, kubeconfig)
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return err
			}
			cl, err := client.New(cfg, client.Options{})
			if err != nil {
				return err
			}
			var nodes corev1.NodeList
			if err := cl.List(cmd.Context(), &nodes); err != nil {
				return fmt.Errorf("the API server does not answer: %w", err)
			}
			for _, n := range nodes.Items {
				fmt.Printf("node %s ready=%s\n", n.Name, nodeReady(n))
			}
			return nil
		},
	}
}

func nodeReady(n corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

func newKubeconfig(stateDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the path of the running cluster's kubeconfig",
		RunE: func(*cobra.Command, []string) error {
			if simcluster.Holder(*stateDir) == 0 {
				return errors.New("no simulated cluster is running; start one with `simcluster up`")
			}
			fmt.Println(filepath.Join(*stateDir, "kubeconfig"))
			return nil
		},
	}
}
