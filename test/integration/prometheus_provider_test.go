package integration

import (
	"context"
	"errors"
	"net"
	"slices"
	"syscall"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sluicehq/sluice/analysis"
	"github.com/sluicehq/sluice/test/promtest"
)

// The Prometheus provider against a real Prometheus (bin/prometheus, built by
// `make test-integration`), scraping every second an exporter whose gauges
// each spec sets. The unit suite checks the provider against canned answers;
// this one checks that those answers are what Prometheus really sends.
var _ = Describe("The Prometheus provider against a real Prometheus", Ordered, func() {
	var (
		exporter *promtest.Exporter
		prom     *promtest.Prometheus
	)

	BeforeAll(func(ctx context.Context) {
		var err error
		exporter, err = promtest.StartExporter()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(exporter.Stop)
		prom, err = promtest.Start(ctx, GinkgoT().TempDir(), exporter.Addr)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(prom.Stop)
	})

	// measure asks the provider as the AnalysisRun controller does, with the
	// test Prometheus as the controller's default address.
	measure := func(ctx context.Context, spec rolloutsv1alpha1.PrometheusMetric) (analysis.Measurement, error) {
		metric := rolloutsv1alpha1.Metric{Name: "error-rate", Provider: rolloutsv1alpha1.MetricProvider{Prometheus: &spec}}
		return analysis.Prometheus{DefaultAddress: prom.URL}.Measure(ctx, analysis.Request{Metric: metric})
	}
	// measured waits until Prometheus has scraped what the spec set and the
	// query's value matches.
	measured := func(ctx context.Context, spec rolloutsv1alpha1.PrometheusMetric, matcher OmegaMatcher) analysis.Measurement {
		GinkgoHelper()
		var m analysis.Measurement
		Eventually(func(g Gomega) {
			var err error
			m, err = measure(ctx, spec)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(m.Value).To(matcher)
		}).WithContext(ctx).Should(Succeed())
		return m
	}

	It("reads a scalar query as a float64", func(ctx context.Context) {
		exporter.Set(`sluice_it_error_rate{app="scalar"}`, 0.25)
		query := `scalar(sluice_it_error_rate{app="scalar"})`
		m := measured(ctx, rolloutsv1alpha1.PrometheusMetric{Query: query}, Equal(0.25))
		Expect(m.Display).To(Equal("0.25"))
		Expect(m.Metadata).To(HaveKeyWithValue(analysis.ResolvedPrometheusQuery, query))
	})

	It("reads an instant vector as a []float64 with one value per series", func(ctx context.Context) {
		exporter.Set(`sluice_it_error_rate{app="vector",pod="a"}`, 0.01)
		exporter.Set(`sluice_it_error_rate{app="vector",pod="b"}`, 0.03)
		m := measured(ctx, rolloutsv1alpha1.PrometheusMetric{Query: `sluice_it_error_rate{app="vector"}`},
			ConsistOf(0.01, 0.03))
		Expect(m.Value).To(BeAssignableToTypeOf([]float64{}))
		Expect(m.Display).To(SatisfyAny(Equal("[0.01,0.03]"), Equal("[0.03,0.01]")))
	})

	It("flattens a range query's samples, series after series", func(ctx context.Context) {
		exporter.Set(`sluice_it_error_rate{app="range",pod="a"}`, 0.01)
		exporter.Set(`sluice_it_error_rate{app="range",pod="b"}`, 0.03)
		spec := rolloutsv1alpha1.PrometheusMetric{
			Query: `sluice_it_error_rate{app="range"}`,
			RangeQuery: &rolloutsv1alpha1.PrometheusRangeQueryArgs{
				Start: `now() - duration("10s")`, End: "now()", Step: "1s",
			},
		}
		// Both series are scraped together, so they have as many samples,
		// give or take the scrape that may fall between the two Sets: six
		// values are two samples a series at least.
		m := measured(ctx, spec, WithTransform(func(v any) int {
			values, _ := v.([]float64)
			return len(values)
		}, BeNumerically(">=", 6)))
		values := m.Value.([]float64)
		// Every sample of every series, series after series: Prometheus
		// orders a matrix's series by their labels, so pod a comes first.
		b := slices.Index(values, 0.03)
		Expect(b).To(BeNumerically(">=", 2), "pod a's samples first: %v", values)
		Expect(values[:b]).To(HaveEach(0.01), "pod a's samples first: %v", values)
		Expect(len(values)-b).To(BeNumerically(">=", 2), "then pod b's: %v", values)
		Expect(values[b:]).To(HaveEach(0.03), "then pod b's: %v", values)
	})

	It("says a query that matches no series returned no data", func(ctx context.Context) {
		exporter.Set(`sluice_it_error_rate{app="present"}`, 0.01)
		measured(ctx, rolloutsv1alpha1.PrometheusMetric{Query: `sluice_it_error_rate{app="present"}`}, ConsistOf(0.01))

		query := `sluice_it_error_rate{app="absent"}`
		m, err := measure(ctx, rolloutsv1alpha1.PrometheusMetric{Query: query})
		Expect(err).To(HaveOccurred())
		Expect(errors.Is(err, analysis.ErrNoData)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("query returned no data"))
		Expect(m.Metadata).To(HaveKeyWithValue(analysis.ResolvedPrometheusQuery, query))
	})

	It("returns Prometheus' parse error for bad PromQL, without panicking", func(ctx context.Context) {
		var err error
		Expect(func() {
			_, err = measure(ctx, rolloutsv1alpha1.PrometheusMetric{Query: `sum(sluice_it_error_rate`})
		}).NotTo(Panic())
		Expect(err).To(MatchError(ContainSubstring("parse error")))
		Expect(errors.Is(err, analysis.ErrNoData)).To(BeFalse())
	})

	It("returns an error for an address where nothing listens", func(ctx context.Context) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		closed := "http://" + l.Addr().String()
		Expect(l.Close()).To(Succeed())

		_, err = measure(ctx, rolloutsv1alpha1.PrometheusMetric{Address: closed, Query: "up"})
		Expect(err).To(MatchError(ContainSubstring("querying Prometheus")))
		Expect(errors.Is(err, syscall.ECONNREFUSED)).To(BeTrue(), "got %v", err)
	})

	It("gives up on a server that never answers after the metric's timeout", func(ctx context.Context) {
		// The kernel accepts connections on a listener nobody serves: the
		// request is sent, and no answer ever comes.
		silent, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(silent.Close)

		timeout := int64(1)
		started := time.Now()
		_, err = measure(ctx, rolloutsv1alpha1.PrometheusMetric{Address: "http://" + silent.Addr().String(), Query: "up", Timeout: &timeout})
		elapsed := time.Since(started)
		Expect(errors.Is(err, context.DeadlineExceeded)).To(BeTrue(), "got %v", err)
		Expect(elapsed).To(BeNumerically(">=", time.Second))
		Expect(elapsed).To(BeNumerically("<", 10*time.Second), "the metric's timeout, not the default of 30s")
	})

	It("feeds a condition that succeeds on a low value and fails on a high one", func(ctx context.Context) {
		conditions, err := analysis.Compile("result[0] < 0.05", "")
		Expect(err).NotTo(HaveOccurred())
		spec := rolloutsv1alpha1.PrometheusMetric{Query: `sluice_it_error_rate{app="condition"}`}
		assessed := func(g Gomega) rolloutsv1alpha1.AnalysisPhase {
			m, err := measure(ctx, spec)
			g.Expect(err).NotTo(HaveOccurred())
			phase, err := conditions.Evaluate(m.Value)
			g.Expect(err).NotTo(HaveOccurred())
			return phase
		}

		exporter.Set(`sluice_it_error_rate{app="condition"}`, 0.01)
		Eventually(assessed).WithContext(ctx).Should(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))

		exporter.Set(`sluice_it_error_rate{app="condition"}`, 0.5)
		Eventually(assessed).WithContext(ctx).Should(Equal(rolloutsv1alpha1.AnalysisPhaseFailed))
	})
})
