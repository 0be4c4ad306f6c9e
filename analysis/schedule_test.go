package analysis

import (
	"strconv"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var _ = Describe("Due", func() {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	three := intstr.FromInt(3)
	every := func(interval string) rolloutsv1alpha1.Metric {
		return rolloutsv1alpha1.Metric{Name: "m", Interval: rolloutsv1alpha1.DurationString(interval), Count: &three}
	}
	runWith := func(measurements ...rolloutsv1alpha1.Measurement) *rolloutsv1alpha1.AnalysisRun {
		run := &rolloutsv1alpha1.AnalysisRun{}
		run.Status.StartedAt = &metav1.Time{Time: start}
		if len(measurements) > 0 {
			result := rolloutsv1alpha1.MetricResult{Name: "m", Phase: rolloutsv1alpha1.AnalysisPhaseRunning}
			for _, m := range measurements {
				Record(&result, m, false, 0)
			}
			run.Status.MetricResults = []rolloutsv1alpha1.MetricResult{result}
		}
		return run
	}
	at := func(phase rolloutsv1alpha1.AnalysisPhase, finished time.Time) rolloutsv1alpha1.Measurement {
		return Finished(phase, "", "", nil, finished, finished)
	}
	ok := rolloutsv1alpha1.AnalysisPhaseSuccessful
	inFlight := func(resumeAt time.Time) rolloutsv1alpha1.Measurement {
		return rolloutsv1alpha1.Measurement{Phase: rolloutsv1alpha1.AnalysisPhaseRunning,
			StartedAt: &metav1.Time{Time: start}, ResumeAt: &metav1.Time{Time: resumeAt}}
	}

	DescribeTable("schedules measurements as Argo does",
		func(metric rolloutsv1alpha1.Metric, run *rolloutsv1alpha1.AnalysisRun, now time.Time, wantDue bool, wantNext time.Time) {
			due, next := Due(run, []rolloutsv1alpha1.Metric{metric}, false, now)
			Expect(len(due) == 1).To(Equal(wantDue))
			Expect(next).To(Equal(wantNext))
		},
		Entry("the first measurement at once", every("1m"), runWith(), start, true, time.Time{}),
		Entry("the first measurement after initialDelay", func() rolloutsv1alpha1.Metric {
			m := every("1m")
			m.InitialDelay = "30s"
			return m
		}(), runWith(), start.Add(10*time.Second), false, start.Add(30*time.Second)),
		Entry("the next one an interval after the last", every("1m"), runWith(at(ok, start)), start.Add(20*time.Second), false, start.Add(time.Minute)),
		Entry("an overdue one now", every("1m"), runWith(at(ok, start)), start.Add(61*time.Second), true, time.Time{}),
		Entry("after an error, ten seconds whatever the interval", every("1m"),
			runWith(at(rolloutsv1alpha1.AnalysisPhaseError, start)), start.Add(5*time.Second), false, start.Add(10*time.Second)),
		Entry("none past count", every("1s"), runWith(at(ok, start), at(ok, start), at(ok, start)), start.Add(time.Hour), false, time.Time{}),
		Entry("one in flight at its resumeAt", every("1s"), runWith(inFlight(start.Add(time.Minute))), start.Add(time.Second),
			false, start.Add(time.Minute)),
		Entry("one in flight past its resumeAt", every("1s"), runWith(inFlight(start)), start.Add(time.Second), true, time.Time{}),
	)

	It("takes no new measurement while the run is terminating", func() {
		due, next := Due(runWith(), []rolloutsv1alpha1.Metric{every("1m")}, true, start)
		Expect(due).To(BeEmpty())
		Expect(next).To(BeZero())
	})

	It("stops a measurement in flight while the run is terminating, whatever its resumeAt", func() {
		due, _ := Due(runWith(inFlight(start.Add(time.Hour))), []rolloutsv1alpha1.Metric{every("1m")}, true, start)
		Expect(due).To(HaveLen(1))
		Expect(due[0].Stop).To(BeTrue())
		Expect(due[0].InFlight).NotTo(BeNil())
	})
})

var _ = Describe("Record", func() {
	It("keeps the newest measurements only", func() {
		var result rolloutsv1alpha1.MetricResult
		for i := range 15 {
			Record(&result, Finished(rolloutsv1alpha1.AnalysisPhaseSuccessful, itoa(i), "", nil, time.Time{}, time.Time{}), false, 0)
		}
		Expect(result.Measurements).To(HaveLen(10))
		Expect(result.Measurements[0].Value).To(Equal("5"))
		Expect(result.Count).To(Equal(int32(15)))
	})

	It("replaces the measurement in flight it finishes, and counts only finished ones", func() {
		var result rolloutsv1alpha1.MetricResult
		running := rolloutsv1alpha1.Measurement{Phase: rolloutsv1alpha1.AnalysisPhaseRunning, StartedAt: &metav1.Time{}}
		Record(&result, running, false, 0)
		Expect(result.Measurements).To(HaveLen(1))
		Expect(result.Count).To(BeZero())

		Record(&result, Finished(rolloutsv1alpha1.AnalysisPhaseFailed, "", "", nil, time.Time{}, time.Time{}), false, 0)
		Expect(result.Measurements).To(HaveLen(1))
		Expect(result.Measurements[0].Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseFailed))
		Expect(result.Failed).To(Equal(int32(1)))
		Expect(result.Count).To(Equal(int32(1)))
	})

	It("does not count a measurement stopped by a terminating run", func() {
		var result rolloutsv1alpha1.MetricResult
		Record(&result, rolloutsv1alpha1.Measurement{Phase: rolloutsv1alpha1.AnalysisPhaseRunning}, false, 0)
		Record(&result, Finished(rolloutsv1alpha1.AnalysisPhaseInconclusive, "", "Metric Terminated", nil, time.Time{}, time.Time{}), true, 0)
		Expect(result.Measurements).To(HaveLen(1))
		Expect(result.Inconclusive).To(BeZero())
		Expect(result.Count).To(BeZero())
	})
})

func itoa(i int) string { return strconv.Itoa(i) }
