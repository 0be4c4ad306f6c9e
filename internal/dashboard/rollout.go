package dashboard

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/internal/owned"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/rolloutmeta"
)

// RolloutSummary is a Rollout's line in the list.
type RolloutSummary struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Phase     string `json:"phase"`
	Message   string `json:"message,omitempty"`
	Strategy  string `json:"strategy"`
	// Step is "3/5": the step being run, counted from 1, of all steps;
	// "-" without canary steps.
	Step string `json:"step"`
	// Weight is the canary's share of traffic; nil without canary weights.
	Weight   *int32   `json:"weight,omitempty"`
	Desired  int32    `json:"desired"`
	Updated  int32    `json:"updated"`
	Ready    int32    `json:"ready"`
	Images   []string `json:"images"`
	Paused   bool     `json:"paused"`
	Aborted  bool     `json:"aborted"`
	Revision string   `json:"revision,omitempty"`
}

// RolloutDetail is a Rollout's page.
type RolloutDetail struct {
	RolloutSummary
	Steps []Step `json:"steps,omitempty"`
	// CurrentStep is the index of the step being run; len(Steps) when
	// every step is done.
	CurrentStep int            `json:"currentStep"`
	BlueGreen   *BlueGreenView `json:"blueGreen,omitempty"`
	Revisions   []RevisionView `json:"revisions"`
	Routes      []RouteView    `json:"routes,omitempty"`
	Analysis    []RunView      `json:"analysisRuns,omitempty"`
	// Warnings say what could not be read, such as a kind the user may not
	// list; the rest of the page still shows.
	Warnings []string `json:"warnings,omitempty"`
}

// Step is one canary step, described as the Rollout's events describe it.
type Step struct {
	Text string `json:"text"`
}

// BlueGreenView is which revision each Service of a blue-green Rollout
// selects.
type BlueGreenView struct {
	ActiveService   string `json:"activeService"`
	ActiveRevision  string `json:"activeRevision,omitempty"`
	PreviewService  string `json:"previewService,omitempty"`
	PreviewRevision string `json:"previewRevision,omitempty"`
}

// RevisionView is one ReplicaSet of the Rollout and its pods.
type RevisionView struct {
	Revision string    `json:"revision"`
	Name     string    `json:"name"`
	Roles    []string  `json:"roles,omitempty"`
	Images   []string  `json:"images"`
	Desired  int32     `json:"desired"`
	Ready    int32     `json:"ready"`
	Pods     []PodView `json:"pods,omitempty"`
}

// PodView is a pod's name and state.
type PodView struct {
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Ready    bool   `json:"ready"`
	Restarts int32  `json:"restarts"`
}

// RouteView is a route the Rollout shifts traffic on, with the weight of
// each backend of each rule.
type RouteView struct {
	Kind      string     `json:"kind"`
	Namespace string     `json:"namespace"`
	Name      string     `json:"name"`
	Rules     []RuleView `json:"rules,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// RuleView is one rule of a route.
type RuleView struct {
	Backends []Backend `json:"backends"`
}

// Backend is a Service and its weight.
type Backend struct {
	Service string `json:"service"`
	Weight  int64  `json:"weight"`
}

// RunView is an AnalysisRun with its metrics' measurements.
type RunView struct {
	Name     string       `json:"name"`
	Phase    string       `json:"phase"`
	Message  string       `json:"message,omitempty"`
	Revision string       `json:"revision,omitempty"`
	Created  time.Time    `json:"created"`
	Metrics  []MetricView `json:"metrics"`
}

// MetricView is one metric of a run: its conditions and what it measured.
type MetricView struct {
	Name             string `json:"name"`
	Phase            string `json:"phase"`
	SuccessCondition string `json:"successCondition,omitempty"`
	FailureCondition string `json:"failureCondition,omitempty"`
	// Threshold is the number the success condition compares the first
	// result with, when it is that simple; the chart draws it as a line.
	Threshold    *float64          `json:"threshold,omitempty"`
	Successful   int32             `json:"successful"`
	Failed       int32             `json:"failed"`
	Errors       int32             `json:"errors"`
	Measurements []MeasurementView `json:"measurements"`
}

// MeasurementView is one measurement: when, what came back, and its
// verdict. Value is the first number of the result, when it has one.
type MeasurementView struct {
	At      time.Time `json:"at"`
	Phase   string    `json:"phase"`
	Raw     string    `json:"raw,omitempty"`
	Value   *float64  `json:"value,omitempty"`
	Message string    `json:"message,omitempty"`
}

// RolloutObjects is what a Rollout's page is drawn from: the Rollout and
// what it owns, as read with the user's rights.
type RolloutObjects struct {
	Rollout      *rolloutsv1alpha1.Rollout
	ReplicaSets  []appsv1.ReplicaSet
	Pods         []corev1.Pod
	AnalysisRuns []rolloutsv1alpha1.AnalysisRun
	// AnalysisRuns are the namespace's: the page shows the Rollout's own.
	// Routes are the routes the Rollout's traffic routing names, read as
	// they are; a route that could not be read is in RouteErrors.
	Routes      []*unstructured.Unstructured
	RouteErrors map[string]string
	Warnings    []string
}

// SummarizeRollout is a Rollout's line in the list.
func SummarizeRollout(ro *rolloutsv1alpha1.Rollout) RolloutSummary {
	s := RolloutSummary{
		Name: ro.Name, Namespace: ro.Namespace, Phase: orUnknown(string(ro.Status.Phase)), Message: ro.Status.Message,
		Step: "-", Desired: 1, Updated: ro.Status.UpdatedReplicas, Ready: ro.Status.ReadyReplicas,
		Paused: ro.Spec.Paused || len(ro.Status.PauseConditions) > 0, Aborted: ro.Status.Abort,
		Revision: ro.Annotations[rolloutmeta.RevisionAnnotation], Images: []string{},
	}
	if ro.Spec.Replicas != nil {
		s.Desired = *ro.Spec.Replicas
	}
	for _, c := range ro.Spec.Template.Spec.Containers {
		s.Images = append(s.Images, c.Image)
	}
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		s.Strategy = "BlueGreen"
	case ro.Spec.Strategy.Canary != nil:
		s.Strategy = "Canary"
		if n := len(ro.Spec.Strategy.Canary.Steps); n > 0 {
			s.Step = fmt.Sprintf("%d/%d", min(currentStep(ro)+1, n), n)
		}
		if w := ro.Status.Canary.Weights; w != nil {
			weight := w.Canary.Weight
			s.Weight = &weight
		} else {
			s.Weight = stepWeight(ro.Spec.Strategy.Canary.Steps, currentStep(ro))
		}
	}
	return s
}

// stepWeight is the weight the done steps set, for a canary that routes
// no traffic itself (its weight is its share of pods): the last setWeight
// before the step being run, 100 once every step is done, and nil before
// any setWeight or without steps.
func stepWeight(steps []rolloutsv1alpha1.CanaryStep, current int) *int32 {
	if len(steps) == 0 {
		return nil
	}
	if current >= len(steps) {
		return ptr.To[int32](100)
	}
	var weight *int32
	for _, step := range steps[:current] {
		if step.SetWeight != nil {
			weight = ptr.To(*step.SetWeight)
		}
	}
	return weight
}

// currentStep is the index of the step being run.
func currentStep(ro *rolloutsv1alpha1.Rollout) int {
	if ro.Status.CurrentStepIndex == nil {
		return 0
	}
	return int(*ro.Status.CurrentStepIndex)
}

// DescribeRollout is a Rollout's page: its steps, revisions and pods,
// routes and analysis.
func DescribeRollout(o RolloutObjects) RolloutDetail {
	ro := o.Rollout
	d := RolloutDetail{RolloutSummary: SummarizeRollout(ro), CurrentStep: currentStep(ro), Warnings: o.Warnings}
	if canary := ro.Spec.Strategy.Canary; canary != nil {
		for _, step := range canary.Steps {
			d.Steps = append(d.Steps, Step{Text: rolloutmeta.DescribeStep(step)})
		}
	}
	hashRevision := map[string]string{}
	for i := range o.ReplicaSets {
		rs := &o.ReplicaSets[i]
		hashRevision[rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]] = rs.Annotations[rolloutmeta.RevisionAnnotation]
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		d.BlueGreen = &BlueGreenView{
			ActiveService: bg.ActiveService, ActiveRevision: hashRevision[ro.Status.BlueGreen.ActiveSelector],
			PreviewService: bg.PreviewService, PreviewRevision: hashRevision[ro.Status.BlueGreen.PreviewSelector],
		}
	}
	d.Revisions = revisionsOf(ro, o.ReplicaSets, o.Pods)
	d.Routes = routesOf(o.Routes, o.RouteErrors)
	d.Analysis = runsOf(owned.ControlledBy(o.AnalysisRuns, ro))
	return d
}

// revisionsOf lists the Rollout's ReplicaSets, newest first, each with
// the pods it controls.
func revisionsOf(ro *rolloutsv1alpha1.Rollout, replicaSets []appsv1.ReplicaSet, pods []corev1.Pod) []RevisionView {
	revisions := []RevisionView{}
	for _, rs := range owned.ControlledBy(replicaSets, ro) {
		hash := rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
		r := RevisionView{Revision: rs.Annotations[rolloutmeta.RevisionAnnotation], Name: rs.Name, Roles: plugin.RolesOf(ro, hash),
			Images: []string{}, Ready: rs.Status.ReadyReplicas}
		if rs.Spec.Replicas != nil {
			r.Desired = *rs.Spec.Replicas
		}
		for _, c := range rs.Spec.Template.Spec.Containers {
			r.Images = append(r.Images, c.Image)
		}
		for _, pod := range owned.ControlledBy(pods, rs) {
			r.Pods = append(r.Pods, podView(pod))
		}
		revisions = append(revisions, r)
	}
	sort.SliceStable(revisions, func(i, j int) bool { return atoi(revisions[i].Revision) > atoi(revisions[j].Revision) })
	return revisions
}

func podView(pod *corev1.Pod) PodView {
	v := PodView{Name: pod.Name, Phase: string(pod.Status.Phase)}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			v.Ready = c.Status == corev1.ConditionTrue
		}
	}
	for _, c := range pod.Status.ContainerStatuses {
		v.Restarts += c.RestartCount
	}
	return v
}

// routesOf reads each route's backends and weights, rule by rule.
func routesOf(routes []*unstructured.Unstructured, errs map[string]string) []RouteView {
	var views []RouteView
	for _, route := range routes {
		v := RouteView{Kind: route.GetKind(), Namespace: route.GetNamespace(), Name: route.GetName()}
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		for _, rule := range rules {
			refs, _, _ := unstructured.NestedSlice(asMap(rule), "backendRefs")
			// A rule with no backends (a redirect) is drawn empty, not
			// left out: rules keep their places.
			r := RuleView{Backends: []Backend{}}
			for _, ref := range refs {
				m := asMap(ref)
				name, _, _ := unstructured.NestedString(m, "name")
				weight, found, _ := unstructured.NestedInt64(m, "weight")
				if !found {
					weight = 1 // the Gateway API's default
				}
				r.Backends = append(r.Backends, Backend{Service: name, Weight: weight})
			}
			v.Rules = append(v.Rules, r)
		}
		views = append(views, v)
	}
	names := make([]string, 0, len(errs))
	for name := range errs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		kind, key, _ := strings.Cut(name, " ")
		ns, n, _ := strings.Cut(key, "/")
		views = append(views, RouteView{Kind: kind, Namespace: ns, Name: n, Error: errs[name]})
	}
	return views
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// runsOf lists AnalysisRuns newest first, each metric with its
// measurements in the order they were taken.
func runsOf(runs []*rolloutsv1alpha1.AnalysisRun) []RunView {
	views := []RunView{}
	for _, run := range runs {
		v := RunView{Name: run.Name, Phase: orPending(string(run.Status.Phase)), Message: run.Status.Message,
			Revision: run.Annotations[rolloutmeta.RevisionAnnotation], Created: run.CreationTimestamp.Time, Metrics: []MetricView{}}
		conditions := map[string]rolloutsv1alpha1.Metric{}
		for _, m := range run.Spec.Metrics {
			conditions[m.Name] = m
		}
		for _, result := range run.Status.MetricResults {
			spec := conditions[result.Name]
			m := MetricView{Name: result.Name, Phase: orPending(string(result.Phase)),
				SuccessCondition: spec.SuccessCondition, FailureCondition: spec.FailureCondition,
				Threshold: ThresholdOf(spec.SuccessCondition), Successful: result.Successful, Failed: result.Failed,
				Errors: result.Error, Measurements: []MeasurementView{}}
			for _, measurement := range result.Measurements {
				m.Measurements = append(m.Measurements, measurementView(measurement))
			}
			v.Metrics = append(v.Metrics, m)
		}
		views = append(views, v)
	}
	sort.SliceStable(views, func(i, j int) bool { return views[i].Created.After(views[j].Created) })
	return views
}

func measurementView(m rolloutsv1alpha1.Measurement) MeasurementView {
	v := MeasurementView{Phase: string(m.Phase), Raw: m.Value, Value: FirstNumber(m.Value), Message: m.Message}
	switch {
	case m.FinishedAt != nil:
		v.At = m.FinishedAt.Time
	case m.StartedAt != nil:
		v.At = m.StartedAt.Time
	}
	return v
}

// number is a decimal or scientific number, as Prometheus and Argo write
// a result: "0.97", "[0.97]", "[1e+03 2]".
var number = regexp.MustCompile(`[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?`)

// FirstNumber is the first number in a measurement's value, which is a
// scalar or a vector's first element; nil when there is none (NaN, an
// empty vector).
func FirstNumber(value string) *float64 {
	match := number.FindString(value)
	if match == "" {
		return nil
	}
	f, err := strconv.ParseFloat(match, 64)
	if err != nil {
		return nil
	}
	return &f
}

// simpleCondition is a success condition that compares the result, or its
// first element, with a number: "result[0] >= 0.95", "result < 500".
var simpleCondition = regexp.MustCompile(`^\s*(?:result|asFloat\(result\))(?:\[0\])?\s*(>=|<=|>|<|==)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$`)

// ThresholdOf is the number a simple success condition compares with, for
// the chart's line; nil for any other condition, which the page shows as
// text.
func ThresholdOf(condition string) *float64 {
	m := simpleCondition.FindStringSubmatch(condition)
	if m == nil {
		return nil
	}
	f, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return nil
	}
	return &f
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

func orPending(s string) string {
	if s == "" {
		return "Pending"
	}
	return s
}

// timeOf is a metav1.Time as a time, the zero time for nil.
func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}
