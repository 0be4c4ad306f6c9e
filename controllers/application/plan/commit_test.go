package plan

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// The commits the cases read, by the revisions they describe.
var (
	oldCommit = &gitopsv1alpha1.CommitInfo{Subject: "Add the web app", Author: "Ana", Date: ago(48 * time.Hour)}
	newCommit = &gitopsv1alpha1.CommitInfo{Subject: "Scale web to 3", Author: "Bo", Date: ago(time.Minute)}
)

// describedAs is an observation that read the revision's commit.
func describedAs(c *gitopsv1alpha1.CommitInfo) modifier {
	return func(o *Observation) { o.Commit = c.DeepCopy() }
}

// withCommit is a status whose revision's commit was recorded.
func (b appBuilder) withCommit(c *gitopsv1alpha1.CommitInfo) appBuilder {
	b.app.Status.Sync.Commit = c.DeepCopy()
	return b
}

// status.sync.commit always describes status.sync.revision: set with it
// when the commit was read, kept while the revision stays, dropped when the
// revision moves to a commit that was not read.
func TestPlanCommitInfo(t *testing.T) {
	tests := []struct {
		name, reason string
		o            Observation
		want         *gitopsv1alpha1.CommitInfo
		wantRevision string
	}{
		{
			name:   "a sync that finishes records its commit",
			reason: "the revision and what its commit says are set together",
			o: with(observe(newApp().automated().synced(revOld, cmA.Ref).withCommit(oldCommit), cmA.drifted()),
				describedAs(newCommit)),
			want: newCommit, wantRevision: revNew,
		},
		{
			name:   "a sync whose commit was not read drops the old commit",
			reason: "the old revision's commit must not be shown as the new revision's",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref).withCommit(oldCommit), cmA.drifted()),
			want:   nil, wantRevision: revNew,
		},
		{
			name:   "a sync under way keeps the synced revision's commit",
			reason: "status.sync.revision moves only when the sync succeeds, and its commit with it",
			o: with(observe(newApp().automated().synced(revOld, cmA.Ref).withCommit(oldCommit), cmA.drifted(), pre),
				describedAs(newCommit)),
			want: oldCommit, wantRevision: revOld,
		},
		{
			name:   "unchanged: the recorded commit stays",
			reason: "a reconcile that renders nothing reads no commit, and the revision is the same",
			o: with(observe(newApp().automated().synced(revNew, cmA.Ref).withCommit(newCommit), cmA.exists()),
				unchanged()),
			want: newCommit, wantRevision: revNew,
		},
		{
			name:   "unchanged, an older status without a commit",
			reason: "nothing is made up for a commit that was not read",
			o:      with(observe(newApp().automated().synced(revNew, cmA.Ref), cmA.exists()), unchanged()),
			want:   nil, wantRevision: revNew,
		},
		{
			name:   "in place, an older status without a commit",
			reason: "a render of the revision in place fills in its commit, once",
			o: with(observe(newApp().automated().synced(revNew, cmA.Ref), cmA.exists()),
				describedAs(newCommit)),
			want: newCommit, wantRevision: revNew,
		},
		{
			name:   "in place after a failed sync of a newer commit",
			reason: "the newer commit read is not the one in place",
			o: with(observe(newApp().automated().retryLimit(0).synced(revOld, cmA.Ref).withCommit(oldCommit).
				op(failedOp(revNew, 1, time.Minute)), cmA.exists()), describedAs(newCommit)),
			want: oldCommit, wantRevision: revOld,
		},
		{
			name:   "manual: the compared revision's commit",
			reason: "a manual Application compares against the new revision and shows its commit",
			o: with(observe(newApp().synced(revOld, cmA.Ref).withCommit(oldCommit), cmA.drifted()),
				describedAs(newCommit)),
			want: newCommit, wantRevision: revNew,
		},
		{
			name:   "manual: a new revision whose commit was not read",
			reason: "the old commit goes with the old revision",
			o:      observe(newApp().synced(revOld, cmA.Ref).withCommit(oldCommit), cmA.drifted()),
			want:   nil, wantRevision: revNew,
		},
		{
			name:   "a failure leaves both as they were",
			reason: "no revision was compared",
			o: with(observe(newApp().automated().synced(revOld, cmA.Ref).withCommit(oldCommit)),
				failure("FetchFailed", "connection refused")),
			want: oldCommit, wantRevision: revOld,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Plan(tt.o)
			if got := d.Status.Sync.Revision; got != tt.wantRevision {
				t.Fatalf("%s\nstatus.sync.revision = %s, want %s", tt.reason, revName(got), revName(tt.wantRevision))
			}
			if diff := cmp.Diff(tt.want, d.Status.Sync.Commit); diff != "" {
				t.Errorf("%s\nstatus.sync.commit (-want +got):\n%s", tt.reason, diff)
			}
		})
	}
}
