package gitops

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/bench"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/traffic"
)

// canaryLabel marks the canary measurements' Applications, so a wait
// lists them alone.
const canaryLabel = "bench.sluice.dev/canary"

// canaryGroup is N canary-delivered Applications in one repository.
type canaryGroup struct {
	name string
	apps int
	repo *gitserver.Repo
	tag  int
}

func (g *canaryGroup) namespace(i int) string { return fmt.Sprintf("canary-%s-%03d", g.name, i) }

// write puts every Application's directory at the image tag 1.<g.tag>.
func (g *canaryGroup) write() error {
	files := map[string]string{}
	for i := range g.apps {
		maps.Copy(files, CanaryFiles(fmt.Sprintf("apps/%03d", i), fmt.Sprintf("1.%d", g.tag)))
	}
	return g.repo.Write(files)
}

// commitToCanary runs one manager with the push receiver and measures, for
// one Application pushed to r.env.Pushes times and for r.env.Apps pushed
// to at once, the time from the push's return to the route's canary
// weight.
func (r *runner) commitToCanary(ctx context.Context) ([]bench.Latency, error) {
	r.logf("== commit to canary")
	m, err := r.startManager(ctx, "sluice-canary", "")
	if err != nil {
		return nil, err
	}
	defer func() { _ = m.stop() }()
	if err := r.ensureNamespace(ctx, appNamespace); err != nil {
		return nil, err
	}

	var results []bench.Latency
	one, err := r.newCanaryGroup(ctx, "one", 1)
	if err != nil {
		return nil, err
	}
	var samples []time.Duration
	for push := range r.env.Pushes {
		latencies, err := r.pushAndTime(ctx, m, one)
		if err != nil {
			return results, fmt.Errorf("push %d: %w", push+1, err)
		}
		r.logf("   push %d: canary weight after %.3f s", push+1, latencies[0].Seconds())
		samples = append(samples, latencies...)
	}
	results = append(results, bench.Latency{Name: commitToCanary, Scenario: fmt.Sprintf("1 Application, %d pushes", r.env.Pushes), Samples: samples})
	r.logf("   %s", latencySummary(results[len(results)-1]))

	many, err := r.newCanaryGroup(ctx, "many", r.env.Apps)
	if err != nil {
		return results, err
	}
	var latencies []time.Duration
	phase, err := m.meter.Measure("push", func() error {
		latencies, err = r.pushAndTime(ctx, m, many)
		return err
	})
	if err != nil {
		return results, err
	}
	// The manager's cost of the whole push, until every canary was
	// promoted.
	results = append(results, bench.Latency{Name: commitToCanary, Scenario: fmt.Sprintf("%d Applications, one push", r.env.Apps),
		Samples: latencies, Cost: &phase})
	r.logf("   %s", latencySummary(results[len(results)-1]))
	r.logf("   the whole push: %s", summary(phase))
	return results, m.stop()
}

// commitToCanary names the latency: from a push's return to the canary's
// first weight on its route.
const commitToCanary = "commit to canary"

func latencySummary(l bench.Latency) string {
	return fmt.Sprintf("%s, %s: p50 %.2f s, p95 %.2f s, max %.2f s", l.Name, l.Scenario,
		bench.Percentile(l.Samples, 50).Seconds(), bench.Percentile(l.Samples, 95).Seconds(), bench.Percentile(l.Samples, 100).Seconds())
}

// newCanaryGroup commits apps canary-delivered Applications at tag 1.0,
// creates their Applications and waits until every one is Healthy.
func (r *runner) newCanaryGroup(ctx context.Context, name string, apps int) (*canaryGroup, error) {
	repo, err := r.git.Create("canary-" + name)
	if err != nil {
		return nil, err
	}
	g := &canaryGroup{name: name, apps: apps, repo: repo}
	if err := g.write(); err != nil {
		return nil, err
	}
	commit, err := repo.Commit("main", "1.0")
	if err != nil {
		return nil, err
	}
	r.logf("   %d canary Application(s): first sync, until Healthy", apps)
	for i := range apps {
		app := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: g.namespace(i), Labels: map[string]string{canaryLabel: name}},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:      gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: fmt.Sprintf("apps/%03d", i)},
				Destination: gitopsv1alpha1.ApplicationDestination{Namespace: g.namespace(i)},
				SyncPolicy: &gitopsv1alpha1.SyncPolicy{
					Automated:   &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true},
					SyncOptions: []string{"CreateNamespace=true"},
				},
				// The default interval (3 minutes): a push event, not a
				// poll, brings each commit in.
			},
		}
		if err := r.admin.Create(ctx, app); err != nil {
			return nil, err
		}
	}
	return g, r.waitApplications(ctx, client.MatchingLabels{canaryLabel: name}, apps, "Healthy", healthy(commit))
}

// pushAndTime commits the next image tag for every Application of g,
// notifies the push receiver, and returns each Application's time from the
// push's return to its route first showing the canary's weight. It then
// waits until every canary is promoted and Healthy, so the next push
// starts from a route at 100/0.
func (r *runner) pushAndTime(ctx context.Context, m *manager, g *canaryGroup) ([]time.Duration, error) {
	g.tag++
	if err := g.write(); err != nil {
		return nil, err
	}
	// Watch the routes from before the push, so no change is missed.
	watcher, err := r.admin.Watch(ctx, &gatewayv1.HTTPRouteList{})
	if err != nil {
		return nil, err
	}
	defer watcher.Stop()
	commit, err := g.repo.Commit("main", fmt.Sprintf("1.%d", g.tag))
	if err != nil {
		return nil, err
	}
	pushed := time.Now()
	if err := m.notifyPush(ctx, g.repo.URL, fmt.Sprintf("%s-%d", g.name, g.tag)); err != nil {
		return nil, err
	}

	latencies := map[string]time.Duration{}
	timeout := time.After(phaseTimeout)
	for len(latencies) < g.apps {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout:
			return nil, fmt.Errorf("%d of %d routes showed the canary's weight within %s", len(latencies), g.apps, phaseTimeout)
		case ev, open := <-watcher.ResultChan():
			if !open {
				return nil, fmt.Errorf("the watch of HTTPRoutes ended")
			}
			at := time.Since(pushed)
			route, ok := ev.Object.(*gatewayv1.HTTPRoute)
			if !ok || ev.Type == watch.Deleted || !strings.HasPrefix(route.Namespace, "canary-"+g.name+"-") {
				continue
			}
			if _, seen := latencies[route.Namespace]; seen {
				continue
			}
			if weight, err := canaryWeightOf(route); err == nil && weight > 0 {
				latencies[route.Namespace] = at
			}
		}
	}
	out := make([]time.Duration, 0, len(latencies))
	for _, l := range latencies {
		out = append(out, l)
	}
	return out, r.waitPromoted(ctx, g, commit)
}

func canaryWeightOf(route *gatewayv1.HTTPRoute) (int32, error) {
	parsed, err := traffic.FromHTTPRoute(route, route.Namespace)
	if err != nil {
		return 0, err
	}
	canary, _, err := parsed.Weights(canaryService, stableService)
	return canary, err
}

// waitPromoted waits until every Application of g is synced at commit and
// Healthy, its Rollout Healthy at the new image and its route back at
// 100/0.
func (r *runner) waitPromoted(ctx context.Context, g *canaryGroup, commit string) error {
	if err := r.waitApplications(ctx, client.MatchingLabels{canaryLabel: g.name}, g.apps, "Healthy", healthy(commit)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	image := CanaryImage(fmt.Sprintf("1.%d", g.tag))
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for i := range g.apps {
			var ro rolloutsv1alpha1.Rollout
			if err := r.admin.Get(ctx, client.ObjectKey{Namespace: g.namespace(i), Name: canaryRollout}, &ro); err != nil {
				return false, err
			}
			if ro.Status.Phase != rolloutsv1alpha1.RolloutPhaseHealthy || ro.Spec.Template.Spec.Containers[0].Image != image ||
				ro.Status.StableRS == "" || ro.Status.StableRS != ro.Status.CurrentPodHash || ro.Status.ObservedGeneration != fmt.Sprint(ro.Generation) {
				return false, nil
			}
			var route gatewayv1.HTTPRoute
			if err := r.admin.Get(ctx, client.ObjectKey{Namespace: g.namespace(i), Name: canaryRoute}, &route); err != nil {
				return false, err
			}
			if weight, err := canaryWeightOf(&route); err != nil || weight != 0 {
				return false, err
			}
		}
		return true, nil
	})
}
