package analysis

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"

	"github.com/sluicehq/sluice/internal/fieldref"
)

// MaskedSecret replaces a secret argument's value wherever a run records
// what it did: measurement values, metadata and messages, and the query
// recorded as resolved.
const MaskedSecret = "*****"

// SecretLookup reads one key of a Secret in the run's namespace.
type SecretLookup func(name, key string) (string, error)

// Prepared is a run's metrics made ready to measure: arguments resolved and
// {{args.NAME}} substituted. Metrics are what providers measure with;
// Recorded are the same metrics with secret values masked, the form the
// run's status may show.
type Prepared struct {
	Metrics, Recorded []rolloutsv1alpha1.Metric
	secrets           []string
}

// Prepare resolves a run's arguments and substitutes them into its
// metrics. A value comes from the argument itself, from a Secret for
// valueFrom.secretKeyRef (through lookup), or from a field of the run for
// valueFrom.fieldRef (Argo leaves those unresolved; a Rollout resolves its
// own when it creates a run, so what is left names the run). Secret values
// go only into Metrics; Recorded shows them as MaskedSecret. An argument
// that cannot be resolved, or a placeholder with no value, is an error
// naming the argument: the run ends in Error with it.
func Prepare(run *rolloutsv1alpha1.AnalysisRun, lookup SecretLookup) (Prepared, error) {
	values, recorded := map[string]string{}, map[string]string{}
	var secrets []string
	for _, arg := range run.Spec.Args {
		switch {
		case arg.ValueFrom != nil && arg.ValueFrom.SecretKeyRef != nil:
			if lookup == nil {
				return Prepared{}, fmt.Errorf("argument %q: secrets cannot be read here", arg.Name)
			}
			ref := arg.ValueFrom.SecretKeyRef
			v, err := lookup(ref.Name, ref.Key)
			if err != nil {
				return Prepared{}, fmt.Errorf("argument %q: reading key %q of Secret %q: %w", arg.Name, ref.Key, ref.Name, err)
			}
			values[arg.Name], recorded[arg.Name] = v, MaskedSecret
			secrets = append(secrets, v)
		case arg.ValueFrom != nil && arg.ValueFrom.FieldRef != nil:
			v, err := fieldref.Value(run, arg.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return Prepared{}, fmt.Errorf("argument %q: %w", arg.Name, err)
			}
			values[arg.Name], recorded[arg.Name] = v, v
		case arg.Value != nil:
			values[arg.Name], recorded[arg.Name] = *arg.Value, *arg.Value
		}
	}
	out := Prepared{secrets: secrets}
	var err error
	if out.Metrics, err = Substitute(run.Spec.Metrics, values); err != nil {
		return Prepared{}, err
	}
	if out.Recorded, err = Substitute(run.Spec.Metrics, recorded); err != nil {
		return Prepared{}, err
	}
	return out, nil
}

// Mask hides secret values in text a run records. A secret is also hidden
// in the forms an error message may quote it in: escaped for a URL's query
// or path, or quoted as a Go or JSON string.
func (p Prepared) Mask(text string) string {
	for _, s := range p.secrets {
		if s == "" {
			continue
		}
		quoted := strconv.Quote(s)
		json, _ := json.Marshal(s)
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s),
			quoted[1 : len(quoted)-1], string(json[1 : len(json)-1])} {
			text = strings.ReplaceAll(text, form, MaskedSecret)
		}
	}
	return text
}

// MaskMeasurement makes a measurement fit to record: secrets masked in its
// value, message and metadata (a provider may echo them in its answer or
// its error), and a Prometheus metric's resolved query shown in its
// recorded form.
func (p Prepared) MaskMeasurement(metric string, m *rolloutsv1alpha1.Measurement) {
	m.Value = p.Mask(m.Value)
	m.Message = p.Mask(m.Message)
	for k, v := range m.Metadata {
		m.Metadata[k] = p.Mask(v)
	}
	for _, recorded := range p.Recorded {
		if recorded.Name == metric && recorded.Provider.Prometheus != nil {
			if m.Metadata == nil {
				m.Metadata = map[string]string{}
			}
			m.Metadata[ResolvedPrometheusQuery] = recorded.Provider.Prometheus.Query
		}
	}
}

// Retention is how many measurements a metric keeps: the limit of the
// first spec.measurementRetention rule whose metricName (a regular
// expression matching the whole name, as in Argo) matches it, or 0 for the
// default (Record's). A rule whose expression does not compile matches
// nothing.
func Retention(rules []rolloutsv1alpha1.MeasurementRetention, metric string) int {
	for _, rule := range rules {
		if re, err := regexp.Compile("^(?:" + rule.MetricName + ")$"); err == nil && re.MatchString(metric) {
			return int(rule.Limit)
		}
	}
	return 0
}

// Stopping reports whether a run takes no new measurements: it was asked
// to terminate, or a metric that decides (not a dry run) already ended
// Failed, Error or Inconclusive, which ends the run whatever the others
// say. Measurements in flight are then stopped, not resumed.
func Stopping(run *rolloutsv1alpha1.AnalysisRun, dryRun map[string]bool) bool {
	if run.Spec.Terminate {
		return true
	}
	for _, res := range run.Status.MetricResults {
		if !dryRun[res.Name] && endsRun(res.Phase) {
			return true
		}
	}
	return false
}

// ResultOf is a metric's result in the run's status, added (Running) when
// the metric has none yet.
func ResultOf(run *rolloutsv1alpha1.AnalysisRun, metric string, dryRun bool) *rolloutsv1alpha1.MetricResult {
	for i := range run.Status.MetricResults {
		if run.Status.MetricResults[i].Name == metric {
			return &run.Status.MetricResults[i]
		}
	}
	run.Status.MetricResults = append(run.Status.MetricResults, rolloutsv1alpha1.MetricResult{
		Name: metric, Phase: rolloutsv1alpha1.AnalysisPhaseRunning, DryRun: dryRun,
	})
	return &run.Status.MetricResults[len(run.Status.MetricResults)-1]
}

// ApplyAssessment writes an assessment into the run's status: each metric's phase
// and message (the assessment's, else its latest measurement's), and the
// run's phase, message and summaries.
func ApplyAssessment(run *rolloutsv1alpha1.AnalysisRun, assessment RunAssessment) {
	for i := range run.Status.MetricResults {
		res := &run.Status.MetricResults[i]
		if a, ok := assessment.Metrics[res.Name]; ok {
			res.Phase = a.Phase
			if a.Message != "" {
				res.Message = a.Message
			} else if n := len(res.Measurements); n > 0 {
				res.Message = res.Measurements[n-1].Message
			}
		}
	}
	run.Status.Phase, run.Status.Message = assessment.Phase, assessment.Message
	run.Status.RunSummary = assessment.Summary
	if assessment.DryRunSummary.Count > 0 {
		run.Status.DryRunSummary = &assessment.DryRunSummary
	}
}
