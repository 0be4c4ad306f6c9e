package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/promtest"
)

// A canary gated by a metric, with a real Prometheus scraping an exporter
// whose error rate each spec sets for the new version.
var _ = Describe("A metric-gated canary on the simulated cluster", Ordered, func() {
	var (
		ns       string
		exporter *promtest.Exporter
		prom     *promtest.Prometheus
	)

	BeforeAll(func(ctx context.Context) {
		exporter, prom = startPrometheus(ctx)
		startManager("--leader-elect=false")
	})

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "analysis-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		Expect(k8sClient.Create(ctx, errorRateTemplate(ns, prom, func(m *rolloutsv1alpha1.Metric) {
			m.FailureCondition = "result[0] > 0.2"
		}))).To(Succeed())
	})

	gated := func(name string) *rolloutsv1alpha1.Rollout {
		return builders.Rollout(name).Namespace(ns).Replicas(4).Image("registry.example/app:v1").Canary(
			builders.SetWeight(25),
			rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}},
				Args:      []rolloutsv1alpha1.AnalysisRunArgument{{Name: "app", Value: name}},
			}},
			builders.SetWeight(100),
		).Obj()
	}
	It("promotes a healthy canary with no human", func(ctx context.Context) {
		exporter.Set(`demo_error_rate{app="healthy"}`, 0.01)
		ro := deployAndUpdate(ctx, gated("healthy"))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v2": 4}))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())

		run := stepRun(ctx, ro)
		Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		Expect(run.Status.MetricResults[0].Measurements[len(run.Status.MetricResults[0].Measurements)-1].Value).To(Equal("[0.01]"))
	})

	It("aborts an unhealthy canary and returns to stable, and analyses again on retry", func(ctx context.Context) {
		exporter.Set(`demo_error_rate{app="unhealthy"}`, 0.5)
		ro := deployAndUpdate(ctx, gated("unhealthy"))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), ro.Status.Message)
			g.Expect(ro.Status.Abort).To(BeTrue())
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 4}))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		failed := stepRun(ctx, ro)
		Expect(failed.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseFailed))
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(
			ContainElement(HavePrefix("AnalysisRunFailed: ")))

		By("kubectl argo rollouts retry, once the errors are fixed: the steps and the analysis run again")
		setScraped(ctx, exporter, prom, `demo_error_rate{app="unhealthy"}`, 0.01)
		patchStatus(ctx, ro, `{"status":{"abort":false}}`)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v2": 4}))
			var retried rolloutsv1alpha1.AnalysisRun
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: failed.Name + ".1"}, &retried)).To(Succeed())
			g.Expect(retried.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
	})

	It("pauses on an inconclusive result until promoted the way the plugin promotes", func(ctx context.Context) {
		exporter.Set(`demo_error_rate{app="unsure"}`, 0.1) // between success (< 5%) and failure (> 20%)
		ro := deployAndUpdate(ctx, gated("unsure"))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), ro.Status.Message)
			g.Expect(ro.Status.Message).To(Equal(string(rolloutsv1alpha1.PauseReasonInconclusiveAnalysis)))
			g.Expect(ro.Status.Canary.CurrentStepAnalysisRunStatus).NotTo(BeNil())
			g.Expect(ro.Status.Canary.CurrentStepAnalysisRunStatus.Status).To(Equal(rolloutsv1alpha1.AnalysisPhaseInconclusive))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())

		By("kubectl argo rollouts promote on an inconclusive step: clear the pause, move to the next step")
		patchStatus(ctx, ro, fmt.Sprintf(`{"status":{"pauseConditions":null,"controllerPause":false,"currentStepIndex":%d}}`,
			*ro.Status.CurrentStepIndex+1))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v2": 4}))
		}).WithContext(ctx).Should(Succeed())
	})

	It("ends the run in Error only after consecutiveErrorLimit errors when Prometheus stops mid-run", func(ctx context.Context) {
		dir, err := os.MkdirTemp("", "sluice-e2e-prometheus-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir)
		doomed, err := promtest.Start(ctx, dir, exporter.Addr)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(doomed.Stop)

		count, limit := intstr.FromInt(10), intstr.FromInt(2)
		template := &rolloutsv1alpha1.AnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "error-rate"},
		}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(template), template)).To(Succeed())
		metric := &template.Spec.Metrics[0]
		metric.Count, metric.ConsecutiveErrorLimit = &count, &limit
		metric.Provider.Prometheus.Address = doomed.URL
		Expect(k8sClient.Update(ctx, template)).To(Succeed())

		exporter.Set(`demo_error_rate{app="outage"}`, 0.01)
		ro := deployAndUpdate(ctx, gated("outage"))
		By("a first good measurement, then Prometheus goes away")
		var run *rolloutsv1alpha1.AnalysisRun
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			run = tryStepRun(ctx, g, ro)
			g.Expect(run.Status.MetricResults).NotTo(BeEmpty())
			g.Expect(run.Status.MetricResults[0].Successful).To(BeNumerically(">=", 1))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(doomed.Stop()).To(Succeed())

		Eventually(func(g Gomega) {
			run = tryStepRun(ctx, g, ro)
			g.Expect(run.Status.MetricResults[0].ConsecutiveError).To(Equal(int32(2)))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning), "two errors are within the limit of 2")

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), ro.Status.Message)
			run = tryStepRun(ctx, g, ro)
			g.Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseError))
			g.Expect(run.Status.MetricResults[0].ConsecutiveError).To(Equal(int32(3)))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})
})

// tryStepRun is stepRun for use inside Eventually.
func tryStepRun(ctx context.Context, g Gomega, ro *rolloutsv1alpha1.Rollout) *rolloutsv1alpha1.AnalysisRun {
	var runs rolloutsv1alpha1.AnalysisRunList
	g.Expect(k8sClient.List(ctx, &runs, client.InNamespace(ro.Namespace), client.MatchingLabels{
		rolloutsv1alpha1.RolloutTypeLabel: rolloutsv1alpha1.RolloutTypeStepLabel, rolloutsv1alpha1.RolloutCanaryStepIndexLabel: "1", rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: ro.Status.CurrentPodHash,
	})).To(Succeed())
	g.Expect(runs.Items).To(HaveLen(1))
	g.Expect(runs.Items[0].Name).To(Equal(fmt.Sprintf("%s-%s-2-1", ro.Name, ro.Status.CurrentPodHash)), "Argo's name: rollout, hash, revision, step")
	return &runs.Items[0]
}

// stepRun is the AnalysisRun of a Rollout's analysis step (step index 1),
// found by Argo's labels.
func stepRun(ctx context.Context, ro *rolloutsv1alpha1.Rollout) *rolloutsv1alpha1.AnalysisRun {
	GinkgoHelper()
	return tryStepRun(ctx, Default, ro)
}

// startPrometheus starts an exporter whose series a spec sets and a real
// Prometheus scraping it, both stopped when the container ends.
func startPrometheus(ctx context.Context) (*promtest.Exporter, *promtest.Prometheus) {
	GinkgoHelper()
	exporter, err := promtest.StartExporter()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(exporter.Stop)
	dir, err := os.MkdirTemp("", "sluice-e2e-prometheus-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	prom, err := promtest.Start(ctx, dir, exporter.Addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(prom.Stop)
	return exporter, prom
}

// setScraped sets a series of the exporter and waits until Prometheus
// answers the new value, so an analysis started next measures it.
func setScraped(ctx context.Context, exporter *promtest.Exporter, prom *promtest.Prometheus, series string, value float64) {
	GinkgoHelper()
	exporter.Set(series, value)
	Eventually(func(g Gomega) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, prom.URL+"/api/v1/query?query="+url.QueryEscape(series), nil)
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := http.DefaultClient.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		g.Expect(io.ReadAll(resp.Body)).To(ContainSubstring(`,"` + strconv.FormatFloat(value, 'f', -1, 64) + `"]`))
	}).WithContext(ctx).Should(Succeed())
}

// errorRateTemplate is the AnalysisTemplate "error-rate": two measurements
// 2 s apart of demo_error_rate for the app its argument names, successful
// below 5%; edit adds what a spec needs.
func errorRateTemplate(ns string, prom *promtest.Prometheus, edit func(*rolloutsv1alpha1.Metric)) *rolloutsv1alpha1.AnalysisTemplate {
	count := intstr.FromInt(2)
	metric := rolloutsv1alpha1.Metric{
		Name: "error-rate", Interval: "2s", Count: &count,
		SuccessCondition: "result[0] < 0.05",
		Provider: rolloutsv1alpha1.MetricProvider{Prometheus: &rolloutsv1alpha1.PrometheusMetric{
			Address: prom.URL, Query: `demo_error_rate{app="{{args.app}}"}`,
		}},
	}
	edit(&metric)
	return &rolloutsv1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "error-rate"},
		Spec: rolloutsv1alpha1.AnalysisTemplateSpec{
			Args:    []rolloutsv1alpha1.Argument{{Name: "app"}},
			Metrics: []rolloutsv1alpha1.Metric{metric},
		},
	}
}
