package analysis

import (
	"context"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/utils/clock"
)

// Provider takes measurements of one kind of metric. Most providers answer
// at once (a query, a web call). One that starts work in the cluster (a
// Job) answers Running, and the run asks it again, passing the measurement
// in flight, until it finishes.
type Provider interface {
	Measure(ctx context.Context, req Request) (Measurement, error)
}

// Request is one measurement a run asks of a provider.
type Request struct {
	// Run is the AnalysisRun measuring. A provider that creates objects
	// makes the run their owner.
	Run *rolloutsv1alpha1.AnalysisRun
	// Metric is the metric to measure, its arguments resolved.
	Metric rolloutsv1alpha1.Metric
	// InFlight is the metric's unfinished measurement, when this call is to
	// look at it again.
	InFlight *rolloutsv1alpha1.Measurement
	// Stop asks the provider to end InFlight, because the run is
	// terminating.
	Stop bool
	// Keep is how many measurements the metric keeps. A provider that
	// leaves objects behind deletes those of older measurements.
	Keep int
}

// Measurement is what a provider measured.
type Measurement struct {
	// Value is what conditions see as `result`: a float64 for a scalar, a
	// []float64 for a vector (one per series) or a matrix (every sample of
	// every series, flattened), or a string.
	Value any
	// Display is Value as the measurement records it.
	Display string
	// Metadata is recorded on the measurement.
	Metadata map[string]string
	// Phase is set by a provider that decides the outcome itself, such as a
	// Job that succeeded or failed; conditions are then not evaluated.
	// Running means the measurement is in flight until ResumeAt at the
	// latest.
	Phase    rolloutsv1alpha1.AnalysisPhase
	Message  string
	ResumeAt time.Time
}

// clockOrReal is a provider's clock: the one it was given (the AnalysisRun
// controller's), or the real one for a provider used on its own.
func clockOrReal(c clock.PassiveClock) clock.PassiveClock {
	if c == nil {
		return clock.RealClock{}
	}
	return c
}
