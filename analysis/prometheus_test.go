package analysis

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakePrometheus speaks enough of Prometheus' HTTP API for the provider:
// it answers /api/v1/query and /api/v1/query_range with a canned result and
// remembers what it was asked.
type fakePrometheus struct {
	*httptest.Server
	mu       sync.Mutex
	form     map[string]string
	headers  http.Header
	response string
	// connections counts the connections clients opened.
	connections atomic.Int32
}

func newFakePrometheus(resultType, result string) *fakePrometheus {
	f := &fakePrometheus{response: `{"status":"success","data":{"resultType":"` + resultType + `","result":` + result + `}}`}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		f.form = map[string]string{"path": r.URL.Path}
		for k := range r.Form {
			f.form[k] = r.Form.Get(k)
		}
		f.headers = r.Header.Clone()
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(f.response))
	}))
	f.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			f.connections.Add(1)
		}
	}
	f.Start()
	DeferCleanup(f.Close)
	return f
}

var _ = Describe("The Prometheus provider", func() {
	measure := func(f *fakePrometheus, spec rolloutsv1alpha1.PrometheusMetric) (Measurement, error) {
		spec.Address = f.URL
		p := Prometheus{Clock: clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))}
		return p.Query(context.Background(), &spec)
	}

	It("reads a scalar as a float and records the query", func() {
		f := newFakePrometheus("scalar", `[1767268800, "0.25"]`)
		m, err := measure(f, rolloutsv1alpha1.PrometheusMetric{Query: "scalar(errors)"})
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Value).To(Equal(0.25))
		Expect(m.Display).To(Equal("0.25"))
		Expect(m.Metadata).To(HaveKeyWithValue(ResolvedPrometheusQuery, "scalar(errors)"))
		Expect(f.form).To(HaveKeyWithValue("query", "scalar(errors)"))
	})

	It("reads a vector as a list of floats, one per series", func() {
		f := newFakePrometheus("vector", `[{"metric":{"pod":"a"},"value":[1767268800,"0.01"]},{"metric":{"pod":"b"},"value":[1767268800,"0.03"]}]`)
		m, err := measure(f, rolloutsv1alpha1.PrometheusMetric{Query: "rate(errors[1m])"})
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Value).To(Equal([]float64{0.01, 0.03}))
		Expect(m.Display).To(Equal("[0.01,0.03]"))
	})

	It("says an empty vector returned no data, instead of failing on result[0]", func() {
		f := newFakePrometheus("vector", `[]`)
		m, err := measure(f, rolloutsv1alpha1.PrometheusMetric{Query: "rate(errors[1m])"})
		Expect(err).To(MatchError(ErrNoData))
		Expect(m.Metadata).To(HaveKeyWithValue(ResolvedPrometheusQuery, "rate(errors[1m])"))
	})

	It("flattens a range query's matrix, with start and end as expressions", func() {
		f := newFakePrometheus("matrix", `[{"metric":{},"values":[[1767268200,"1"],[1767268500,"2"]]},{"metric":{},"values":[[1767268800,"3"]]}]`)
		m, err := measure(f, rolloutsv1alpha1.PrometheusMetric{Query: "up", RangeQuery: &rolloutsv1alpha1.PrometheusRangeQueryArgs{
			Start: `now() - duration("10m")`, End: "now()", Step: "5m",
		}})
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Value).To(Equal([]float64{1, 2, 3}))
		Expect(f.form).To(HaveKeyWithValue("path", "/api/v1/query_range"))
		Expect(f.form).To(HaveKeyWithValue("start", "1767268200"))
		Expect(f.form).To(HaveKeyWithValue("end", "1767268800"))
		Expect(f.form).To(HaveKeyWithValue("step", "300"))
	})

	It("sends the metric's headers", func() {
		f := newFakePrometheus("scalar", `[1767268800, "1"]`)
		_, err := measure(f, rolloutsv1alpha1.PrometheusMetric{Query: "up", Headers: []rolloutsv1alpha1.WebMetricHeader{{Key: "X-Scope-OrgID", Value: "team-a"}}})
		Expect(err).NotTo(HaveOccurred())
		Expect(f.headers.Get("X-Scope-OrgID")).To(Equal("team-a"))
	})

	It("fetches an OAuth2 token with client credentials and sends it", func() {
		tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			Expect(r.Form.Get("grant_type")).To(Equal("client_credentials"))
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "t0ken", "token_type": "Bearer", "expires_in": 3600})
		}))
		DeferCleanup(tokens.Close)
		f := newFakePrometheus("scalar", `[1767268800, "1"]`)
		spec := rolloutsv1alpha1.PrometheusMetric{Query: "up"}
		spec.Authentication.OAuth2 = rolloutsv1alpha1.OAuth2Config{TokenURL: tokens.URL, ClientID: "id", ClientSecret: "secret"}
		_, err := measure(f, spec)
		Expect(err).NotTo(HaveOccurred())
		Expect(f.headers.Get("Authorization")).To(Equal("Bearer t0ken"))
	})

	DescribeTable("reuses its connections from one measurement to the next",
		func(authenticate bool) {
			spec := rolloutsv1alpha1.PrometheusMetric{Query: "up", Headers: []rolloutsv1alpha1.WebMetricHeader{{Key: "X-Scope-OrgID", Value: "team-a"}}}
			if authenticate {
				tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "t0ken", "token_type": "Bearer", "expires_in": 3600})
				}))
				DeferCleanup(tokens.Close)
				spec.Authentication.OAuth2 = rolloutsv1alpha1.OAuth2Config{TokenURL: tokens.URL, ClientID: "id", ClientSecret: "secret"}
			}
			f := newFakePrometheus("scalar", `[1767268800, "1"]`)
			for range 200 {
				_, err := measure(f, spec)
				Expect(err).NotTo(HaveOccurred())
			}
			// One measurement at a time needs one connection; a client per
			// measurement opened 200 and left each of them idle, never closed.
			Expect(f.connections.Load()).To(BeNumerically("<=", 2))
		},
		Entry("with headers", false),
		Entry("with headers and an OAuth2 token", true),
	)

	It("gives up on a token endpoint that never answers when the query's timeout runs out", func() {
		release := make(chan struct{})
		tokens := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		DeferCleanup(tokens.Close)
		DeferCleanup(func() { close(release) }) // runs first: Close waits for the handler
		f := newFakePrometheus("scalar", `[1767268800, "1"]`)
		timeout := int64(1)
		spec := rolloutsv1alpha1.PrometheusMetric{Query: "up", Timeout: &timeout}
		spec.Authentication.OAuth2 = rolloutsv1alpha1.OAuth2Config{TokenURL: tokens.URL, ClientID: "id", ClientSecret: "secret"}
		failed := make(chan error, 1)
		go func() {
			_, err := measure(f, spec)
			failed <- err
		}()
		// The controller takes one measurement at a time: one that waits
		// for ever stalls every run.
		Eventually(failed).WithTimeout(10 * time.Second).Should(Receive(MatchError(ContainSubstring("querying Prometheus"))))
	})

	It("reports a Prometheus that does not answer as an error", func() {
		f := newFakePrometheus("scalar", `[1767268800, "1"]`)
		f.Close()
		_, err := measure(f, rolloutsv1alpha1.PrometheusMetric{Query: "up"})
		Expect(err).To(MatchError(ContainSubstring("querying Prometheus")))
	})

	It("needs an address from the metric or the controller", func() {
		_, err := Prometheus{}.Query(context.Background(), &rolloutsv1alpha1.PrometheusMetric{Query: "up"})
		Expect(err).To(MatchError(ContainSubstring("no Prometheus address")))
	})

	It("refuses a negative timeout", func() {
		f := newFakePrometheus("scalar", `[1767268800, "1"]`)
		timeout := int64(-1)
		_, err := measure(f, rolloutsv1alpha1.PrometheusMetric{Query: "up", Timeout: &timeout})
		Expect(err).To(MatchError(ContainSubstring("must not be negative")))
	})
})
