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

// Task is a measurement a run takes now: a new one, or one in flight to
// look at again (or to stop, when Stop is set).
type Task struct {
	Metric   rolloutsv1alpha1.Metric
	InFlight *rolloutsv1alpha1.Measurement
	Stop     bool
}

// Due returns the measurements a run takes now, and the earliest time
// another falls due (zero when none will). Its rules are Argo's: a metric's
// first measurement waits for initialDelay after the run started; later
// ones follow interval (or, after an error, ten seconds); none is taken past
// count or after the metric completed. A measurement in flight is looked at
// again at its resumeAt. A terminating run takes no new measurements and
// stops those in flight.
func Due(run *rolloutsv1alpha1.AnalysisRun, metrics []rolloutsv1alpha1.Metric, terminating bool, now time.Time) ([]Task, time.Time) {
	var due []Task
	var next time.Time
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, metric := range metrics {
		result := resultOf(run, metric.Name)
		if result != nil && result.Phase.Completed() {
			continue
		}
		if last := lastMeasurement(result); last != nil && last.FinishedAt == nil {
			switch {
			case terminating:
				due = append(due, Task{Metric: metric, InFlight: last, Stop: true})
			case last.ResumeAt != nil && now.Before(last.ResumeAt.Time):
				later(last.ResumeAt.Time)
			default:
				due = append(due, Task{Metric: metric, InFlight: last})
			}
			continue
		}
		if terminating {
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
				due = append(due, Task{Metric: metric})
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
			due = append(due, Task{Metric: metric})
		}
	}
	return due, next
}

func lastMeasurement(result *rolloutsv1alpha1.MetricResult) *rolloutsv1alpha1.Measurement {
	if result == nil || len(result.Measurements) == 0 {
		return nil
	}
	return &result.Measurements[len(result.Measurements)-1]
}

// Record adds a measurement to a metric's result, in place of the one in
// flight it finishes, and counts it as Argo does: errors are retried, so
// they count towards the error streak but not towards count. Only the
// newest measurements are kept. A measurement still running, or one
// stopped because the run is terminating, counts for nothing: Sluice does
// not let an interrupted Job make a terminated run Inconclusive, as Argo
// does.
//
// A value or message longer than MaxStoredText is cut. The controller masks
// secrets before it records: cut first, a secret at the cut would be left
// in part, which masking no longer recognises.
func Record(result *rolloutsv1alpha1.MetricResult, m rolloutsv1alpha1.Measurement, stopped bool, keep int) {
	m.Value, m.Message = storable(m.Value), storable(m.Message)
	if last := lastMeasurement(result); last != nil && last.FinishedAt == nil {
		result.Measurements = result.Measurements[:len(result.Measurements)-1]
	}
	result.Measurements = append(result.Measurements, m)
	if keep <= 0 {
		keep = measurementHistoryLimit
	}
	if extra := len(result.Measurements) - keep; extra > 0 {
		result.Measurements = append([]rolloutsv1alpha1.Measurement(nil), result.Measurements[extra:]...)
	}
	if stopped {
		return
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
