package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/framework"
	"github.com/sluicehq/sluice/test/gitserver"
)

// What Prometheus scrapes from the manager while a canary, an AnalysisRun
// and two Applications go their ways: Argo Rollouts' metrics with Argo's
// values, Sluice's own, and every metric the dashboards query.
var _ = Describe("The manager's metrics on the simulated cluster", Ordered, func() {
	var (
		manager *framework.Manager
		ns      string
		repo    *gitserver.Repo
		apps    []*gitopsv1alpha1.Application
	)

	BeforeAll(func(ctx context.Context) {
		var cache string
		repo, cache = gitRepoAndCache("settings")
		// The Applications outlive the spec that makes them (the dashboard
		// spec reads their metrics) but go before their Git server does, so
		// no later container's manager keeps retrying them. They leave
		// their objects (gitops.sluice.dev/delete-resources: "false"), so
		// they hold no finalizer once this container's manager stops.
		DeferCleanup(func(ctx context.Context) {
			for _, app := range apps {
				Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, app))).To(Succeed())
			}
		})

		manager = startManager("--leader-elect=false", "--git-cache-dir="+cache)
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "metrics-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
	})

	It("serves a canary's phase, replicas, events, reconciles and API requests as Argo Rollouts does", func(ctx context.Context) {
		ro := builders.Rollout("metered").Namespace(ns).Replicas(4).Image("registry.example/app:v1").
			Canary(builders.SetWeight(25), builders.Pause(), builders.SetWeight(100)).Obj()
		ro = deployAndUpdate(ctx, ro)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
		ofRollout := map[string]string{"namespace": ns, "name": "metered"}

		By("at the pause: phase Paused, one pod of four updated")
		var eventsAtPause float64
		Eventually(func(g Gomega) {
			s := scrape(g, manager)
			g.Expect(s.value("rollout_info", map[string]string{"namespace": ns, "name": "metered",
				"strategy": "canary", "traffic_router": "", "phase": "Paused"})).To(Equal(1.0))
			g.Expect(s.value("rollout_phase", ofRollout, "phase", "Paused")).To(Equal(1.0))
			g.Expect(s.value("rollout_phase", ofRollout, "phase", "Completed")).To(BeZero())
			g.Expect(s.value("rollout_info_replicas_desired", ofRollout)).To(Equal(4.0))
			g.Expect(s.value("rollout_info_replicas_updated", ofRollout)).To(Equal(1.0))
			g.Expect(s.value("rollout_info_replicas_available", ofRollout)).To(Equal(4.0))
			g.Expect(s.value("rollout_info_replicas_unavailable", ofRollout)).To(BeZero())
			eventsAtPause = s.sum("rollout_events_total", ofRollout)
			g.Expect(s.value("rollout_events_total", ofRollout, "type", "Normal", "reason", "RolloutPaused")).To(Equal(1.0))
		}).WithContext(ctx).Should(Succeed())

		By("promoted the way the plugin promotes, then Completed: Argo's name for a Healthy Rollout")
		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		Eventually(func(g Gomega) {
			s := scrape(g, manager)
			g.Expect(s.value("rollout_info", ofRollout, "phase", "Completed")).To(Equal(1.0))
			g.Expect(s.series("rollout_info", ofRollout)).To(HaveLen(1), "one phase at a time")
			g.Expect(s.value("rollout_phase", ofRollout, "phase", "Completed")).To(Equal(1.0))
			g.Expect(s.value("rollout_phase", ofRollout, "phase", "Paused")).To(BeZero())
			g.Expect(s.value("rollout_info_replicas_desired", ofRollout)).To(Equal(4.0))
			g.Expect(s.value("rollout_info_replicas_updated", ofRollout)).To(Equal(4.0))
			g.Expect(s.value("rollout_info_replicas_available", ofRollout)).To(Equal(4.0))
			g.Expect(s.value("rollout_info_replicas_unavailable", ofRollout)).To(BeZero())
			g.Expect(s.sum("rollout_events_total", ofRollout)).To(BeNumerically(">", eventsAtPause))
			g.Expect(s.value("rollout_events_total", ofRollout, "type", "Normal", "reason", "RolloutCompleted")).To(Equal(2.0), "the first deploy's and the update's, as Argo records both")
			g.Expect(s.histogramCount("rollout_reconcile", ofRollout)).To(BeNumerically(">", 0))
			g.Expect(s.value("rollout_reconcile_error", ofRollout)).To(BeZero(), "served from 0")
			g.Expect(s.sum("controller_clientset_k8s_request_total", map[string]string{"kind": "rollouts", "namespace": ns, "name": "metered", "verb": "Patch"})).
				To(BeNumerically(">", 0), "the status patches")
			g.Expect(s.sum("controller_clientset_k8s_request_total", map[string]string{"kind": "replicasets", "namespace": ns, "name": "N/A", "verb": "Create", "status_code": "201"})).
				To(BeNumerically(">=", 2), "a ReplicaSet for each revision")
			g.Expect(s.sum("controller_clientset_k8s_request_total", map[string]string{"kind": "rollouts", "verb": "Watch"})).To(BeNumerically(">", 0))
		}).WithContext(ctx).Should(Succeed())
	})

	It("serves an AnalysisRun's phase and its metrics' phases", func(ctx context.Context) {
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"errorRate":0.01}`))
		}))
		DeferCleanup(web.Close)
		run := &rolloutsv1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "checked"}}
		run.Spec.Metrics = []rolloutsv1alpha1.Metric{{
			Name: "error-rate", SuccessCondition: "result < 0.05",
			Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{URL: web.URL, JSONPath: "{$.errorRate}"}},
		}}
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		ofRun := map[string]string{"namespace": ns, "name": "checked"}

		Eventually(func(g Gomega) {
			s := scrape(g, manager)
			g.Expect(s.value("analysis_run_info", ofRun, "phase", "Successful")).To(Equal(1.0))
			g.Expect(s.value("analysis_run_phase", ofRun, "phase", "Successful")).To(Equal(1.0))
			g.Expect(s.value("analysis_run_metric_type", ofRun, "metric", "error-rate", "type", "Web")).To(Equal(1.0))
			g.Expect(s.value("analysis_run_metric_phase", ofRun, "metric", "error-rate", "type", "Web", "dry_run", "false", "phase", "Successful")).To(Equal(1.0))
			g.Expect(s.value("analysis_run_metric_phase", ofRun, "metric", "error-rate", "phase", "Running")).To(BeZero())
			g.Expect(s.histogramCount("analysis_run_reconcile", ofRun)).To(BeNumerically(">", 0))
		}).WithContext(ctx).Should(Succeed())
	})

	It("serves Applications' state, syncs and failures", func(ctx context.Context) {
		Expect(repo.Write(map[string]string{"config/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: calm\n"})).To(Succeed())
		commit, err := repo.Commit("main", "settings")
		Expect(err).NotTo(HaveOccurred())
		automated := &gitopsv1alpha1.SyncPolicy{Automated: &gitopsv1alpha1.AutomatedSyncPolicy{}}
		leaveObjects := map[string]string{gitopsv1alpha1.DeleteResourcesAnnotation: "false"}
		synced := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "settings", Annotations: leaveObjects},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:             gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: "config"},
				Destination:        gitopsv1alpha1.ApplicationDestination{Namespace: ns},
				ServiceAccountName: deliverer(ctx, ns, ns),
				SyncPolicy:         automated,
			},
		}
		// Nothing listens at port 1: every fetch fails.
		unreachable := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unreachable", Annotations: leaveObjects},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:     gitopsv1alpha1.ApplicationSource{RepoURL: "http://127.0.0.1:1/gone.git", TargetRevision: "main"},
				SyncPolicy: automated,
			},
		}
		Expect(k8sClient.Create(ctx, synced)).To(Succeed())
		Expect(k8sClient.Create(ctx, unreachable)).To(Succeed())
		apps = append(apps, synced, unreachable)

		Eventually(func(g Gomega) {
			s := scrape(g, manager)
			g.Expect(s.value("sluice_application_info", map[string]string{"namespace": ns, "name": "settings",
				"repo": repo.URL, "dest_namespace": ns, "revision": commit, "sync_status": "Synced", "health_status": "Healthy", "autosync": "true"})).
				To(Equal(1.0))
			g.Expect(s.value("sluice_application_sync_total", map[string]string{"namespace": ns, "name": "settings", "phase": "Succeeded"})).To(Equal(1.0))
			g.Expect(s.histogramCount("sluice_application_reconcile", map[string]string{"namespace": ns, "name": "settings"})).To(BeNumerically(">", 0))

			unreachable := map[string]string{"namespace": ns, "name": "unreachable"}
			g.Expect(s.value("sluice_application_info", unreachable, "sync_status", "Unknown")).To(Equal(1.0))
			g.Expect(s.value("sluice_application_sync_total", unreachable, "phase", "Failed")).To(BeNumerically(">=", 1))
			g.Expect(s.value("sluice_application_sync_failures_total", unreachable, "reason", "FetchFailed")).To(BeNumerically(">=", 1))
		}).WithContext(ctx).Should(Succeed())
	})

	It("serves every metric Sluice's dashboard and Argo Rollouts' dashboard query", func(ctx context.Context) {
		ours, err := framework.DashboardMetrics("../../charts/sluice/dashboards/sluice.json")
		Expect(err).NotTo(HaveOccurred())
		argoPath, err := framework.ArgoDashboard()
		Expect(err).NotTo(HaveOccurred())
		argos, err := framework.DashboardMetrics(argoPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(argos).To(ContainElements("rollout_info", "rollout_reconcile_bucket", "process_start_time_seconds"))

		Eventually(func(g Gomega) {
			s := scrape(g, manager)
			for _, name := range append(ours, argos...) {
				g.Expect(s.has(name)).To(BeTrue(), "the scrape has no %s", name)
			}
		}).WithContext(ctx).Should(Succeed())

		// For the sizing in docs/operations.md: what the manager holds after
		// the specs above (a few Rollouts, AnalysisRuns and Applications).
		s := scrape(Default, manager)
		for _, family := range []string{"process_resident_memory_bytes", "go_memstats_heap_alloc_bytes"} {
			if series := s.series(family, nil); len(series) == 1 {
				AddReportEntry(family+" (MiB)", fmt.Sprintf("%.1f", sampleValue(series[0])/(1<<20)))
			}
		}
	})
})

// scraped is one scrape of the manager's /metrics.
type scraped map[string]*dto.MetricFamily

func scrape(g Gomega, m *framework.Manager) scraped {
	req, err := http.NewRequest(http.MethodGet, m.MetricsURL+"/metrics", nil)
	g.Expect(err).NotTo(HaveOccurred())
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return families
}

// series lists a family's series whose labels include these: a map, then
// any more as name, value pairs.
func (s scraped) series(family string, labels map[string]string, more ...string) []*dto.Metric {
	want := map[string]string{}
	for k, v := range labels {
		want[k] = v
	}
	for i := 0; i+1 < len(more); i += 2 {
		want[more[i]] = more[i+1]
	}
	var out []*dto.Metric
	for _, m := range s[family].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		matches := true
		for k, v := range want {
			if got[k] != v {
				matches = false
			}
		}
		if matches {
			out = append(out, m)
		}
	}
	return out
}

// value is the one series' value; a missing or ambiguous series fails.
func (s scraped) value(family string, labels map[string]string, more ...string) (float64, error) {
	series := s.series(family, labels, more...)
	if len(series) != 1 {
		return 0, fmt.Errorf("%s %v %v: %d series", family, labels, more, len(series))
	}
	return sampleValue(series[0]), nil
}

// sum adds up the values of the matching series.
func (s scraped) sum(family string, labels map[string]string) float64 {
	total := 0.0
	for _, m := range s.series(family, labels) {
		total += sampleValue(m)
	}
	return total
}

// histogramCount is the number of observations of the matching series of
// a histogram: its _count.
func (s scraped) histogramCount(family string, labels map[string]string) uint64 {
	var n uint64
	for _, m := range s.series(family, labels) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// has reports whether the scrape holds a metric name: a family with a
// series, or the _bucket, _sum or _count series of a histogram.
func (s scraped) has(name string) bool {
	if f, ok := s[name]; ok && len(f.GetMetric()) > 0 {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base := name[:max(len(name)-len(suffix), 0)]
		if name == base+suffix {
			if f, ok := s[base]; ok && f.GetType() == dto.MetricType_HISTOGRAM && len(f.GetMetric()) > 0 {
				return true
			}
		}
	}
	return false
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}
