package analysis

import (
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// defaultConsecutiveErrorLimit is how many measurement errors in a row a
// metric tolerates when it sets no consecutiveErrorLimit, as in Argo.
const defaultConsecutiveErrorLimit = 4

// worstFirst orders completed phases from worst to best; a run takes the
// worst phase of its metrics.
var worstFirst = []rolloutsv1alpha1.AnalysisPhase{
	rolloutsv1alpha1.AnalysisPhaseFailed,
	rolloutsv1alpha1.AnalysisPhaseError,
	rolloutsv1alpha1.AnalysisPhaseInconclusive,
	rolloutsv1alpha1.AnalysisPhasePending,
	rolloutsv1alpha1.AnalysisPhaseRunning,
	rolloutsv1alpha1.AnalysisPhaseSuccessful,
}

func severity(p rolloutsv1alpha1.AnalysisPhase) int {
	for i, q := range worstFirst {
		if p == q {
			return len(worstFirst) - i
		}
	}
	return 0
}

// AssessMetric decides a metric's phase from its measurements so far, with
// Argo's rules:
//
//   - a limit broken decides at once: more failures than failureLimit
//     (default 0; negative means no limit) is Failed, more inconclusive
//     measurements than inconclusiveLimit (default 0) is Inconclusive, and
//     more errors in a row than consecutiveErrorLimit (default 4) is Error,
//     the last of these that applies winning;
//   - consecutiveSuccessLimit successes in a row is Successful;
//   - having taken count measurements (one when there is no interval) is
//     Successful, unless consecutiveSuccessLimit was set and not reached:
//     then Failed, or Inconclusive when failureLimit also applies;
//   - otherwise the metric keeps running, unless the run is terminating,
//     which ends it Successful.
//
// The message says which limit decided, or is empty.
func AssessMetric(metric rolloutsv1alpha1.Metric, result rolloutsv1alpha1.MetricResult, terminating bool) (rolloutsv1alpha1.AnalysisPhase, string) {
	if result.Phase.Completed() {
		return result.Phase, result.Message
	}
	if len(result.Measurements) == 0 {
		if terminating {
			return rolloutsv1alpha1.AnalysisPhaseSuccessful, ""
		}
		return rolloutsv1alpha1.AnalysisPhasePending, ""
	}
	if last := result.Measurements[len(result.Measurements)-1]; !last.Phase.Completed() {
		return rolloutsv1alpha1.AnalysisPhaseRunning, ""
	}
	if phase, message := brokenLimit(metric, result); phase != "" {
		return phase, message
	}
	successLimit := intValue(metric.ConsecutiveSuccessLimit, 0)
	if successLimit > 0 && result.ConsecutiveSuccess >= successLimit {
		return rolloutsv1alpha1.AnalysisPhaseSuccessful, fmt.Sprintf("consecutiveSuccessLimit (%d) reached", successLimit)
	}
	if count := metric.EffectiveCount(); count != nil && result.Count >= int32(count.IntValue()) {
		failureLimitApplies := intValue(metric.FailureLimit, 0) >= 0
		switch {
		case successLimit > 0 && failureLimitApplies:
			return rolloutsv1alpha1.AnalysisPhaseInconclusive, fmt.Sprintf(
				"consecutiveSuccessLimit (%d) not reached and failureLimit not broken after %d measurements", successLimit, result.Count)
		case successLimit > 0:
			return rolloutsv1alpha1.AnalysisPhaseFailed, fmt.Sprintf(
				"consecutiveSuccessLimit (%d) not reached after %d measurements", successLimit, result.Count)
		}
		return rolloutsv1alpha1.AnalysisPhaseSuccessful, ""
	}
	if terminating {
		return rolloutsv1alpha1.AnalysisPhaseSuccessful, ""
	}
	return rolloutsv1alpha1.AnalysisPhaseRunning, ""
}

// brokenLimit returns the phase and reason of a limit the measurements
// broke, or "".
func brokenLimit(metric rolloutsv1alpha1.Metric, result rolloutsv1alpha1.MetricResult) (rolloutsv1alpha1.AnalysisPhase, string) {
	var phase rolloutsv1alpha1.AnalysisPhase
	var message string
	if limit := intValue(metric.FailureLimit, 0); limit >= 0 && result.Failed > limit {
		phase, message = rolloutsv1alpha1.AnalysisPhaseFailed, fmt.Sprintf("failed (%d) > failureLimit (%d)", result.Failed, limit)
	}
	if limit := intValue(metric.InconclusiveLimit, 0); result.Inconclusive > limit {
		phase, message = rolloutsv1alpha1.AnalysisPhaseInconclusive, fmt.Sprintf("inconclusive (%d) > inconclusiveLimit (%d)", result.Inconclusive, limit)
	}
	if limit := intValue(metric.ConsecutiveErrorLimit, defaultConsecutiveErrorLimit); result.ConsecutiveError > limit {
		phase, message = rolloutsv1alpha1.AnalysisPhaseError, fmt.Sprintf("consecutiveErrors (%d) > consecutiveErrorLimit (%d)", result.ConsecutiveError, limit)
	}
	return phase, message
}

// RunAssessment is a run's phase and what it is made of.
type RunAssessment struct {
	Phase   rolloutsv1alpha1.AnalysisPhase
	Message string
	// Metrics holds each metric's phase and message, by name.
	Metrics       map[string]MetricAssessment
	Summary       rolloutsv1alpha1.RunSummary
	DryRunSummary rolloutsv1alpha1.RunSummary
}

// MetricAssessment is one metric's phase and the reason for it.
type MetricAssessment struct {
	Phase   rolloutsv1alpha1.AnalysisPhase
	Message string
}

// DryRunMetrics maps the metrics that spec.dryRun names, by name or "*"
// for all: they are measured and summarised but never decide the run.
func DryRunMetrics(rules []rolloutsv1alpha1.DryRun, metrics []rolloutsv1alpha1.Metric) map[string]bool {
	out := map[string]bool{}
	for _, rule := range rules {
		for _, m := range metrics {
			if rule.MetricName == "*" || rule.MetricName == m.Name {
				out[m.Name] = true
			}
		}
	}
	return out
}

// AssessRun decides a run's phase from its metrics, as Argo does: the worst
// phase of the completed metrics that are not dry-run, once every metric is
// complete. A Failed, Error or Inconclusive metric (not dry-run), or
// spec.terminate, makes the run terminating: metrics still running end
// Successful and the run ends with the worst phase so far. Dry-run metrics
// are measured and summarised but never decide.
func AssessRun(metrics []rolloutsv1alpha1.Metric, results []rolloutsv1alpha1.MetricResult, dryRun map[string]bool, terminate bool) RunAssessment {
	byName := map[string]rolloutsv1alpha1.MetricResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	terminating := terminate
	for _, r := range results {
		if !dryRun[r.Name] && endsRun(r.Phase) {
			terminating = true
		}
	}

	out := RunAssessment{Metrics: map[string]MetricAssessment{}}
	var worst rolloutsv1alpha1.AnalysisPhase
	complete := true
	for _, metric := range metrics {
		summary := &out.Summary
		if dryRun[metric.Name] {
			summary = &out.DryRunSummary
		}
		summary.Count++
		result, measured := byName[metric.Name]
		if !measured {
			complete = false // not started yet (an initialDelay)
			continue
		}
		phase, message := AssessMetric(metric, result, terminating)
		out.Metrics[metric.Name] = MetricAssessment{Phase: phase, Message: message}
		if !phase.Completed() {
			complete = false
			continue
		}
		count(summary, phase)
		if dryRun[metric.Name] {
			continue
		}
		if worst == "" || severity(phase) > severity(worst) {
			worst = phase
			out.Message = ""
			if message != "" {
				out.Message = fmt.Sprintf("Metric %q assessed %s due to %s", metric.Name, phase, message)
			}
		}
	}
	switch {
	case terminating && worst == "":
		out.Phase = rolloutsv1alpha1.AnalysisPhaseSuccessful
	case terminating:
		out.Phase = worst
	case !complete || worst == "":
		out.Phase, out.Message = rolloutsv1alpha1.AnalysisPhaseRunning, ""
	default:
		out.Phase = worst
	}
	if terminate && out.Message == "" {
		out.Message = "Run Terminated"
	}
	return out
}

func endsRun(p rolloutsv1alpha1.AnalysisPhase) bool {
	switch p {
	case rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseError, rolloutsv1alpha1.AnalysisPhaseInconclusive:
		return true
	}
	return false
}

func count(s *rolloutsv1alpha1.RunSummary, p rolloutsv1alpha1.AnalysisPhase) {
	switch p {
	case rolloutsv1alpha1.AnalysisPhaseFailed:
		s.Failed++
	case rolloutsv1alpha1.AnalysisPhaseError:
		s.Error++
	case rolloutsv1alpha1.AnalysisPhaseInconclusive:
		s.Inconclusive++
	default:
		s.Successful++
	}
}

// intValue reads an optional count of the API (an IntOrString that holds a
// number once arguments are resolved), or def when unset.
func intValue(v *intstr.IntOrString, def int32) int32 {
	if v == nil {
		return def
	}
	return int32(v.IntValue())
}
