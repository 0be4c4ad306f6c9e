package application

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/cluster"
)

// ListTable is `app list`'s table: an Application a row, with where
// it applies to, its sync and health, and the revision it synced.
func ListTable(apps []gitopsv1alpha1.Application) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name"},
		{Name: "Destination", Type: "string"},
		{Name: "Sync", Type: "string"},
		{Name: "Health", Type: "string"},
		{Name: "Revision", Type: "string"},
	}}
	for i := range apps {
		a := &apps[i]
		d := a.Spec.Destination
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells: []any{a.Name, cluster.Describe(d.Server, d.Name, d.Namespace),
				string(a.Status.Sync.Status), string(a.Status.Health.Status), a.Status.Sync.Revision},
			Object: runtime.RawExtension{Object: a},
		})
	}
	return t
}

// HistoryTable is `app history`'s table: a sync a row, newest first. ID
// is what app rollback takes, as argocd app rollback takes the IDs of
// argocd app history.
func HistoryTable(history []gitopsv1alpha1.SyncHistory) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "ID", Type: "integer"},
		{Name: "Deployed", Type: "string"},
		{Name: "Revision", Type: "string"},
		{Name: "Result", Type: "string"},
		{Name: "Message", Type: "string"},
	}}
	for i, h := range history {
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells: []any{i, h.DeployedAt.UTC().Format(time.RFC3339), h.Revision, h.Result, h.Message},
		})
	}
	return t
}
