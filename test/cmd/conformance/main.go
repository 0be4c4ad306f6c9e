// Command conformance runs Argo Rollouts' own end-to-end suites against the
// Sluice manager on the simulated cluster, and prints what each test did
// beside what expected.yaml says it should do. It fails when a test expected
// to pass does not.
//
// The suites are the test files of github.com/argoproj/argo-rollouts/test/e2e
// at the version go.mod pins, compiled with `go test -c -tags e2e` by
// hack/tools.sh (make conformance does both). They read their manifests
// relative to that package's directory in the module cache (--argo-dir).
//
//	conformance --tests bin/argo-e2e --argo-dir DIR   run, print the table
//	conformance --docs docs/compatibility.md          rewrite the docs' table from expected.yaml
//	conformance --against argo ...                    run against Argo Rollouts' own controller
//
// Against Argo's own controller (hack/tools.sh argo-rollouts builds it) the
// run tells the tests that cannot pass on the simulated cluster at all from
// those that fail on Sluice alone: expected.yaml's cannot verdicts rest on it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/simcluster"
)

// instanceID is the controller instance id Argo's suites label every object
// with (their E2E_INSTANCE_ID default); the manager runs with it.
const instanceID = "argo-rollouts-e2e"

type options struct {
	tests, argoDir, sluice, stateDir, docs string
	against, argoController                string
	parallel                               int
	all                                    bool
	only                                   string
	suiteTimeout                           time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.tests, "tests", "bin/argo-e2e", "Argo Rollouts' compiled e2e test binary")
	flag.StringVar(&o.argoDir, "argo-dir", "", "the directory of github.com/argoproj/argo-rollouts/test/e2e in the module cache")
	flag.StringVar(&o.sluice, "sluice", "bin/sluice", "the Sluice manager binary")
	flag.StringVar(&o.stateDir, "state-dir", "", "directory for the cluster, the logs and each run's output (default: a new temporary directory)")
	flag.IntVar(&o.parallel, "parallel", 3, "how many test processes run at once, each in a namespace of its own")
	flag.BoolVar(&o.all, "all", false, "also run the tests expected.yaml says cannot pass here or differ on purpose")
	flag.StringVar(&o.only, "only", "", "run only the tests whose suite/test name matches this regular expression")
	flag.DurationVar(&o.suiteTimeout, "suite-timeout", 45*time.Minute, "the longest one test process may run")
	flag.StringVar(&o.against, "against", "sluice", "the controller to test: sluice, or argo (Argo Rollouts' own, for comparison)")
	flag.StringVar(&o.argoController, "argo-controller", "bin/argo-rollouts", "Argo Rollouts' controller binary, for --against argo")
	flag.StringVar(&o.docs, "docs", "", "rewrite the conformance table in this Markdown file from expected.yaml, and run nothing")
	flag.Parse()

	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	suites, err := loadExpected(expectedYAML)
	if err != nil {
		return err
	}
	if o.docs != "" {
		return updateDocs(o.docs, suites)
	}
	if o.argoDir == "" {
		return errors.New("--argo-dir is required")
	}
	var only *regexp.Regexp
	if o.only != "" {
		if only, err = regexp.Compile(o.only); err != nil {
			return fmt.Errorf("--only: %w", err)
		}
	}
	if o.against != "sluice" && o.against != "argo" {
		return fmt.Errorf("--against %q: want sluice or argo", o.against)
	}
	for _, path := range []*string{&o.tests, &o.sluice, &o.argoController} {
		if *path, err = filepath.Abs(*path); err != nil {
			return err
		}
	}
	if o.stateDir == "" {
		if o.stateDir, err = os.MkdirTemp("", "sluice-conformance-"); err != nil {
			return err
		}
	}
	logDir := filepath.Join(o.stateDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	fmt.Println("== starting a simulated cluster")
	cluster, err := simcluster.Start(ctx, simcluster.Options{StateDir: filepath.Join(o.stateDir, "cluster"), Progress: os.Stdout})
	if err != nil {
		return err
	}
	defer func() { _ = cluster.Stop() }()

	fmt.Printf("== starting the %s controller with --instance-id=%s\n", o.against, instanceID)
	manager, err := startController(ctx, o, cluster, logDir)
	if err != nil {
		return err
	}
	defer func() { _ = manager.Stop() }()

	jobs := planJobs(suites, o.all, only)
	fmt.Printf("== running %d test processes, %d at a time; output in %s\n", len(jobs), o.parallel, logDir)
	outcomes, err := runJobs(ctx, o, cluster, jobs, logDir)
	if err != nil {
		return err
	}
	if !manager.Running() {
		return fmt.Errorf("the controller exited during the run: %w", manager.ExitError())
	}

	table := rows(suites, outcomes)
	if only != nil {
		table = filterRows(table, only)
	}
	fmt.Println()
	printTable(os.Stdout, table)
	fmt.Printf("\nconformance took %s; logs in %s\n", time.Since(start).Round(time.Second), logDir)
	for _, r := range table {
		if r.Regression() {
			return errors.New("tests expected to pass did not")
		}
	}
	return nil
}

// startController starts the controller under test and waits until it is
// ready.
func startController(ctx context.Context, o options, cluster *simcluster.Cluster, logDir string) (*simcluster.Process, error) {
	probe, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	name, binary, ready := "sluice", o.sluice, "http://"+probe+"/readyz"
	args := []string{
		"--kubeconfig=" + cluster.KubeconfigPath,
		"--instance-id=" + instanceID,
		"--leader-elect=false",
		"--health-probe-bind-address=" + probe,
		// Argo's suites read the controller's metrics at Argo's default port.
		"--metrics-bind-address=127.0.0.1:8090",
		"--git-cache-dir=" + filepath.Join(o.stateDir, "git-cache"),
	}
	if o.against == "argo" {
		_, probePort, _ := net.SplitHostPort(probe)
		name, binary, ready = "argo-rollouts", o.argoController, "http://"+probe+"/healthz"
		args = []string{
			"--kubeconfig=" + cluster.KubeconfigPath,
			"--instance-id=" + instanceID,
			"--leader-elect=false",
			"--healthzPort=" + probePort,
			"--metricsPort=8090",
		}
	}
	controller, err := simcluster.StartLogged(name, binary, logDir, args...)
	if err != nil {
		return nil, err
	}
	if err := simcluster.WaitReady(ctx, controller, ready); err != nil {
		_ = controller.Stop()
		return nil, err
	}
	return controller, nil
}

// job is one process of Argo's test binary: a suite, less the tests that run
// on their own or not at all, or one test on its own.
type job struct {
	name      string
	run, skip string
	namespace string
	// alone: the job runs after all the others, with nothing beside it.
	alone bool
}

// planJobs turns expected.yaml into test processes. Tests marked alone get a
// process each, which runs by itself after the others.
func planJobs(suites []Suite, all bool, only *regexp.Regexp) []job {
	var jobs []job
	for _, s := range suites {
		if !s.runs() && !all {
			continue
		}
		var excluded []string
		var alone []Test
		for _, t := range s.Tests {
			switch {
			case only != nil && !only.MatchString(s.Name+"/"+t.Name):
				excluded = append(excluded, t.Name)
			case !t.runs() && !all:
				excluded = append(excluded, t.Name)
			case t.Alone:
				excluded = append(excluded, t.Name)
				alone = append(alone, t)
			}
		}
		whole := len(s.Tests) == 0 && (only == nil || only.MatchString(s.Name))
		if len(excluded) < len(s.Tests) || whole {
			j := job{name: s.Name, run: "^" + s.Name + "$"}
			if len(excluded) > 0 {
				j.skip = "^" + s.Name + "$/^(" + strings.Join(quoteAll(excluded), "|") + ")$"
			}
			jobs = append(jobs, j)
		}
		for _, t := range alone {
			jobs = append(jobs, job{name: s.Name + "-" + t.Name, run: "^" + s.Name + "$/^" + regexp.QuoteMeta(t.Name) + "$", alone: true})
		}
	}
	for i := range jobs {
		jobs[i].namespace = fmt.Sprintf("conformance-%d", i+1)
	}
	return jobs
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = regexp.QuoteMeta(n)
	}
	return out
}

func filterRows(rs []Row, only *regexp.Regexp) []Row {
	var out []Row
	for _, r := range rs {
		if only.MatchString(r.Suite + "/" + r.Test) {
			out = append(out, r)
		}
	}
	return out
}

// runJobs runs the test processes, o.parallel at a time and then the alone
// ones one by one, and merges what their tests did.
func runJobs(ctx context.Context, o options, cluster *simcluster.Cluster, jobs []job, logDir string) (map[string]Outcome, error) {
	c, err := client.New(cluster.Config, client.Options{})
	if err != nil {
		return nil, err
	}
	var together, alone []job
	for _, j := range jobs {
		if j.alone {
			alone = append(alone, j)
		} else {
			together = append(together, j)
		}
	}
	outcomes := map[string]Outcome{}
	for _, batch := range []struct {
		jobs     []job
		parallel int
	}{{together, o.parallel}, {alone, 1}} {
		if err := runBatch(ctx, o, c, cluster, batch.jobs, batch.parallel, logDir, outcomes); err != nil {
			return outcomes, err
		}
	}
	return outcomes, nil
}

func runBatch(ctx context.Context, o options, c client.Client, cluster *simcluster.Cluster, jobs []job, parallel int, logDir string, outcomes map[string]Outcome) error {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	queue := make(chan job)
	for range max(parallel, 1) {
		wg.Go(func() {
			for j := range queue {
				got, err := runJob(ctx, o, c, cluster, j, logDir)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for id, outcome := range got {
					outcomes[id] = outcome
				}
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
		}
	}
	close(queue)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

func runJob(ctx context.Context, o options, c client.Client, cluster *simcluster.Cluster, j job, logDir string) (map[string]Outcome, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: j.namespace}}
	if err := c.Create(ctx, ns); err != nil {
		return nil, fmt.Errorf("%s: creating namespace %s: %w", j.name, j.namespace, err)
	}
	kubeconfig, err := kubeconfigFor(cluster.KubeconfigPath, j.namespace, o.stateDir)
	if err != nil {
		return nil, err
	}
	args := []string{"tool", "test2json", "-t", "-p", j.name, o.tests,
		"-test.v=test2json", "-test.run", j.run, "-test.timeout", o.suiteTimeout.String()}
	if j.skip != "" {
		args = append(args, "-test.skip", j.skip)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	// Its own process group, killed whole when the run is cancelled:
	// test2json's child, the test binary, would otherwise outlive it. And
	// it dies if this process does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Dir = o.argoDir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "E2E_INSTANCE_ID="+instanceID)
	// The output goes straight to a file, so a long run can be followed
	// (tail -f) while it goes on.
	logPath := filepath.Join(logDir, j.name+".json")
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = out.Close() }()
	cmd.Stdout = out
	cmd.Stderr = out
	started := time.Now()
	fmt.Printf("   %s: started in namespace %s\n", j.name, j.namespace)
	runErr := cmd.Run()
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	got, err := readOutcomes(out)
	if err != nil {
		return nil, fmt.Errorf("%s: reading its output: %w", j.name, err)
	}
	passed := 0
	for _, outcome := range got {
		if outcome == Passed {
			passed++
		}
	}
	fmt.Printf("   %s: %d of %d passed in %s (exit: %v)\n", j.name, passed, len(got), time.Since(started).Round(time.Second), exitText(runErr))
	return got, nil
}

func exitText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// kubeconfigFor writes a copy of the cluster's kubeconfig whose context
// defaults to the namespace: Argo's suites work in the kubeconfig's namespace.
func kubeconfigFor(path, namespace, dir string) (string, error) {
	config, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", err
	}
	for _, ctx := range config.Contexts {
		ctx.Namespace = namespace
	}
	out := filepath.Join(dir, "kubeconfig-"+namespace)
	return out, clientcmd.WriteToFile(*config, out)
}

func updateDocs(path string, suites []Suite) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var table bytes.Buffer
	writeMarkdown(&table, suites)
	updated, err := replaceMarkdown(string(doc), table.String())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(updated), 0o644)
}

// freeLoopbackAddr picks a free loopback port for the manager's probes.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
