package application

import (
	"fmt"
	"regexp"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// RevisionRequestAnnotation names the commit a sync request asks for,
// instead of the one targetRevision names: what kubectl sluice app
// rollback sets beside a new SyncRequestAnnotation, after turning
// automated sync off. It goes with the request it came with: once that
// request is handled, later syncs follow targetRevision again, and the
// Application shows OutOfSync against it until automated sync is turned
// back on or a person syncs.
const RevisionRequestAnnotation = gitopsv1alpha1.RevisionRequestAnnotation

var fullCommit = regexp.MustCompile(`^[0-9a-f]{40}$`)

// requestedRevision returns the commit the Application's pending sync
// request asks for, when it asks for one: a new value of
// SyncRequestAnnotation, not handled yet, with RevisionRequestAnnotation
// set. Only a full commit SHA is taken: a branch or tag would move, and a
// rollback names the commit it goes back to.
func requestedRevision(app *gitopsv1alpha1.Application) (commit string, asked bool, err error) {
	request := app.Annotations[SyncRequestAnnotation]
	commit = app.Annotations[RevisionRequestAnnotation]
	if commit == "" || request == "" || request == app.Status.LastHandledSyncRequest {
		return "", false, nil
	}
	if !fullCommit.MatchString(commit) {
		return "", true, fmt.Errorf("the annotation %s must name a full commit SHA (40 lowercase hex digits), not %q",
			RevisionRequestAnnotation, commit)
	}
	return commit, true, nil
}
