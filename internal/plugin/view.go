package plugin

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/rollout/plan"
)

// RolloutView is what `get rollout` shows: a Rollout, the ReplicaSets,
// AnalysisRuns and Experiments it owns.
type RolloutView struct {
	Rollout      *rolloutsv1alpha1.Rollout
	ReplicaSets  []*appsv1.ReplicaSet
	AnalysisRuns []*rolloutsv1alpha1.AnalysisRun
	Experiments  []*rolloutsv1alpha1.Experiment
}

// RenderRollout draws a Rollout: its phase, its step out of all steps, the
// traffic weights its routes carry, its revisions with their pods, and its
// AnalysisRuns with each metric's results. No colours: it reads the same
// in a terminal, a pipe and a CI log.
func RenderRollout(v RolloutView) string {
	ro := v.Rollout
	var b strings.Builder
	field := fieldWriter(&b)
	heading(field, ro.Name, ro.Namespace, string(ro.Status.Phase), ro.Status.Message)
	if canary := ro.Spec.Strategy.Canary; canary != nil {
		field("Strategy", "Canary")
		if n := len(canary.Steps); n > 0 {
			index := int32(0)
			if ro.Status.CurrentStepIndex != nil {
				index = *ro.Status.CurrentStepIndex
			}
			step := "done"
			if int(index) < n {
				step = plan.DescribeStep(canary.Steps[index])
			}
			field("  Step", fmt.Sprintf("%d/%d %s (%s)", min(int(index)+1, n), n, bar(int(index), n), step))
		}
		if w := ro.Status.Canary.Weights; w != nil {
			verified := "not verified yet"
			if w.Verified != nil && *w.Verified {
				verified = "verified"
			}
			shares := fmt.Sprintf("canary %d / stable %d", w.Canary.Weight, w.Stable.Weight)
			// An experiment step's Services, while the routes carry them.
			for _, d := range w.Additional {
				shares += fmt.Sprintf(" / %s %d", d.ServiceName, d.Weight)
			}
			field("  Traffic", fmt.Sprintf("%s (%s)", shares, verified))
		}
	}
	revisionOf := func(hash string) string {
		for _, rs := range v.ReplicaSets {
			if hash != "" && rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == hash {
				return fmt.Sprintf("revision %d (%s)", revision(rs.Annotations), hash)
			}
		}
		return "none"
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		field("Strategy", "BlueGreen")
		field("  Active", bg.ActiveService+" -> "+revisionOf(ro.Status.BlueGreen.ActiveSelector))
		if bg.PreviewService != "" {
			field("  Preview", bg.PreviewService+" -> "+revisionOf(ro.Status.BlueGreen.PreviewSelector))
		}
	}
	replicas := int32(1)
	if ro.Spec.Replicas != nil {
		replicas = *ro.Spec.Replicas
	}
	field("Replicas", fmt.Sprintf("desired %d, current %d, updated %d, ready %d, available %d",
		replicas, ro.Status.Replicas, ro.Status.UpdatedReplicas, ro.Status.ReadyReplicas, ro.Status.AvailableReplicas))

	b.WriteString("\n")
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "REVISION\tKIND\tNAME\tSTATUS\tINFO")
	rss := append([]*appsv1.ReplicaSet(nil), v.ReplicaSets...)
	sort.Slice(rss, func(i, j int) bool { return revision(rss[i].Annotations) > revision(rss[j].Annotations) })
	for _, rs := range rss {
		hash := rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
		roles := RolesOf(ro, hash)
		state := "scaled down"
		desired := int32(0)
		if rs.Spec.Replicas != nil {
			desired = *rs.Spec.Replicas
		}
		if desired > 0 || rs.Status.Replicas > 0 {
			state = fmt.Sprintf("%d/%d ready", rs.Status.ReadyReplicas, desired)
		}
		image := ""
		if cs := rs.Spec.Template.Spec.Containers; len(cs) > 0 {
			image = cs[0].Image
		}
		info := strings.Join(append(roles, image), " ")
		fmt.Fprintf(w, "%d\tReplicaSet\t%s\t%s\t%s\n", revision(rs.Annotations), rs.Name, state, info)
	}
	runs := append([]*rolloutsv1alpha1.AnalysisRun(nil), v.AnalysisRuns...)
	sort.Slice(runs, func(i, j int) bool { return runs[i].Name > runs[j].Name })
	for _, run := range runs {
		phase := string(run.Status.Phase)
		if phase == "" {
			phase = "Pending"
		}
		var metrics []string
		for _, m := range run.Status.MetricResults {
			metrics = append(metrics, fmt.Sprintf("%s: %s (%d ok, %d failed, %d errors)", m.Name, m.Phase, m.Successful, m.Failed, m.Error))
		}
		fmt.Fprintf(w, "%d\tAnalysisRun\t%s\t%s\t%s\n", revision(run.Annotations), run.Name, phase, strings.Join(metrics, "; "))
	}
	exs := append([]*rolloutsv1alpha1.Experiment(nil), v.Experiments...)
	sort.Slice(exs, func(i, j int) bool { return exs[i].Name > exs[j].Name })
	for _, ex := range exs {
		templates, analyses := ExperimentLine(ex)
		info := fmt.Sprintf("templates %s running, analyses %s passed", templates, analyses)
		if ex.Status.Message != "" {
			info += "; " + ex.Status.Message
		}
		fmt.Fprintf(w, "%d\tExperiment\t%s\t%s\t%s\n", revision(ex.Annotations), ex.Name, orDash(string(ex.Status.Phase)), info)
	}
	_ = w.Flush()
	return b.String()
}

// RolesOf names what a revision is to its Rollout: stable and canary, or
// stable, active and preview.
func RolesOf(ro *rolloutsv1alpha1.Rollout, hash string) []string {
	var roles []string
	if hash == ro.Status.StableRS {
		roles = append(roles, "stable")
	}
	if ro.Spec.Strategy.BlueGreen == nil {
		if hash == ro.Status.CurrentPodHash && hash != ro.Status.StableRS {
			roles = append(roles, "canary")
		}
		return roles
	}
	if hash == ro.Status.BlueGreen.ActiveSelector {
		roles = append(roles, "active")
	}
	if hash == ro.Status.BlueGreen.PreviewSelector {
		roles = append(roles, "preview")
	}
	return roles
}

// bar is a progress bar of steps done out of n.
func bar(done, n int) string {
	const width = 10
	filled := min(done*width/max(n, 1), width)
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}

func revision(annotations map[string]string) int {
	n, _ := strconv.Atoi(annotations[plan.RevisionAnnotation])
	return n
}

// RenderApplication draws an Application: its sync, health and revision,
// its conditions, and every object it owns with its own sync and health.
func RenderApplication(app *gitopsv1alpha1.Application) string {
	var b strings.Builder
	field := fieldWriter(&b)
	field("Name", app.Namespace+"/"+app.Name)
	field("Source", fmt.Sprintf("%s %s %s", app.Spec.Source.RepoURL, app.Spec.Source.TargetRevision, app.Spec.Source.Path))
	field("Sync", fmt.Sprintf("%s at %s", orUnknown(string(app.Status.Sync.Status)), orUnknown(app.Status.Sync.Revision)))
	health := orUnknown(string(app.Status.Health.Status))
	if app.Status.Health.Message != "" {
		health += " (" + app.Status.Health.Message + ")"
	}
	field("Health", health)
	for _, c := range app.Status.Conditions {
		field("  "+c.Type, fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message))
	}
	b.WriteString("\n")
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAMESPACE\tNAME\tSYNC\tHEALTH")
	for _, r := range app.Status.Resources {
		health := ""
		if r.Health != nil {
			health = string(r.Health.Status)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Kind, r.Namespace, r.Name, r.Status, health)
	}
	_ = w.Flush()
	return b.String()
}

// fieldWriter returns a function that writes one "Name: value" line to b,
// the values of all lines in one column.
func fieldWriter(b *strings.Builder) func(name, value string) {
	return func(name, value string) { fmt.Fprintf(b, "%-15s %s\n", name+":", value) }
}

// heading writes the lines a Rollout's or an Experiment's view starts with:
// name, namespace, phase (or that no controller has looked at it yet) and
// the message, when there is one.
func heading(field func(name, value string), name, namespace, phase, message string) {
	field("Name", name)
	field("Namespace", namespace)
	if phase == "" {
		phase = "(not reconciled yet)"
	}
	field("Status", phase)
	if message != "" {
		field("Message", message)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
