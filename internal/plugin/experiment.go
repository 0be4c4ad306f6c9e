package plugin

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
)

// ExperimentView is what `get experiment` shows: an Experiment, the
// ReplicaSets and AnalysisRuns it owns.
type ExperimentView struct {
	Experiment   *rolloutsv1alpha1.Experiment
	ReplicaSets  []*appsv1.ReplicaSet
	AnalysisRuns []*rolloutsv1alpha1.AnalysisRun
}

// TerminateExperiment is `terminate experiment`: the merge patch Argo's
// plugin sends, spec.terminate set.
func TerminateExperiment() []byte { return Terminate() }

// RenderExperiment draws an Experiment: its phase and message, how long it
// runs, each template with its ReplicaSet's pods and Service, and each
// analysis with its run and the run's metric results.
func RenderExperiment(v ExperimentView) string {
	ex := v.Experiment
	var b strings.Builder
	field := fieldWriter(&b)
	heading(field, ex.Name, ex.Namespace, string(ex.Status.Phase), ex.Status.Message)
	for _, c := range ex.Status.Conditions {
		if c.Type == rolloutsv1alpha1.InvalidExperimentSpec {
			field("InvalidSpec", c.Message)
		}
	}
	field("Duration", experimentDuration(ex))
	if ex.Spec.Terminate {
		field("Terminate", "requested")
	}

	b.WriteString("\n")
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tKIND\tRESOURCE\tSTATUS\tINFO")
	for _, t := range ex.Spec.Templates {
		var ts rolloutsv1alpha1.TemplateStatus
		for _, s := range ex.Status.TemplateStatuses {
			if s.Name == t.Name {
				ts = s
			}
		}
		rs := templateReplicaSet(v.ReplicaSets, t.Name)
		resource, pods := "-", "-"
		if rs != nil {
			resource = rs.Name
			desired := int32(0)
			if rs.Spec.Replicas != nil {
				desired = *rs.Spec.Replicas
			}
			pods = "scaled down"
			if desired > 0 || rs.Status.Replicas > 0 {
				pods = fmt.Sprintf("%d/%d ready", rs.Status.ReadyReplicas, desired)
			}
		}
		image := ""
		if cs := t.Template.Spec.Containers; len(cs) > 0 {
			image = cs[0].Image
		}
		info := strings.TrimSpace(strings.Join([]string{pods, image, ts.Message}, " "))
		fmt.Fprintf(w, "%s\tReplicaSet\t%s\t%s\t%s\n", t.Name, resource, orDash(string(ts.Status)), info)
		if ts.ServiceName != "" {
			fmt.Fprintf(w, "%s\tService\t%s\t-\t\n", t.Name, ts.ServiceName)
		}
	}
	runs := map[string]*rolloutsv1alpha1.AnalysisRun{}
	for _, run := range v.AnalysisRuns {
		runs[run.Name] = run
	}
	for _, a := range ex.Spec.Analyses {
		var st rolloutsv1alpha1.ExperimentAnalysisRunStatus
		for _, s := range ex.Status.AnalysisRuns {
			if s.Name == a.Name {
				st = s
			}
		}
		var info []string
		if a.RequiredForCompletion {
			info = append(info, "required")
		}
		if run := runs[st.AnalysisRun]; run != nil {
			for _, m := range run.Status.MetricResults {
				info = append(info, fmt.Sprintf("%s: %s (%d ok, %d failed, %d errors)", m.Name, m.Phase, m.Successful, m.Failed, m.Error))
			}
		}
		if st.Message != "" {
			info = append(info, st.Message)
		}
		fmt.Fprintf(w, "%s\tAnalysisRun\t%s\t%s\t%s\n", a.Name, orDash(st.AnalysisRun), orDash(string(st.Phase)), strings.Join(info, "; "))
	}
	_ = w.Flush()
	return b.String()
}

// experimentDuration says how long an experiment runs: its duration and,
// once available, from when to when; or what ends one without a duration.
func experimentDuration(ex *rolloutsv1alpha1.Experiment) string {
	if ex.Spec.Duration == "" {
		for _, a := range ex.Spec.Analyses {
			if a.RequiredForCompletion {
				return "until the required analyses complete"
			}
		}
		return "until terminated"
	}
	text := string(ex.Spec.Duration)
	if at := ex.Status.AvailableAt; at != nil {
		text += " from " + at.UTC().Format(time.RFC3339)
		if d, err := ex.Spec.Duration.Duration(); err == nil {
			text += " to " + at.Add(d).UTC().Format(time.RFC3339)
		}
	}
	return text
}

// templateReplicaSet finds a template's ReplicaSet by Argo's annotation.
func templateReplicaSet(rss []*appsv1.ReplicaSet, template string) *appsv1.ReplicaSet {
	var found []*appsv1.ReplicaSet
	for _, rs := range rss {
		if rs.Annotations[rolloutsv1alpha1.ExperimentTemplateNameAnnotationKey] == template {
			found = append(found, rs)
		}
	}
	if len(found) == 0 {
		return nil
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	return found[0]
}

// ExperimentLine is one experiment's row in `list experiments`: its phase,
// how many templates run and analyses passed, and its message.
func ExperimentLine(ex *rolloutsv1alpha1.Experiment) (templates, analyses string) {
	running := 0
	for _, ts := range ex.Status.TemplateStatuses {
		if ts.Status == rolloutsv1alpha1.TemplateStatusRunning || ts.Status == rolloutsv1alpha1.TemplateStatusSuccessful {
			running++
		}
	}
	passed := 0
	for _, st := range ex.Status.AnalysisRuns {
		if st.Phase == rolloutsv1alpha1.AnalysisPhaseSuccessful {
			passed++
		}
	}
	return fmt.Sprintf("%d/%d", running, len(ex.Spec.Templates)), fmt.Sprintf("%d/%d", passed, len(ex.Spec.Analyses))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
