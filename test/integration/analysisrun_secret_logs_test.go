package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/go-logr/logr"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/sluicehq/sluice/controllers/analysisrun"
)

// A Secret's value that an AnalysisRun argument reads is used to measure and
// reaches nothing else: not the run, not its events, and not the
// controller's logs at their most verbose, on success and on the error paths
// whose messages quote the metric's URL.
var _ = Describe("The AnalysisRun controller with a Secret argument", Ordered, func() {
	// Distinctive, and plain letters and digits, so no encoding of JSON or
	// of a URL can hide it from a substring search.
	const token = "sluiceLeakCanary7c1e9b"
	var (
		ns         string
		logs       *syncBuffer
		authorized atomic.Int32 // requests that carried the token
		web        *httptest.Server
	)

	BeforeAll(func(ctx context.Context) {
		// Everything written to GinkgoWriter lands in logs too: the
		// controller's own logger below, and the manager's (its event
		// recorder logs every event).
		logs = &syncBuffer{}
		GinkgoWriter.TeeTo(logs)
		DeferCleanup(GinkgoWriter.ClearTeeWriters)
		verbose := zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true), zap.Level(zapcore.Level(-5)))
		startController("", func(mgr ctrl.Manager) error {
			return analysisrun.Setup(withLogger(mgr, verbose), analysisrun.Options{})
		})

		// /ok answers only a request that carries the token in its query and
		// its Authorization header; /echo answers, as httpbin's /anything
		// does, with what it was sent; /broken fails whatever it is sent.
		mux := http.NewServeMux()
		mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("token") != token || r.Header.Get("Authorization") != "Bearer "+token {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			authorized.Add(1)
			_, _ = w.Write([]byte(`{"errorRate":0.01}`))
		})
		mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"errorRate": 0.01, "args": r.URL.Query()})
		})
		mux.HandleFunc("/broken", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		})
		web = httptest.NewServer(mux)
		DeferCleanup(web.Close)

		ns = newNamespace(ctx, "analysis-secret-")
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "metrics-token"},
			StringData: map[string]string{"token": token},
		})).To(Succeed())
	})

	// newRun measures url with the token in its query (where url asks for
	// it) and in an Authorization header.
	newRun := func(name, url string) *rolloutsv1alpha1.AnalysisRun {
		count, noErrors := intstr.FromInt(2), intstr.FromInt(0)
		return &rolloutsv1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: rolloutsv1alpha1.AnalysisRunSpec{
				Args: []rolloutsv1alpha1.Argument{{Name: "token", ValueFrom: &rolloutsv1alpha1.ValueFrom{
					SecretKeyRef: &rolloutsv1alpha1.SecretKeyRef{Name: "metrics-token", Key: "token"},
				}}},
				Metrics: []rolloutsv1alpha1.Metric{{
					Name: "error-rate", Interval: "1s", Count: &count, ConsecutiveErrorLimit: &noErrors,
					SuccessCondition: "result < 0.05",
					Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{
						URL: url, JSONPath: "{$.errorRate}",
						Headers: []rolloutsv1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer {{args.token}}"}},
					}},
				}},
			},
		}
	}
	runEnds := func(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun, phase rolloutsv1alpha1.AnalysisPhase) {
		GinkgoHelper()
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, phase)
	}

	// expectTokenKept checks the run, its events and every log line so far,
	// and names every line, of any of them, that carries the token.
	expectTokenKept := func(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun) {
		GinkgoHelper()
		// The event that says the run completed is written asynchronously.
		var events eventsv1.EventList
		Eventually(func(g Gomega) []string {
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range events.Items {
				if e.Regarding.Name == run.Name {
					reasons = append(reasons, e.Reason)
				}
			}
			return reasons
		}).WithContext(ctx).Should(ContainElement("AnalysisRun" + string(run.Status.Phase)))
		text := logs.String()
		Expect(text).To(ContainSubstring(run.Name), "the controller's logs were captured")

		Expect(map[string][]string{
			"the run":    linesWith(indented(run), token),
			"its events": linesWith(indented(events), token),
			"the logs":   linesWith(text, token),
		}).To(HaveEach(BeEmpty()), "the lines that carry the token")
	}

	It("measures with the token, and records and logs none of it", func(ctx context.Context) {
		run := newRun("secret-used-and-succeeds", web.URL+"/ok?token={{args.token}}")
		runEnds(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)
		Expect(authorized.Load()).To(BeNumerically(">=", 2), "the endpoint saw the token at each measurement")
		Expect(run.Status.MetricResults[0].Measurements[0].Value).To(Equal("0.01"))
		expectTokenKept(ctx, run)
	})

	It("masks the token in an error that quotes the URL", func(ctx context.Context) {
		run := newRun("secret-used-and-answered-500", web.URL+"/broken?token={{args.token}}")
		runEnds(ctx, run, rolloutsv1alpha1.AnalysisPhaseError)
		message := run.Status.MetricResults[0].Measurements[0].Message
		Expect(message).To(ContainSubstring("/broken?token=*****"), "the error quotes the URL, masked")
		Expect(message).To(ContainSubstring("500"))
		expectTokenKept(ctx, run)
	})

	It("masks the token in an error of a host that does not answer", func(ctx context.Context) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		closed := "http://" + l.Addr().String()
		Expect(l.Close()).To(Succeed())

		run := newRun("secret-used-and-refused", closed+"/?token={{args.token}}")
		runEnds(ctx, run, rolloutsv1alpha1.AnalysisPhaseError)
		message := run.Status.MetricResults[0].Measurements[0].Message
		Expect(message).To(ContainSubstring("connection refused"))
		Expect(message).To(ContainSubstring("?token=*****"), "the error quotes the URL, masked")
		expectTokenKept(ctx, run)
	})

	// An endpoint that echoes its request puts the token into the measured
	// value itself, which the run records and the controller logs.
	It("keeps the token out of a measured value that echoes it", func(ctx context.Context) {
		run := newRun("secret-used-and-echoed", web.URL+"/echo?token={{args.token}}")
		metric := &run.Spec.Metrics[0]
		metric.Provider.Web.JSONPath = "" // the whole answer is the value
		metric.SuccessCondition = "result.errorRate < 0.05"
		runEnds(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)
		Expect(run.Status.MetricResults[0].Measurements[0].Value).To(ContainSubstring(`"errorRate":0.01`))
		expectTokenKept(ctx, run)
	})
})

// syncBuffer is a bytes.Buffer that loggers on several goroutines may write
// while a spec reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// indented is an object as indented JSON: one field a line, for linesWith.
func indented(obj any) string {
	GinkgoHelper()
	data, err := json.MarshalIndent(obj, "", "  ")
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// linesWith returns the lines of text that contain s.
func linesWith(text, s string) []string {
	var found []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			found = append(found, line)
		}
	}
	return found
}

// loggingManager is a manager whose GetLogger is logger. A controller's Setup
// given one makes the controller's loggers from it (controller-runtime's
// builder does), so the reconciler's log.FromContext and controller-runtime's
// lines about that controller go to logger, while startController runs the
// manager as it does for every other spec.
type loggingManager struct {
	ctrl.Manager
	logger logr.Logger
}

func (m loggingManager) GetLogger() logr.Logger { return m.logger }

func withLogger(mgr ctrl.Manager, logger logr.Logger) loggingManager {
	return loggingManager{Manager: mgr, logger: logger}
}
