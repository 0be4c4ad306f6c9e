package list

import (
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sluicehq/sluice/internal/plugin"
)

// wide marks a column -o wide adds.
const wide = 1

// RolloutTable is `list rollouts`' table: a Rollout a row, its step as
// index/steps of a canary ("-" otherwise), and with -o wide its replica
// counts.
func RolloutTable(rollouts []rolloutsv1alpha1.Rollout) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Namespace", Type: "string"},
		{Name: "Name", Type: "string", Format: "name"},
		{Name: "Status", Type: "string"},
		{Name: "Step", Type: "string"},
		{Name: "Desired", Type: "integer", Priority: wide},
		{Name: "Current", Type: "integer", Priority: wide},
		{Name: "Updated", Type: "integer", Priority: wide},
		{Name: "Available", Type: "integer", Priority: wide},
		{Name: "Message", Type: "string"},
	}}
	for i := range rollouts {
		ro := &rollouts[i]
		step := "-"
		if canary := ro.Spec.Strategy.Canary; canary != nil && ro.Status.CurrentStepIndex != nil {
			step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(canary.Steps))
		}
		desired := int32(1)
		if ro.Spec.Replicas != nil {
			desired = *ro.Spec.Replicas
		}
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells: []any{ro.Namespace, ro.Name, string(ro.Status.Phase), step,
				desired, ro.Status.Replicas, ro.Status.UpdatedReplicas, ro.Status.AvailableReplicas, ro.Status.Message},
			Object: runtime.RawExtension{Object: ro},
		})
	}
	return t
}

// ExperimentTable is `list experiments`' table: an Experiment a row, with
// its templates running and analyses passed.
func ExperimentTable(experiments []rolloutsv1alpha1.Experiment) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Namespace", Type: "string"},
		{Name: "Name", Type: "string", Format: "name"},
		{Name: "Status", Type: "string"},
		{Name: "Templates", Type: "string"},
		{Name: "Analyses", Type: "string"},
		{Name: "Message", Type: "string"},
	}}
	for i := range experiments {
		ex := &experiments[i]
		templates, analyses := plugin.ExperimentLine(ex)
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{ex.Namespace, ex.Name, orNone(string(ex.Status.Phase)), templates, analyses, ex.Status.Message},
			Object: runtime.RawExtension{Object: ex},
		})
	}
	return t
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
