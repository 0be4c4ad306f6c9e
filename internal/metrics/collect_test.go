package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/builders"
)

// exposition is the text format of one family with the given samples.
func exposition(f Family, samples ...string) string {
	return fmt.Sprintf("# HELP %s %s\n# TYPE %s %s\n%s\n", f.Name, f.Help, f.Name, f.Type, strings.Join(samples, "\n"))
}

// leading is the elected channel of a manager that leads.
func leading() <-chan struct{} {
	elected := make(chan struct{})
	close(elected)
	return elected
}

func readerOf(objects ...client.Object) client.Reader {
	return fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objects...).Build()
}

var _ = Describe("Collecting from the cache", func() {
	It("serves a Rollout's info, replicas and deprecated phases", func() {
		paused := withConditions("Progressing", "RolloutPaused")
		paused.Spec.Replicas = ptr.To[int32](5)
		paused.Status.Replicas, paused.Status.AvailableReplicas, paused.Status.UpdatedReplicas = 6, 5, 1
		blueGreen := builders.Rollout("api").Namespace("shop").BlueGreen("api-active", "").Obj()
		blueGreen.Spec.Replicas = nil
		Rollouts.Register(readerOf(paused, blueGreen), leading(), true)

		phases := func(name, strategy, current string) []string {
			var lines []string
			for _, p := range []string{"Abort", "Completed", "Error", "Paused", "Progressing", "Timeout"} {
				lines = append(lines, fmt.Sprintf(`rollout_phase{name=%q,namespace="shop",phase=%q,strategy=%q} %s`,
					name, p, strategy, map[bool]string{true: "1", false: "0"}[p == current]))
			}
			return lines
		}
		Expect(testutil.CollectAndCompare((*rolloutCollector)(Rollouts), strings.NewReader(
			exposition(rolloutInfo,
				`rollout_info{name="api",namespace="shop",phase="Progressing",strategy="blueGreen",traffic_router=""} 1`,
				`rollout_info{name="web",namespace="shop",phase="Paused",strategy="canary",traffic_router=""} 1`)+
				exposition(rolloutReplicasAvailable,
					`rollout_info_replicas_available{name="api",namespace="shop"} 0`,
					`rollout_info_replicas_available{name="web",namespace="shop"} 5`)+
				exposition(rolloutReplicasDesired,
					`rollout_info_replicas_desired{name="api",namespace="shop"} 1`,
					`rollout_info_replicas_desired{name="web",namespace="shop"} 5`)+
				exposition(rolloutReplicasUnavailable,
					`rollout_info_replicas_unavailable{name="api",namespace="shop"} 0`,
					`rollout_info_replicas_unavailable{name="web",namespace="shop"} 1`)+
				exposition(rolloutReplicasUpdated,
					`rollout_info_replicas_updated{name="api",namespace="shop"} 0`,
					`rollout_info_replicas_updated{name="web",namespace="shop"} 1`)+
				exposition(rolloutPhase, append(phases("api", "blueGreen", "Progressing"), phases("web", "canary", "Paused")...)...)),
			"rollout_info", "rollout_info_replicas_available", "rollout_info_replicas_desired",
			"rollout_info_replicas_unavailable", "rollout_info_replicas_updated", "rollout_phase")).To(Succeed())
	})

	It("serves analysis templates with the Rollouts, cluster templates without a namespace", func() {
		template := &rolloutsv1alpha1.AnalysisTemplate{}
		template.Namespace, template.Name = "shop", "error-rate"
		template.Spec.Metrics = []rolloutsv1alpha1.Metric{prometheusMetric("error-rate")}
		cluster := &rolloutsv1alpha1.ClusterAnalysisTemplate{}
		cluster.Name = "health"
		cluster.Spec.Metrics = []rolloutsv1alpha1.Metric{webMetric("health")}
		Rollouts.Register(readerOf(template, cluster), leading(), true)

		Expect(testutil.CollectAndCompare((*rolloutCollector)(Rollouts), strings.NewReader(
			exposition(analysisTemplateInfo,
				`analysis_template_info{name="error-rate",namespace="shop"} 1`,
				`analysis_template_info{name="health",namespace=""} 1`)+
				exposition(analysisTemplateMetricInfo,
					`analysis_template_metric_info{metric="error-rate",name="error-rate",namespace="shop",type="Prometheus"} 1`,
					`analysis_template_metric_info{metric="health",name="health",namespace="",type="Web"} 1`)),
			"analysis_template_info", "analysis_template_metric_info", "rollout_info")).To(Succeed())

		By("in namespaced mode, which may not list ClusterAnalysisTemplates, only the namespaced ones")
		Rollouts.Register(readerOf(template, cluster), leading(), false)
		Expect(testutil.CollectAndCompare((*rolloutCollector)(Rollouts), strings.NewReader(
			exposition(analysisTemplateInfo, `analysis_template_info{name="error-rate",namespace="shop"} 1`)),
			"analysis_template_info")).To(Succeed())
	})

	It("serves an AnalysisRun's phase and each metric's, one series per phase", func() {
		r := run([]rolloutsv1alpha1.Metric{webMetric("health")},
			rolloutsv1alpha1.MetricResult{Name: "health", Phase: rolloutsv1alpha1.AnalysisPhaseRunning})
		r.Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
		AnalysisRuns.Register(readerOf(r), leading())

		Expect(testutil.CollectAndCompare((*analysisRunCollector)(AnalysisRuns), strings.NewReader(
			exposition(analysisRunInfo, `analysis_run_info{name="web-6d4f-2-1",namespace="shop",phase="Running"} 1`)+
				exposition(analysisRunMetricType, `analysis_run_metric_type{metric="health",name="web-6d4f-2-1",namespace="shop",type="Web"} 1`)+
				exposition(analysisRunMetricPhase,
					`analysis_run_metric_phase{dry_run="false",metric="health",name="web-6d4f-2-1",namespace="shop",phase="Error",type="Web"} 0`,
					`analysis_run_metric_phase{dry_run="false",metric="health",name="web-6d4f-2-1",namespace="shop",phase="Failed",type="Web"} 0`,
					`analysis_run_metric_phase{dry_run="false",metric="health",name="web-6d4f-2-1",namespace="shop",phase="Inconclusive",type="Web"} 0`,
					`analysis_run_metric_phase{dry_run="false",metric="health",name="web-6d4f-2-1",namespace="shop",phase="Pending",type="Web"} 0`,
					`analysis_run_metric_phase{dry_run="false",metric="health",name="web-6d4f-2-1",namespace="shop",phase="Running",type="Web"} 1`,
					`analysis_run_metric_phase{dry_run="false",metric="health",name="web-6d4f-2-1",namespace="shop",phase="Successful",type="Web"} 0`,
				)+
				exposition(analysisRunPhase,
					`analysis_run_phase{name="web-6d4f-2-1",namespace="shop",phase="Error"} 0`,
					`analysis_run_phase{name="web-6d4f-2-1",namespace="shop",phase="Failed"} 0`,
					`analysis_run_phase{name="web-6d4f-2-1",namespace="shop",phase="Inconclusive"} 0`,
					`analysis_run_phase{name="web-6d4f-2-1",namespace="shop",phase="Pending"} 0`,
					`analysis_run_phase{name="web-6d4f-2-1",namespace="shop",phase="Running"} 1`,
					`analysis_run_phase{name="web-6d4f-2-1",namespace="shop",phase="Successful"} 0`,
				)))).To(Succeed())
	})

	It("serves an Application's info", func() {
		app := application("https://git.example/shop.git", func(app *gitopsv1alpha1.Application) {
			app.Status.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusOutOfSync, Revision: "6d4f0c1e"}
			app.Status.Health.Status = gitopsv1alpha1.HealthProgressing
		})
		Applications.Register(readerOf(app), leading())
		Expect(testutil.CollectAndCompare((*applicationCollector)(Applications), strings.NewReader(exposition(applicationInfo,
			`sluice_application_info{autosync="false",dest_namespace="",health_status="Progressing",name="shop",namespace="team-a",`+
				`repo="https://git.example/shop.git",revision="6d4f0c1e",sync_status="OutOfSync"} 1`)))).To(Succeed())
	})

	It("serves nothing from a manager that does not lead: its series would be counted twice", func() {
		Rollouts.Register(readerOf(withConditions()), make(chan struct{}), true)
		Expect(testutil.CollectAndCount((*rolloutCollector)(Rollouts))).To(BeZero())
		Rollouts.Register(readerOf(withConditions()), leading(), true)
		Expect(testutil.CollectAndCount((*rolloutCollector)(Rollouts), "rollout_info")).To(Equal(1))
	})

	It("serves nothing, rather than failing the scrape, while the cache cannot be read", func() {
		Rollouts.Register(failingReader{}, leading(), true)
		Expect(testutil.CollectAndCount((*rolloutCollector)(Rollouts))).To(BeZero())
	})

	It("reads the cache of the manager that registered last, and registering again does not fail", func() {
		Applications.Register(readerOf(application("https://git.example/one.git", nil)), leading())
		Expect(func() {
			Applications.Register(readerOf(application("https://git.example/two.git", nil)), leading())
		}).NotTo(Panic())
		families, err := crmetrics.Registry.Gather()
		Expect(err).NotTo(HaveOccurred())
		info := familyNamed(families, applicationInfo.Name)
		Expect(info).NotTo(BeNil())
		Expect(info.Metric).To(HaveLen(1))
		Expect(labelValue(info.Metric[0], "repo")).To(Equal("https://git.example/two.git"))
	})
})

var _ = Describe("Reconcile timing", func() {
	It("observes each reconcile, counts the failed ones and forgets a deleted object", func() {
		key := types.NamespacedName{Namespace: "shop", Name: "timed"}
		ok, failed := error(nil), errors.New("the API server went away")
		AnalysisRuns.Reconciling(key).Done(&ok)
		Expect(seriesOf(AnalysisRuns.errors, "timed")).To(Equal(1), "the error counter is served from 0")
		Expect(testutil.ToFloat64(AnalysisRuns.errors.WithLabelValues("shop", "timed"))).To(BeZero())
		AnalysisRuns.Reconciling(key).Done(&failed)
		Expect(histogramCount(AnalysisRuns.duration.WithLabelValues("shop", "timed"))).To(Equal(uint64(2)))
		Expect(testutil.ToFloat64(AnalysisRuns.errors.WithLabelValues("shop", "timed"))).To(Equal(1.0))

		AnalysisRuns.Forget(key)
		Expect(seriesOf(AnalysisRuns.duration, "timed")).To(BeZero())
		Expect(seriesOf(AnalysisRuns.errors, "timed")).To(BeZero())
	})

	It("forgets a Rollout's events with it", func() {
		ro := builders.Rollout("forgotten").Namespace("shop").Obj()
		recorder := Rollouts.CountEvents(events.NewFakeRecorder(10))
		recorder.Eventf(ro, nil, corev1.EventTypeNormal, "RolloutUpdated", "Update", "Rollout updated to revision %d", 2)
		Expect(testutil.ToFloat64(Rollouts.events.WithLabelValues("shop", "forgotten", "Normal", "RolloutUpdated"))).To(Equal(1.0))
		Rollouts.Forget(client.ObjectKeyFromObject(ro))
		Expect(seriesOf(Rollouts.events, "forgotten")).To(BeZero())
	})
})

var _ = Describe("CountEvents", func() {
	It("counts the events recorded on a Rollout by type and reason, and passes every event on", func() {
		inner := events.NewFakeRecorder(10)
		recorder := Rollouts.CountEvents(inner)
		ro := builders.Rollout("counted").Namespace("shop").Obj()
		run := &rolloutsv1alpha1.AnalysisRun{}
		run.Namespace, run.Name = "shop", "counted-6d4f-2-1"

		recorder.Eventf(ro, nil, corev1.EventTypeNormal, "RolloutPaused", "Pause", "Rollout paused at step %d", 2)
		recorder.AnnotatedEventf(ro, nil, map[string]string{"step": "2"}, corev1.EventTypeWarning, "RolloutAborted", "Abort", "aborted")
		recorder.Eventf(run, nil, corev1.EventTypeNormal, "AnalysisRunSuccessful", "Assessed", "done")

		Expect(inner.Events).To(HaveLen(3))
		Expect(testutil.ToFloat64(Rollouts.events.WithLabelValues("shop", "counted", "Normal", "RolloutPaused"))).To(Equal(1.0))
		Expect(testutil.ToFloat64(Rollouts.events.WithLabelValues("shop", "counted", "Warning", "RolloutAborted"))).To(Equal(1.0))
		Expect(seriesOf(Rollouts.events, "counted")).To(Equal(2))
		Expect(seriesOf(Rollouts.events, "counted-6d4f-2-1")).To(BeZero(), "only events on Rollouts are counted, as in Argo")
	})
})

var _ = Describe("Families", func() {
	It("lists exactly what the registry serves, with each family's type and labels", func() {
		// Every collector registered, and every vector given a series.
		template := &rolloutsv1alpha1.AnalysisTemplate{}
		template.Namespace, template.Name = "shop", "error-rate"
		template.Spec.Metrics = []rolloutsv1alpha1.Metric{prometheusMetric("error-rate")}
		app := application("https://git.example/shop.git", nil)
		app.Status.History = []gitopsv1alpha1.SyncHistory{{Revision: "6d4f0c1e", Result: "Succeeded"}}
		Rollouts.Register(readerOf(withConditions(), template), leading(), true)
		AnalysisRuns.Register(readerOf(run([]rolloutsv1alpha1.Metric{webMetric("health")})), leading())
		Applications.Register(readerOf(app), leading())
		failed := errors.New("failed")
		key := types.NamespacedName{Namespace: "shop", Name: "families"}
		for _, r := range []*reconciles{&Rollouts.reconciles, &AnalysisRuns.reconciles, &Applications.reconciles} {
			r.Reconciling(key).Done(&failed)
		}
		Rollouts.CountEvents(events.NewFakeRecorder(1)).Eventf(withConditions(), nil, corev1.EventTypeNormal, "RolloutUpdated", "Update", "")
		Applications.Recorded(&gitopsv1alpha1.Application{}, app)
		Applications.SyncFailed(app, "FetchFailed")
		Notifications.Delivered("shop", "families", "on-rollout-completed", "slack", corev1.EventTypeNormal, "RolloutCompleted", true, time.Millisecond)
		Notifications.Delivered("shop", "families", "on-rollout-completed", "slack", corev1.EventTypeNormal, "RolloutCompleted", false, time.Millisecond)
		EventDropped("sluice-rollout")
		server := httptest.NewServer(http.NotFoundHandler())
		DeferCleanup(server.Close)
		cfg := &rest.Config{Host: server.URL}
		InstrumentConfig(cfg)
		httpClient, err := rest.HTTPClientFor(cfg)
		Expect(err).NotTo(HaveOccurred())
		resp, err := httpClient.Get(server.URL + "/api/v1/namespaces/shop/services/web")
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Body.Close()).To(Succeed())

		registry := prometheus.NewPedanticRegistry()
		registry.MustRegister(requestCounter, eventsDroppedCounter)
		registry.MustRegister(Rollouts.collectors()...)
		registry.MustRegister(AnalysisRuns.collectors()...)
		registry.MustRegister(Applications.collectors()...)
		registry.MustRegister(Notifications.collectors()...)
		gathered, err := registry.Gather()
		Expect(err).NotTo(HaveOccurred())
		served := map[string]Family{}
		for _, mf := range gathered {
			if len(mf.Metric) == 0 {
				continue
			}
			served[mf.GetName()] = Family{Name: mf.GetName(), Type: Type(strings.ToLower(mf.GetType().String())), Labels: labelNames(mf.Metric[0])}
		}
		for _, f := range Families() {
			Expect(served).To(HaveKey(f.Name))
			got := served[f.Name]
			Expect(got.Type).To(Equal(f.Type), f.Name)
			Expect(got.Labels).To(ConsistOf(f.Labels), f.Name)
		}
		listed := map[string]bool{}
		for _, f := range Families() {
			listed[f.Name] = true
		}
		for name := range served {
			Expect(listed).To(HaveKey(name), "a family served but not listed")
		}
	})

	It("names each family once", func() {
		var names []string
		for _, f := range Families() {
			names = append(names, f.Name)
		}
		Expect(slices.Compact(slices.Sorted(slices.Values(names)))).To(HaveLen(len(names)))
	})
})

type failingReader struct{ client.Reader }

func (failingReader) List(_ context.Context, _ client.ObjectList, _ ...client.ListOption) error {
	return errors.New("the cache is not started")
}

func familyNamed(families []*dto.MetricFamily, name string) *dto.MetricFamily {
	for _, f := range families {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func labelNames(m *dto.Metric) []string {
	var names []string
	for _, l := range m.Label {
		names = append(names, l.GetName())
	}
	return names
}

// seriesOf counts a collector's series of the object name.
func seriesOf(c prometheus.Collector, name string) int {
	GinkgoHelper()
	registry := prometheus.NewRegistry()
	registry.MustRegister(c)
	families, err := registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, f := range families {
		for _, m := range f.Metric {
			if labelValue(m, "name") == name {
				n++
			}
		}
	}
	return n
}

func histogramCount(o prometheus.Observer) uint64 {
	GinkgoHelper()
	var m dto.Metric
	Expect(o.(prometheus.Metric).Write(&m)).To(Succeed())
	return m.GetHistogram().GetSampleCount()
}
