// Command syncbench measures the Application controller on the simulated
// cluster: the time and the API requests of the first sync of an
// Application with 500 ConfigMaps and 50 Deployments, and the API requests
// a minute of no-op resyncs at a 10 s interval costs.
//
//	go run ./test/cmd/syncbench            (or: make bench-sync)
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/go-logr/logr"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/test/simcluster"
)

const (
	configMaps  = 500
	deployments = 50
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "syncbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	// The manager's logs would drown the numbers.
	ctrl.SetLogger(logr.Discard())
	work, err := os.MkdirTemp("", "sluice-syncbench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()

	fmt.Println("== starting a simulated cluster")
	cluster, err := simcluster.Start(ctx, simcluster.Options{StateDir: work + "/cluster", Progress: os.Stdout})
	if err != nil {
		return err
	}
	defer func() { _ = cluster.Stop() }()

	server, err := gitserver.Start(work+"/git", gitserver.Options{})
	if err != nil {
		return err
	}
	defer server.Stop()
	repo, err := server.Create("bench")
	if err != nil {
		return err
	}
	files := map[string]string{}
	for i := range configMaps {
		files[fmt.Sprintf("app/cm-%03d.yaml", i)] = fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\ndata:\n  key: value-%d\n", i, i)
	}
	for i := range deployments {
		files[fmt.Sprintf("app/deploy-%02d.yaml", i)] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%02d
spec:
  replicas: 1
  selector: {matchLabels: {app: web-%02d}}
  template:
    metadata: {labels: {app: web-%02d}}
    spec:
      containers: [{name: web, image: registry.example/web:1.0}]
`, i, i, i)
	}
	if err := repo.Write(files); err != nil {
		return err
	}
	if _, err := repo.Commit("main", "550 objects"); err != nil {
		return err
	}

	counter := &requests{}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.WrapTransport = counter.wrap
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return err
	}
	if err := application.Setup(mgr, application.Options{CacheDir: work + "/cache"}); err != nil {
		return err
	}
	go func() { _ = mgr.Start(ctx) }()
	cl, err := client.New(cluster.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return fmt.Errorf("the manager's cache did not sync")
	}

	app := &gitopsv1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bench"},
		Spec: gitopsv1alpha1.ApplicationSpec{
			Source:      gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: "app"},
			Destination: gitopsv1alpha1.ApplicationDestination{Namespace: "bench"},
			SyncPolicy: &gitopsv1alpha1.SyncPolicy{
				Automated:   &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true},
				SyncOptions: []string{"CreateNamespace=true"},
			},
			Interval: metav1.Duration{Duration: 10 * time.Second},
		},
	}
	fmt.Printf("== first sync of %d ConfigMaps and %d Deployments\n", configMaps, deployments)
	counter.reset()
	start := time.Now()
	if err := cl.Create(ctx, app); err != nil {
		return err
	}
	for {
		if err := cl.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return err
		}
		if ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady); ready != nil {
			if ready.Status != metav1.ConditionTrue {
				return fmt.Errorf("the sync failed: %s", ready.Message)
			}
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("   synced in %.2f s; API requests: %s\n", elapsed.Seconds(), counter.summary())

	fmt.Println("== settling: until every Deployment is available and the Application Healthy")
	counter.reset()
	start = time.Now()
	for {
		if err := cl.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return err
		}
		available, err := availableDeployments(ctx, cl, "bench")
		if err != nil {
			return err
		}
		if available == deployments && app.Status.Health.Status == gitopsv1alpha1.HealthHealthy {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d Deployments available, the Application %s: %w", available, deployments,
				app.Status.Health.Status, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Printf("   settled in %.2f s; API requests: %s, %.1f per Deployment\n", time.Since(start).Seconds(),
		counter.summary(), float64(counter.total())/deployments)

	fmt.Println("== a minute of resyncs at a 10 s interval, nothing changing")
	time.Sleep(3 * time.Second) // let the first sync's own watch events settle
	counter.reset()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
	}
	fmt.Printf("   API requests in 60 s: %s\n", counter.summary())
	return nil
}

// availableDeployments counts the Deployments of namespace whose every
// replica of the current spec is available.
func availableDeployments(ctx context.Context, cl client.Client, namespace string) (int, error) {
	var list appsv1.DeploymentList
	if err := cl.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return 0, err
	}
	n := 0
	for _, d := range list.Items {
		if d.Status.ObservedGeneration == d.Generation && d.Spec.Replicas != nil &&
			d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.UpdatedReplicas == *d.Spec.Replicas {
			n++
		}
	}
	return n, nil
}

// requests counts API requests by verb and resource.
type requests struct {
	mu     sync.Mutex
	counts map[string]int
}

func (r *requests) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTrip(func(req *http.Request) (*http.Response, error) {
		kind := req.Method
		if req.URL.Query().Get("dryRun") != "" {
			kind += " (dry run)"
		}
		if req.URL.Query().Get("watch") == "true" {
			kind = "WATCH"
		}
		r.mu.Lock()
		if r.counts == nil {
			r.counts = map[string]int{}
		}
		r.counts[kind]++
		r.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

func (r *requests) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts = map[string]int{}
}

func (r *requests) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.counts {
		n += c
	}
	return n
}

func (r *requests) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	var parts []string
	for k, n := range r.counts {
		total += n
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
