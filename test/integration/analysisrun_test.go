package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/analysis"
	"github.com/sluicehq/sluice/controllers/analysisrun"
)

// The AnalysisRun controller against a real API server, with a stand-in
// Prometheus whose answer each spec sets.
var _ = Describe("The AnalysisRun controller", Ordered, func() {
	var (
		ns       string
		answer   atomic.Value // the JSON body the stand-in Prometheus returns
		queries  atomic.Value // the last query it was asked
		promURL  string
		stopProm func()
	)

	BeforeAll(func() {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			queries.Store(r.Form.Get("query"))
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(answer.Load().(string)))
		}))
		promURL, stopProm = server.URL, server.Close
		DeferCleanup(server.Close)
		startController("", func(mgr ctrl.Manager) error {
			return analysisrun.Setup(mgr, analysisrun.Options{PrometheusAddress: promURL})
		})
		ns = newNamespace(context.Background(), "analysis-")
	})

	vector := func(value string) string {
		return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767268800,"` + value + `"]}]}}`
	}
	newRun := func(name string, edit func(*rolloutsv1alpha1.Metric)) *rolloutsv1alpha1.AnalysisRun {
		app := "web"
		count := intstr.FromInt(2)
		m := rolloutsv1alpha1.Metric{
			Name: "error-rate", Interval: "1s", Count: &count,
			SuccessCondition: "result[0] < 0.05",
			Provider: rolloutsv1alpha1.MetricProvider{Prometheus: &rolloutsv1alpha1.PrometheusMetric{
				Query: `sum(rate(errors{app="{{args.app}}"}[1m]))`,
			}},
		}
		if edit != nil {
			edit(&m)
		}
		return &rolloutsv1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: rolloutsv1alpha1.AnalysisRunSpec{
				Metrics: []rolloutsv1alpha1.Metric{m},
				Args:    []rolloutsv1alpha1.Argument{{Name: "app", Value: &app}},
			},
		}
	}

	It("measures count times on its interval and succeeds on good values", func(ctx context.Context) {
		answer.Store(vector("0.01"))
		run := newRun("good", nil)
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)

		result := run.Status.MetricResults[0]
		Expect(result.Count).To(Equal(int32(2)))
		Expect(result.Measurements).To(HaveLen(2))
		Expect(result.Measurements[0].Value).To(Equal("[0.01]"))
		Expect(result.Measurements[0].Metadata).To(HaveKeyWithValue(analysis.ResolvedPrometheusQuery, `sum(rate(errors{app="web"}[1m]))`))
		Expect(queries.Load()).To(Equal(`sum(rate(errors{app="web"}[1m]))`), "the argument was substituted")
		Expect(run.Status.CompletedAt).NotTo(BeNil())
	})

	It("fails on a bad value, saying which limit it broke", func(ctx context.Context) {
		answer.Store(vector("0.2"))
		run := newRun("bad", nil)
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseFailed)
		Expect(run.Status.Message).To(Equal(`Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`))
	})

	It("records a query that returns no data as an Error that says so", func(ctx context.Context) {
		answer.Store(`{"status":"success","data":{"resultType":"vector","result":[]}}`)
		run := newRun("empty", func(m *rolloutsv1alpha1.Metric) {
			limit := intstr.FromInt(0)
			m.ConsecutiveErrorLimit = &limit
		})
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseError)
		Expect(run.Status.MetricResults[0].Measurements[0].Message).To(ContainSubstring("query returned no data"))
	})

	It("ends in Error only after consecutiveErrorLimit errors when Prometheus is down", func(ctx context.Context) {
		stopProm()
		run := newRun("down", func(m *rolloutsv1alpha1.Metric) {
			limit := intstr.FromInt(1)
			m.ConsecutiveErrorLimit = &limit
		})
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(run), run)).To(Succeed())
			g.Expect(run.Status.MetricResults).NotTo(BeEmpty())
			g.Expect(run.Status.MetricResults[0].Error).To(Equal(int32(1)))
		}).WithContext(ctx).Should(Succeed())
		Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning), "one error is within the limit")

		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseError)
		Expect(run.Status.MetricResults[0].Error).To(Equal(int32(2)))
		Expect(run.Status.Message).To(ContainSubstring("consecutiveErrors (2) > consecutiveErrorLimit (1)"))
	})

	It("measures a web metric through a JSONPath", func(ctx context.Context) {
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"checks":{"errorRate":0.01}}`))
		}))
		DeferCleanup(web.Close)
		run := newRun("web", func(m *rolloutsv1alpha1.Metric) {
			m.SuccessCondition = "result < 0.05"
			m.Provider = rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{
				URL: web.URL + "/{{args.app}}", JSONPath: "{$.checks.errorRate}",
			}}
		})
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)
		Expect(run.Status.MetricResults[0].Measurements[0].Value).To(Equal("0.01"))
	})

	It("measures with a Secret's value and never records it", func(ctx context.Context) {
		const token = "t0p-s3cr3t-t0ken"
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte(`{"errorRate":0.01}`))
		}))
		DeferCleanup(web.Close)
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "metrics-token"},
			StringData: map[string]string{"token": token},
		}
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())

		run := newRun("secret", func(m *rolloutsv1alpha1.Metric) {
			m.SuccessCondition = "result < 0.05"
			m.Provider = rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{
				URL: web.URL + "?token={{args.token}}", JSONPath: "{$.errorRate}",
				Headers: []rolloutsv1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer {{args.token}}"}},
			}}
		})
		run.Spec.Args = append(run.Spec.Args, rolloutsv1alpha1.Argument{Name: "token", ValueFrom: &rolloutsv1alpha1.ValueFrom{
			SecretKeyRef: &rolloutsv1alpha1.SecretKeyRef{Name: "metrics-token", Key: "token"},
		}})
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)

		recorded, err := json.Marshal(run.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(recorded)).NotTo(ContainSubstring(token))
		var events eventsv1.EventList
		Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
		for _, e := range events.Items {
			Expect(e.Note).NotTo(ContainSubstring(token))
		}
	})
})

// expectRunPhase waits until a run reaches phase, and leaves run read.
func expectRunPhase(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun, phase rolloutsv1alpha1.AnalysisPhase) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(run), run)).To(Succeed())
		g.Expect(run.Status.Phase).To(Equal(phase), run.Status.Message)
	}).WithContext(ctx).Should(Succeed())
}
