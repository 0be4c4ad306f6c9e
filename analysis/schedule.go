package analysis

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// errorRetryInterval is how soon a measurement that errored is taken
	// again, whatever the metric's interval, as in Argo.
	errorRetryInterval = 10 * time.Second
	// measurementHistoryLimit is how many measurements a metric keeps.
	measurementHistoryLimit = 10
)

// Due returns the metrics of a run that need a measurement now, and the
// earliest time another one falls due (zero when none will). Its rules are
// Argo's: a metric's first measurement waits for initialDelay after the run
// started; later ones follow interval (or, after an error, ten seconds);
// none is taken past count, after the metric completed, or while the run is
// terminating.
func Due(run *rolloutsv1alpha1.AnalysisRun, metrics []rolloutsv1alpha1.Metric, terminating bool, now time.Time) ([]rolloutsv1alpha1.Metric, time.Time) {
	var due []rolloutsv1alpha1.Metric
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if terminating {
		return nil, time.Time{}
	}
	for _, metric := range metrics {
		result := resultOf(run, metric.Name)
		if result != nil && result.Phase.Completed() {
			continue
		}
		if result == nil || len(result.Measurements) == 0 {
			start := now
			if d, err := metric.InitialDelay.Duration(); metric.InitialDelay != "" && err == nil && run.Status.StartedAt != nil {
				start = run.Status.StartedAt.Add(d)
			}
			if now.Before(start) {
				later(start)
			} else {
				due = append(due, metric)
			}
			continue
		}
		if count := metric.EffectiveCount(); count != nil && result.Count >= int32(count.IntValue()) {
			continue
		}
		last := result.Measurements[len(result.Measurements)-1]
		interval := errorRetryInterval
		if last.Phase != rolloutsv1alpha1.AnalysisPhaseError && metric.Interval != "" {
			if d, err := metric.Interval.Duration(); err == nil {
				interval = d
			}
		}
		at := now
		if last.FinishedAt != nil {
			at = last.FinishedAt.Add(interval)
		}
		if now.Before(at) {
			later(at)
		} else {
			due = append(due, metric)
		}
	}
	return due, next
}

// Record adds a finished measurement to a metric's result and counts it as
// Argo does: errors are retried, so they count towards the error streak but
// not towards count. Only the newest measurements are kept.
func Record(result *rolloutsv1alpha1.MetricResult, m rolloutsv1alpha1.Measurement, keep int) {
	result.Measurements = append(result.Measurements, m)
	if keep <= 0 {
		keep = measurementHistoryLimit
	}
	if extra := len(result.Measurements) - keep; extra > 0 {
		result.Measurements = append([]rolloutsv1alpha1.Measurement(nil), result.Measurements[extra:]...)
	}
	switch m.Phase {
	case rolloutsv1alpha1.AnalysisPhaseSuccessful:
		result.Successful++
		result.Count++
		result.ConsecutiveError = 0
		result.ConsecutiveSuccess++
	case rolloutsv1alpha1.AnalysisPhaseFailed:
		result.Failed++
		result.Count++
		result.ConsecutiveError, result.ConsecutiveSuccess = 0, 0
	case rolloutsv1alpha1.AnalysisPhaseInconclusive:
		result.Inconclusive++
		result.Count++
		result.ConsecutiveError, result.ConsecutiveSuccess = 0, 0
	case rolloutsv1alpha1.AnalysisPhaseError:
		result.Error++
		result.ConsecutiveError++
		result.ConsecutiveSuccess = 0
	}
}

// Finished builds a finished measurement.
func Finished(phase rolloutsv1alpha1.AnalysisPhase, value, message string, metadata map[string]string, started, finished time.Time) rolloutsv1alpha1.Measurement {
	return rolloutsv1alpha1.Measurement{
		Phase: phase, Value: value, Message: message, Metadata: metadata,
		StartedAt: &metav1.Time{Time: started}, FinishedAt: &metav1.Time{Time: finished},
	}
}

func resultOf(run *rolloutsv1alpha1.AnalysisRun, name string) *rolloutsv1alpha1.MetricResult {
	for i := range run.Status.MetricResults {
		if run.Status.MetricResults[i].Name == name {
			return &run.Status.MetricResults[i]
		}
	}
	return nil
}
