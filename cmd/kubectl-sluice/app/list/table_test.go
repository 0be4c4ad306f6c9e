package list

import (
	"bytes"
	"strings"
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/ptr"
)

// printed is the table as the table printer prints it, each line's cells
// split on runs of spaces.
func printed(t *testing.T, table *metav1.Table, wide bool) [][]string {
	t.Helper()
	var b bytes.Buffer
	if err := printers.NewTablePrinter(printers.PrintOptions{Wide: wide}).PrintObj(table, &b); err != nil {
		t.Fatal(err)
	}
	var lines [][]string
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		lines = append(lines, strings.Fields(line))
	}
	return lines
}

func TestRolloutTable(t *testing.T) {
	canary := rolloutsv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: rolloutsv1alpha1.RolloutSpec{Replicas: ptr.To[int32](4), Strategy: rolloutsv1alpha1.RolloutStrategy{
			Canary: &rolloutsv1alpha1.CanaryStrategy{Steps: []rolloutsv1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}, {Pause: &rolloutsv1alpha1.RolloutPause{}}}}}},
		Status: rolloutsv1alpha1.RolloutStatus{Phase: rolloutsv1alpha1.RolloutPhasePaused, Message: "CanaryPauseStep",
			CurrentStepIndex: ptr.To[int32](1), Replicas: 5, UpdatedReplicas: 2, AvailableReplicas: 4},
	}
	blueGreen := rolloutsv1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"},
		Spec:       rolloutsv1alpha1.RolloutSpec{Strategy: rolloutsv1alpha1.RolloutStrategy{BlueGreen: &rolloutsv1alpha1.BlueGreenStrategy{}}},
		Status:     rolloutsv1alpha1.RolloutStatus{Phase: rolloutsv1alpha1.RolloutPhaseHealthy, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1},
	}
	tests := []struct {
		name   string
		reason string
		wide   bool
		want   [][]string
	}{{
		name:   "narrow",
		reason: "the columns people and specs read: a canary's step as index/steps, a blue-green's as -",
		want: [][]string{
			{"NAMESPACE", "NAME", "STATUS", "STEP", "MESSAGE"},
			{"shop", "web", "Paused", "1/2", "CanaryPauseStep"},
			{"shop", "cart", "Healthy", "-"},
		},
	}, {
		name:   "wide",
		reason: "-o wide adds the replica counts before the message; replicas unset means 1",
		wide:   true,
		want: [][]string{
			{"NAMESPACE", "NAME", "STATUS", "STEP", "DESIRED", "CURRENT", "UPDATED", "AVAILABLE", "MESSAGE"},
			{"shop", "web", "Paused", "1/2", "4", "5", "2", "4", "CanaryPauseStep"},
			{"shop", "cart", "Healthy", "-", "1", "1", "1", "1"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := printed(t, RolloutTable([]rolloutsv1alpha1.Rollout{canary, blueGreen}), tt.wide)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tt.reason, diff)
			}
		})
	}
}

func TestExperimentTable(t *testing.T) {
	tests := []struct {
		name       string
		reason     string
		experiment rolloutsv1alpha1.Experiment
		want       []string
	}{{
		name:   "running",
		reason: "templates ready of all, analyses passed of all",
		experiment: rolloutsv1alpha1.Experiment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "trial"},
			Spec:       rolloutsv1alpha1.ExperimentSpec{Templates: []rolloutsv1alpha1.TemplateSpec{{Name: "baseline"}, {Name: "candidate"}}},
			Status: rolloutsv1alpha1.ExperimentStatus{Phase: rolloutsv1alpha1.AnalysisPhaseRunning, TemplateStatuses: []rolloutsv1alpha1.TemplateStatus{
				{Name: "baseline", Status: rolloutsv1alpha1.TemplateStatusRunning}, {Name: "candidate", Status: rolloutsv1alpha1.TemplateStatusRunning}}},
		},
		want: []string{"shop", "trial", "Running", "2/2", "0/0"},
	}, {
		name:       "new",
		reason:     "an experiment the controller has not seen yet shows - as its status",
		experiment: rolloutsv1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "fresh"}},
		want:       []string{"shop", "fresh", "-", "0/0", "0/0"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := printed(t, ExperimentTable([]rolloutsv1alpha1.Experiment{tt.experiment}), false)
			want := [][]string{{"NAMESPACE", "NAME", "STATUS", "TEMPLATES", "ANALYSES", "MESSAGE"}, tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tt.reason, diff)
			}
		})
	}
}
