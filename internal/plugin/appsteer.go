package plugin

import (
	"fmt"
	"time"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// SyncRequest is the value of a sync request: when it was asked, to the
// nanosecond, so two requests never share one.
func SyncRequest(at time.Time) string { return at.UTC().Format(time.RFC3339Nano) }

// SyncPatch is the merge patch that asks an Application to sync now,
// pruning with prune. The sync follows targetRevision: a rollback's
// revision request still there is dropped.
func SyncPatch(request string, prune bool) []byte {
	return fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q,%q:"%t",%q:null}}}`,
		gitopsv1alpha1.SyncRequestAnnotation, request, gitopsv1alpha1.PruneRequestAnnotation, prune,
		gitopsv1alpha1.RevisionRequestAnnotation)
}

// RollbackPatch is the merge patch that syncs an Application back to
// commit and turns its automated sync off, in one write: the request is
// never seen with automated sync still on, nor automated sync off without
// the request. Argo CD requires the same of a rollback.
func RollbackPatch(request, commit string, prune bool) []byte {
	return fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q,%q:%q,%q:"%t"}},"spec":{"syncPolicy":{"automated":null}}}`,
		gitopsv1alpha1.SyncRequestAnnotation, request, gitopsv1alpha1.RevisionRequestAnnotation, commit,
		gitopsv1alpha1.PruneRequestAnnotation, prune)
}

// RefreshPatch is the merge patch that asks an Application to look at Git
// and its objects now.
func RefreshPatch(at time.Time) []byte {
	return fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, gitopsv1alpha1.RefreshRequestAnnotation, at.UTC().Format(time.RFC3339Nano))
}
