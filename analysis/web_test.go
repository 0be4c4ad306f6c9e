package analysis

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The web provider", func() {
	serve := func(status int, body string) (*httptest.Server, *http.Request, *string) {
		var seen http.Request
		var sent string
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = *r.Clone(context.Background())
			b, _ := io.ReadAll(r.Body)
			sent = string(b)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		DeferCleanup(s.Close)
		return s, &seen, &sent
	}

	It("reads a value out of a JSON answer with a JSONPath", func() {
		s, _, _ := serve(200, `{"data":{"errorRate":0.02,"ok":true}}`)
		m, err := Web{}.Call(context.Background(), &rolloutsv1alpha1.WebMetric{URL: s.URL, JSONPath: "{$.data.errorRate}"})
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Value).To(Equal(0.02))
		Expect(m.Display).To(Equal("0.02"))

		c, err := Compile("result < 0.05", "")
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Evaluate(m.Value)).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
	})

	It("sends the method, headers and JSON body", func() {
		s, seen, sent := serve(200, `1`)
		_, err := Web{}.Call(context.Background(), &rolloutsv1alpha1.WebMetric{
			URL: s.URL, Method: "POST", JSONBody: []byte(`{"q":"errors"}`),
			Headers: []rolloutsv1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer x"}},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(seen.Method).To(Equal("POST"))
		Expect(seen.Header.Get("Authorization")).To(Equal("Bearer x"))
		Expect(seen.Header.Get("Content-Type")).To(Equal("application/json"))
		Expect(*sent).To(Equal(`{"q":"errors"}`))
	})

	It("hands a body that is not JSON to the conditions as a string", func() {
		s, _, _ := serve(200, `healthy`)
		m, err := Web{}.Call(context.Background(), &rolloutsv1alpha1.WebMetric{URL: s.URL})
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Value).To(Equal("healthy"))
	})

	It("reuses its connections from one measurement to the next", func() {
		var connections atomic.Int32
		s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"ok":1}`))
		}))
		s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				connections.Add(1)
			}
		}
		s.Start()
		DeferCleanup(s.Close)
		for range 200 {
			_, err := Web{}.Call(context.Background(), &rolloutsv1alpha1.WebMetric{URL: s.URL, JSONPath: "{$.ok}"})
			Expect(err).NotTo(HaveOccurred())
		}
		// One measurement at a time needs one connection; a client per
		// measurement opened 200 and left each of them idle, never closed.
		Expect(connections.Load()).To(BeNumerically("<=", 2))
	})

	DescribeTable("reports what went wrong",
		func(status int, body, path, message string) {
			s, _, _ := serve(status, body)
			_, err := Web{}.Call(context.Background(), &rolloutsv1alpha1.WebMetric{URL: s.URL, JSONPath: path})
			Expect(err).To(MatchError(ContainSubstring(message)))
		},
		Entry("a non-2xx answer", 503, `{}`, "", "503"),
		Entry("a path that finds nothing", 200, `{"a":1}`, "{$.b}", "jsonPath"),
	)
})
