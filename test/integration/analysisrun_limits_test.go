package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sluicehq/sluice/analysis"
	"github.com/sluicehq/sluice/controllers/analysisrun"
)

// What an AnalysisRun stores of a measurement is bounded whatever a metric
// answers, so the run stays far below etcd's limit on an object (about
// 1.5 MiB) and can always be written; its conditions still see the whole
// answer.
var _ = Describe("The AnalysisRun controller, with metrics that answer at length", Ordered, func() {
	// Distinctive, and starting with letters no message of the controller
	// holds, so a piece of it left by a cut shows.
	const token = "Qz7LongAnswerCanary"
	const series = 5000
	var (
		ns      string
		webURL  string
		oneMiB  = 1 << 20
		cutMark = func(length int) string { return fmt.Sprintf("… (cut: %d bytes in all)", length) }
	)

	BeforeAll(func(ctx context.Context) {
		mux := http.NewServeMux()
		// /page answers a page of 1 MiB that is not JSON.
		page := "<html>" + strings.Repeat("x", oneMiB-len("<html></html>")) + "</html>"
		mux.HandleFunc("/page", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(page)) })
		// /echo-token answers the Secret's value, over and over, for 1 MiB.
		echo := strings.Repeat(token, oneMiB/len(token))
		mux.HandleFunc("/echo-token", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(echo)) })
		web := httptest.NewServer(mux)
		DeferCleanup(web.Close)
		webURL = web.URL

		// A Prometheus whose every query returns a vector of 5000 series,
		// the last one different.
		samples := make([]string, series)
		for i := range samples {
			value := "0.01"
			if i == series-1 {
				value = "0.02"
			}
			samples[i] = fmt.Sprintf(`{"metric":{"pod":"web-%d"},"value":[1767268800,"%s"]}`, i, value)
		}
		vector := `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}}`
		prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(vector))
		}))
		DeferCleanup(prom.Close)

		startController("", func(mgr ctrl.Manager) error {
			return analysisrun.Setup(mgr, analysisrun.Options{PrometheusAddress: prom.URL})
		})
		ns = newNamespace(ctx, "analysis-limits-")
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "metrics-token"},
			StringData: map[string]string{"token": token},
		})).To(Succeed())
	})

	runOf := func(name string, metric rolloutsv1alpha1.Metric) *rolloutsv1alpha1.AnalysisRun {
		return &rolloutsv1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: rolloutsv1alpha1.AnalysisRunSpec{
				Metrics: []rolloutsv1alpha1.Metric{metric},
				Args: []rolloutsv1alpha1.Argument{{Name: "token", ValueFrom: &rolloutsv1alpha1.ValueFrom{
					SecretKeyRef: &rolloutsv1alpha1.SecretKeyRef{Name: "metrics-token", Key: "token"},
				}}},
			},
		}
	}

	It("stores 4 KiB of each 1 MiB web answer, and decides on the whole of it", func(ctx context.Context) {
		// Three measurements stored whole made the run 3 MiB: it could not
		// be written past the first, and never ended.
		three := intstr.FromInt(3)
		run := runOf("web-page", rolloutsv1alpha1.Metric{
			Name: "page", Interval: "1s", Count: &three,
			// Only the whole answer ends so; what is stored ends with the cut mark.
			SuccessCondition: `result endsWith "</html>"`,
			Provider:         rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{URL: webURL + "/page"}},
		})
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)

		measurements := run.Status.MetricResults[0].Measurements
		Expect(measurements).To(HaveLen(3))
		for _, m := range measurements {
			Expect(m.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
			Expect(len(m.Value)).To(BeNumerically("<=", analysis.MaxStoredText))
			Expect(m.Value).To(HavePrefix("<html>xxx"))
			Expect(m.Value).To(HaveSuffix("x" + cutMark(oneMiB)))
		}
	})

	It("stores 4 KiB of a vector of 5000 series, and decides on all of them", func(ctx context.Context) {
		run := runOf("vector", rolloutsv1alpha1.Metric{
			Name:             "error-rate",
			SuccessCondition: fmt.Sprintf("len(result) == %d && result[%d] == 0.02", series, series-1),
			Provider:         rolloutsv1alpha1.MetricProvider{Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: "rate(errors[1m])"}},
		})
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)

		m := run.Status.MetricResults[0].Measurements[0]
		Expect(len(m.Value)).To(BeNumerically("<=", analysis.MaxStoredText))
		Expect(m.Value).To(HavePrefix("[0.01,0.01,"))
		// "[", 5000 values of 4 characters, 4999 commas, "]"
		Expect(m.Value).To(HaveSuffix(cutMark(1 + series*4 + series - 1 + 1)))
	})

	It("masks a Secret's value throughout a long answer before it cuts, value and message", func(ctx context.Context) {
		noErrors := intstr.FromInt(0)
		run := runOf("echo-token", rolloutsv1alpha1.Metric{
			Name: "echo", ConsecutiveErrorLimit: &noErrors,
			// The answer is no number: the condition's error quotes all of it.
			SuccessCondition: "asFloat(result) < 0.05",
			Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{
				URL: webURL + "/echo-token", Headers: []rolloutsv1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer {{args.token}}"}},
			}},
		})
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseError)

		m := run.Status.MetricResults[0].Measurements[0]
		Expect(m.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseError))
		Expect(len(m.Value)).To(BeNumerically("<=", analysis.MaxStoredText))
		Expect(len(m.Message)).To(BeNumerically("<=", analysis.MaxStoredText))
		// Cut before masking, the text would end in a piece of the token
		// that masking no longer recognises.
		Expect(m.Value).To(MatchRegexp(`^\*+… \(cut: \d+ bytes in all\)$`))
		Expect(m.Message).To(HavePrefix(`could not evaluate successCondition "asFloat(result) < 0.05"`))
		Expect(m.Message).To(MatchRegexp(`\*… \(cut: \d+ bytes in all\)$`))
		recorded, err := json.Marshal(run.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(recorded)).NotTo(ContainSubstring(token[:3]))
	})
})
