package analysis

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	pending      = rolloutsv1alpha1.AnalysisPhasePending
	running      = rolloutsv1alpha1.AnalysisPhaseRunning
	successful   = rolloutsv1alpha1.AnalysisPhaseSuccessful
	failed       = rolloutsv1alpha1.AnalysisPhaseFailed
	inconclusive = rolloutsv1alpha1.AnalysisPhaseInconclusive
	errored      = rolloutsv1alpha1.AnalysisPhaseError
)

// metric builds a metric with an interval (so it runs until count) and the
// given limits; nil leaves a limit at its default.
func metric(count, failureLimit, inconclusiveLimit, errorLimit, successLimit *int) rolloutsv1alpha1.Metric {
	m := rolloutsv1alpha1.Metric{Name: "error-rate", Interval: "1m"}
	set := func(v *int) *intstr.IntOrString {
		if v == nil {
			return nil
		}
		i := intstr.FromInt(*v)
		return &i
	}
	m.Count, m.FailureLimit, m.InconclusiveLimit = set(count), set(failureLimit), set(inconclusiveLimit)
	m.ConsecutiveErrorLimit, m.ConsecutiveSuccessLimit = set(errorLimit), set(successLimit)
	return m
}

func n(i int) *int { return &i }

// measured builds a result from measurement phases, counting them as the
// AnalysisRun controller does.
func measured(phases ...rolloutsv1alpha1.AnalysisPhase) rolloutsv1alpha1.MetricResult {
	r := rolloutsv1alpha1.MetricResult{Name: "error-rate", Phase: running}
	for _, p := range phases {
		r.Measurements = append(r.Measurements, rolloutsv1alpha1.Measurement{Phase: p})
		if !p.Completed() {
			continue
		}
		if p != errored {
			r.Count++ // errors are retried, not counted, as in Argo
		}
		switch p {
		case successful:
			r.Successful++
			r.ConsecutiveSuccess++
			r.ConsecutiveError = 0
		case failed:
			r.Failed++
			r.ConsecutiveSuccess, r.ConsecutiveError = 0, 0
		case inconclusive:
			r.Inconclusive++
			r.ConsecutiveSuccess, r.ConsecutiveError = 0, 0
		case errored:
			r.Error++
			r.ConsecutiveError++
			r.ConsecutiveSuccess = 0
		}
	}
	return r
}

var _ = Describe("AssessMetric", func() {
	DescribeTable("decides a metric's phase from its measurements, as Argo does",
		func(m rolloutsv1alpha1.Metric, r rolloutsv1alpha1.MetricResult, terminating bool, want rolloutsv1alpha1.AnalysisPhase, wantMessage string) {
			phase, message := AssessMetric(m, r, terminating)
			Expect(phase).To(Equal(want))
			Expect(message).To(ContainSubstring(wantMessage))
		},
		Entry("no measurement yet", metric(n(3), nil, nil, nil, nil), measured(), false, pending, ""),
		Entry("no measurement, terminating", metric(n(3), nil, nil, nil, nil), measured(), true, successful, ""),
		Entry("a measurement in flight", metric(n(3), nil, nil, nil, nil), measured(successful, running), false, running, ""),
		Entry("under count, all good", metric(n(3), nil, nil, nil, nil), measured(successful), false, running, ""),
		Entry("count reached", metric(n(3), nil, nil, nil, nil), measured(successful, successful, successful), false, successful, ""),
		Entry("one failure breaks the default failureLimit of 0", metric(n(3), nil, nil, nil, nil), measured(failed), false, failed, "failed (1) > failureLimit (0)"),
		Entry("failures within failureLimit", metric(n(3), n(1), nil, nil, nil), measured(failed, successful, successful), false, successful, ""),
		Entry("a negative failureLimit never fails", metric(n(3), n(-1), nil, nil, n(2)), measured(failed, failed), false, running, ""),
		Entry("inconclusive past inconclusiveLimit", metric(n(3), nil, n(1), nil, nil), measured(inconclusive, inconclusive), false, inconclusive, "inconclusive (2) > inconclusiveLimit (1)"),
		Entry("errors in a row up to the default limit of 4 keep it running", metric(n(10), nil, nil, nil, nil), measured(errored, errored, errored, errored), false, running, ""),
		Entry("a fifth error in a row is Error", metric(n(10), nil, nil, nil, nil), measured(errored, errored, errored, errored, errored), false, errored, "consecutiveErrors (5) > consecutiveErrorLimit (4)"),
		Entry("a success resets the error streak", metric(n(10), nil, nil, n(1), nil), measured(errored, successful, errored), false, running, ""),
		Entry("consecutiveSuccessLimit reached", metric(n(10), nil, nil, nil, n(2)), measured(successful, successful), false, successful, "consecutiveSuccessLimit (2) reached"),
		Entry("count reached without the success streak, failureLimit applying", metric(n(2), n(1), nil, nil, n(2)), measured(successful, failed), false, inconclusive, "not reached"),
		Entry("count reached without the success streak, no failureLimit", metric(n(2), n(-1), nil, nil, n(2)), measured(successful, failed), false, failed, "not reached"),
		Entry("no count and an interval runs until stopped", metric(nil, nil, nil, nil, nil), measured(successful, successful), false, running, ""),
		Entry("no count and an interval, terminating", metric(nil, nil, nil, nil, nil), measured(successful), true, successful, ""),
		Entry("an already completed result stays as it is", metric(n(1), nil, nil, nil, nil), rolloutsv1alpha1.MetricResult{Phase: failed}, false, failed, ""),
	)

	It("takes one measurement when there is neither count nor interval", func() {
		m := rolloutsv1alpha1.Metric{Name: "once"}
		Expect(AssessMetric(m, measured(successful), false)).To(Equal(successful))
	})
})

var _ = Describe("AssessRun", func() {
	two := []rolloutsv1alpha1.Metric{
		{Name: "a", Count: ptrCount(1)},
		{Name: "b", Count: ptrCount(1)},
	}
	result := func(name string, phases ...rolloutsv1alpha1.AnalysisPhase) rolloutsv1alpha1.MetricResult {
		r := measured(phases...)
		r.Name = name
		return r
	}

	It("is Running until every metric is complete", func() {
		a := AssessRun(two, []rolloutsv1alpha1.MetricResult{result("a", successful)}, nil, false)
		Expect(a.Phase).To(Equal(running))
	})

	It("takes the worst phase of its metrics", func() {
		a := AssessRun(two, []rolloutsv1alpha1.MetricResult{result("a", successful), result("b", failed)}, nil, false)
		Expect(a.Phase).To(Equal(failed))
		Expect(a.Message).To(Equal(`Metric "b" assessed Failed due to failed (1) > failureLimit (0)`))
		Expect(a.Summary).To(Equal(rolloutsv1alpha1.RunSummary{Count: 2, Successful: 1, Failed: 1}))
	})

	It("ends at once when a metric already Failed, the others counting as Successful", func() {
		results := []rolloutsv1alpha1.MetricResult{result("a"), result("b", failed)}
		results[1].Phase = failed
		a := AssessRun(two, results, nil, false)
		Expect(a.Phase).To(Equal(failed))
		Expect(a.Metrics["a"].Phase).To(Equal(successful))
	})

	It("lets a dry-run metric fail without deciding", func() {
		a := AssessRun(two, []rolloutsv1alpha1.MetricResult{result("a", successful), result("b", failed)}, map[string]bool{"b": true}, false)
		Expect(a.Phase).To(Equal(successful))
		Expect(a.DryRunSummary).To(Equal(rolloutsv1alpha1.RunSummary{Count: 1, Failed: 1}))
	})

	It("ends Successful when terminated before any measurement", func() {
		a := AssessRun(two, nil, nil, true)
		Expect(a.Phase).To(Equal(successful))
		Expect(a.Message).To(Equal("Run Terminated"))
	})
})

func ptrCount(i int) *intstr.IntOrString {
	v := intstr.FromInt(i)
	return &v
}

var _ = Describe("DryRunMetrics", func() {
	metrics := []rolloutsv1alpha1.Metric{{Name: "error-rate"}, {Name: "latency"}}
	DescribeTable("maps the metrics spec.dryRun names",
		func(rules []rolloutsv1alpha1.DryRun, want map[string]bool) {
			Expect(DryRunMetrics(rules, metrics)).To(Equal(want))
		},
		Entry("none without rules", nil, map[string]bool{}),
		Entry("a metric by its name", []rolloutsv1alpha1.DryRun{{MetricName: "latency"}}, map[string]bool{"latency": true}),
		Entry("every metric by *", []rolloutsv1alpha1.DryRun{{MetricName: "*"}}, map[string]bool{"error-rate": true, "latency": true}),
		Entry("a name that is no metric's names none", []rolloutsv1alpha1.DryRun{{MetricName: "late.*"}}, map[string]bool{}),
	)
})
