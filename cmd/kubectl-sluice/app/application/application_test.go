package application

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
)

func TestValidateSync(t *testing.T) {
	tests := []struct {
		name    string
		reason  string
		appName string
		timeout time.Duration
		wait    bool
		dryRun  cmdutil.DryRun
		wantErr error
	}{
		{name: "sync", appName: "shop", timeout: time.Minute},
		{name: "wait", appName: "shop", timeout: time.Minute, wait: true},
		{name: "dry run", reason: "a dry run of a sync is accepted, with or without prune", appName: "shop", timeout: time.Minute, dryRun: cmdutil.DryRunServer},
		{name: "no name", appName: "", timeout: time.Minute, wantErr: errNoName},
		{name: "wait on a dry run", reason: "nothing would come to wait for", appName: "shop", timeout: time.Minute,
			wait: true, dryRun: cmdutil.DryRunClient, wantErr: errWaitOnDryRun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateSync(tt.appName, tt.timeout, tt.wait, tt.dryRun)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: got %v, want %v", tt.reason, err, tt.wantErr)
			}
		})
	}
	if err := validateSync("shop", 0, false, cmdutil.DryRunNone); err == nil {
		t.Error("a timeout of 0 would give up before asking: want an error")
	}
}

func printed(t *testing.T, table *metav1.Table) []string {
	t.Helper()
	var b bytes.Buffer
	if err := printers.NewTablePrinter(printers.PrintOptions{}).PrintObj(table, &b); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	return lines
}

func TestListTable(t *testing.T) {
	app := gitopsv1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "shop"},
		Spec:       gitopsv1alpha1.ApplicationSpec{Destination: gitopsv1alpha1.ApplicationDestination{Namespace: "shop"}},
		Status: gitopsv1alpha1.ApplicationStatus{
			Sync:   gitopsv1alpha1.SyncStatus{Status: "Synced", Revision: "abc123"},
			Health: gitopsv1alpha1.HealthStatus{Status: "Healthy"},
		},
	}
	got := printed(t, ListTable([]gitopsv1alpha1.Application{app}))
	if len(got) != 2 || got[0] != "NAME DESTINATION SYNC HEALTH REVISION" ||
		!strings.HasPrefix(got[1], "shop ") || !strings.HasSuffix(got[1], " Synced Healthy abc123") {
		t.Errorf("got %q", got)
	}
}

func TestHistoryTable(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	got := printed(t, HistoryTable([]gitopsv1alpha1.SyncHistory{
		{Revision: "bbb", DeployedAt: at, Result: "Failed", Message: "apply failed"},
		{Revision: "aaa", DeployedAt: at, Result: "Succeeded"},
	}))
	want := []string{
		"ID DEPLOYED REVISION RESULT MESSAGE",
		"0 2026-01-02T03:04:05Z bbb Failed apply failed",
		"1 2026-01-02T03:04:05Z aaa Succeeded",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the IDs are what app rollback takes, newest first; -want +got:\n%s", diff)
	}
}
