package plugin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// annotationsOf decodes a merge patch's annotations; a null is nil.
func annotationsOf(t *testing.T, patch []byte) map[string]*string {
	t.Helper()
	var p struct {
		Metadata struct {
			Annotations map[string]*string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		t.Fatalf("%s: %v", patch, err)
	}
	return p.Metadata.Annotations
}

func TestSyncPatch(t *testing.T) {
	request := SyncRequest(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	value, pruning := "2026-01-02T03:04:05Z", "true"
	want := map[string]*string{
		gitopsv1alpha1.SyncRequestAnnotation:     &value,
		gitopsv1alpha1.PruneRequestAnnotation:    &pruning,
		gitopsv1alpha1.RevisionRequestAnnotation: nil, // a rollback's revision goes
	}
	if diff := cmp.Diff(want, annotationsOf(t, SyncPatch(request, true))); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

func TestRollbackPatch(t *testing.T) {
	request := SyncRequest(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	patch := RollbackPatch(request, "abc123", false)
	value, revision, pruning := "2026-01-02T03:04:05Z", "abc123", "false"
	want := map[string]*string{
		gitopsv1alpha1.SyncRequestAnnotation:     &value,
		gitopsv1alpha1.RevisionRequestAnnotation: &revision,
		gitopsv1alpha1.PruneRequestAnnotation:    &pruning,
	}
	if diff := cmp.Diff(want, annotationsOf(t, patch)); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
	if !strings.Contains(string(patch), `"spec":{"syncPolicy":{"automated":null}}`) {
		t.Errorf("the rollback's patch must turn automated sync off in the same write: %s", patch)
	}
}

func TestRefreshPatch(t *testing.T) {
	at := "2026-01-02T03:04:05Z"
	want := map[string]*string{gitopsv1alpha1.RefreshRequestAnnotation: &at}
	if diff := cmp.Diff(want, annotationsOf(t, RefreshPatch(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}
