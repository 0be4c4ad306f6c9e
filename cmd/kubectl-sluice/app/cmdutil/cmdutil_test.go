package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func TestDryRunFlag(t *testing.T) {
	tests := []struct {
		name    string
		reason  string
		args    []string
		want    DryRun
		wantErr bool
	}{
		{name: "absent", reason: "no flag sends the change", args: nil, want: DryRunNone},
		{name: "alone", reason: "--dry-run alone is client, as in kubectl", args: []string{"--dry-run"}, want: DryRunClient},
		{name: "client", args: []string{"--dry-run=client"}, want: DryRunClient},
		{name: "server", args: []string{"--dry-run=server"}, want: DryRunServer},
		{name: "none", args: []string{"--dry-run=none"}, want: DryRunNone},
		{name: "true", reason: "kubectl's old boolean: true was client", args: []string{"--dry-run=true"}, want: DryRunClient},
		{name: "false", reason: "kubectl's old boolean: false was none", args: []string{"--dry-run=false"}, want: DryRunNone},
		{name: "unknown", reason: "a value kubectl does not know is an error, not a guess", args: []string{"--dry-run=all"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := &cobra.Command{Use: "abort"}
			AddDryRunFlag(cmd)
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := GetDryRun(cmd)
			if (err != nil) != tt.wantErr {
				t.Fatalf("%s: error %v, want error %t", tt.reason, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("%s: got %v, want %v", tt.reason, got, tt.want)
			}
		})
	}
}

func TestDryRunSuffix(t *testing.T) {
	for dryRun, want := range map[DryRun]string{DryRunNone: "", DryRunClient: " (dry run)", DryRunServer: " (server dry run)"} {
		if got := dryRun.Suffix(); got != want {
			t.Errorf("%v: got %q, want kubectl's %q", dryRun, got, want)
		}
	}
}

// A client dry run prints what it would send and reaches no server: the
// Patcher has no client at all here.
func TestClientDryRunPrintsThePatch(t *testing.T) {
	var out bytes.Buffer
	ro := &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	p := Patcher{DryRun: DryRunClient, Out: &out}
	if err := p.Patch(context.Background(), "rollout", ro, true, client.RawPatch(types.MergePatchType, []byte(`{"status":{"abort":true}}`))); err != nil {
		t.Fatal(err)
	}
	want := "patch rollout 'web' status (application/merge-patch+json): {\"status\":{\"abort\":true}}\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

func TestSyncRequestOutcome(t *testing.T) {
	asked := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	request := NewSyncRequest(asked)
	history := func(result string, at time.Time) []gitopsv1alpha1.SyncHistory {
		return []gitopsv1alpha1.SyncHistory{{Result: result, DeployedAt: metav1.NewTime(at), Message: "apply failed"}}
	}
	tests := []struct {
		name     string
		reason   string
		status   gitopsv1alpha1.ApplicationStatus
		wantDone bool
		wantErr  bool
	}{{
		name:     "handled",
		reason:   "the Application recorded this request as handled",
		status:   gitopsv1alpha1.ApplicationStatus{LastHandledSyncRequest: request.Value},
		wantDone: true,
	}, {
		name:   "another handled",
		reason: "an earlier request's handling is not this one's",
		status: gitopsv1alpha1.ApplicationStatus{LastHandledSyncRequest: "2026-01-01T00:00:00Z"},
	}, {
		name:    "failed since",
		reason:  "a failed sync in the second it was asked or later is this request's failure",
		status:  gitopsv1alpha1.ApplicationStatus{History: history("Failed", asked.Truncate(time.Second))},
		wantErr: true,
	}, {
		name:   "failed before",
		reason: "a sync that failed before the request says nothing of it",
		status: gitopsv1alpha1.ApplicationStatus{History: history("Failed", asked.Add(-time.Minute))},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, err := request.Outcome(&gitopsv1alpha1.Application{Status: tt.status})
			if done != tt.wantDone || (err != nil) != tt.wantErr {
				t.Errorf("%s: got done %t, error %v; want done %t, error %t", tt.reason, done, err, tt.wantDone, tt.wantErr)
			}
		})
	}
}

func TestPrintFlagsValidate(t *testing.T) {
	for output, wantErr := range map[string]bool{"": false, "wide": false, "json": false, "yaml": false, "name": false, "table": true, "jsn": true} {
		f := NewPrintFlags()
		f.OutputFormat = &output
		if err := f.Validate(); (err != nil) != wantErr {
			t.Errorf("-o %q: error %v, want error %t", output, err, wantErr)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantOutput string
	}{
		{name: "success", err: nil, wantCode: 0},
		{name: "error", err: errors.New("boom"), wantCode: 1, wantOutput: "error: boom\n"},
		{name: "quiet", err: Quiet(errors.New("differs")), wantCode: 1},
		{name: "wrapped quiet", err: fmt.Errorf("diff: %w", Quiet(errors.New("differs"))), wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			if code := ExitCode(tt.err, &errOut); code != tt.wantCode || errOut.String() != tt.wantOutput {
				t.Errorf("got %d %q, want %d %q", code, errOut.String(), tt.wantCode, tt.wantOutput)
			}
		})
	}
}

func TestLastingWatchErrors(t *testing.T) {
	rollouts := schema.GroupResource{Group: "argoproj.io", Resource: "rollouts"}
	tests := []struct {
		name   string
		err    error
		want   bool
		reason string
	}{
		{name: "forbidden", err: apierrors.NewForbidden(rollouts, "", errors.New("no watch verb")), want: true,
			reason: "an account without the watch verb does not get it by asking again (it is looked at each second instead)"},
		{name: "no such kind", err: &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}}, want: true,
			reason: "the API server does not serve the kind"},
		{name: "not served", err: apierrors.NewNotFound(rollouts, ""), want: true, reason: "the CRD is not installed"},
		{name: "timeout", err: apierrors.NewTimeoutError("busy", 1), want: false, reason: "the API server may answer next time"},
		{name: "unavailable", err: apierrors.NewServiceUnavailable("restarting"), want: false, reason: "likewise"},
		{name: "connection", err: errors.New("connection refused"), want: false, reason: "likewise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lasting(tt.err); got != tt.want {
				t.Errorf("%s: got %t, want %t", tt.reason, got, tt.want)
			}
		})
	}
}
