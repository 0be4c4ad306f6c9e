package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// concludeCase is a plan carried out: the observation planned, what the
// executor did, and the decision Conclude makes of it.
type concludeCase struct {
	name    string
	reason  string
	o       Observation
	out     Outcome
	want    summary
	message string
	check   func(t *testing.T, d Decision)
}

func wantHistory(entries ...string) func(t *testing.T, d Decision) {
	return func(t *testing.T, d Decision) {
		t.Helper()
		var got []string
		for _, h := range d.Status.History {
			got = append(got, strings.TrimSpace(revName(h.Revision)+" "+h.Result+" "+h.Message))
		}
		if diff := cmp.Diff(entries, got); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
	}
}

func wantEventMessage(message string) func(t *testing.T, d Decision) {
	return func(t *testing.T, d Decision) {
		t.Helper()
		for _, e := range d.Events {
			if e.Message == message {
				return
			}
		}
		t.Errorf("events %+v; want one saying %q", d.Events, message)
	}
}

func TestConclude(t *testing.T) {
	preDone := hookStatus(pre, gitopsv1alpha1.SyncPhasePreSync, gitopsv1alpha1.OperationSucceeded)
	postRunning := hookStatus(post, gitopsv1alpha1.SyncPhasePostSync, gitopsv1alpha1.OperationRunning)
	inPostSync := func() *gitopsv1alpha1.OperationState {
		op := running(gitopsv1alpha1.SyncPhasePostSync, 1, preDone, postRunning)
		op.Changed, op.Pruned = 3, 1
		return op
	}
	synced := "old Succeeded 1 applied, 0 pruned"
	applyFailed := &Failure{Reason: "ApplyFailed", Message: "revision 222222222222: ConfigMap a: admission webhook denied"}
	cases := []concludeCase{
		{
			name:   "a one-plan sync",
			reason: "what the executor changed and pruned is the history entry and the event",
			o:      with(observe(newApp().prune().synced(revOld, cmA.Ref, cmOld.Ref), cmA.drifted(), cmC.missing()), stale(true, cmOld)),
			out:    Outcome{Changed: 2, Pruned: 1},
			want: summary{Actions: []string{"Apply ConfigMap/a ConfigMap/c", "Prune ConfigMap/old"}, Ready: "True Synced",
				Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true, Events: []string{"Normal Synced"}},
			check: all(wantHistory("new Succeeded 2 applied, 1 pruned", synced),
				wantEventMessage("revision 222222222222: 2 objects changed, 1 pruned")),
		},
		{
			name:   "an operation's last step",
			reason: "an operation's history entry counts every reconcile's changes, not only the last one's",
			o: observe(newApp().prune().synced(revOld, cmA.Ref).op(inPostSync()), cmA, pre.health(gitopsv1alpha1.HealthHealthy, ""),
				post.health(gitopsv1alpha1.HealthHealthy, "")),
			out: Outcome{Changed: 1},
			want: summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true,
				Events: []string{"Normal Synced"}},
			check: all(wantHistory("new Succeeded 4 applied, 1 pruned", synced),
				wantEventMessage("revision 222222222222: 4 objects changed, 1 pruned")),
		},
		{
			name:   "an operation's step",
			reason: "a step that does not finish the operation adds to its counts and records nothing",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref), dbDep.wave(-1).drifted(), cmA.drifted()),
			out:    Outcome{Changed: 1},
			want: summary{Actions: []string{"Apply Deployment/db"}, Ready: "False Progressing", Op: "Running/Sync wave -1",
				Sync: "Synced old", Requeue: readBack},
			check: all(wantHistory(synced), func(t *testing.T, d Decision) {
				if d.Status.OperationState.Changed != 1 {
					t.Errorf("the operation changed %d; want 1", d.Status.OperationState.Changed)
				}
			}),
		},
		{
			name:   "a sync that changed nothing, of the revision in the history",
			reason: "a spec change that changes nothing in the cluster is no new history entry and no event",
			o:      observe(newApp().automated().generation(2).synced(revNew, cmA.Ref).history(gitopsv1alpha1.SyncHistory{Revision: revNew, Result: "Succeeded"}), cmA),
			want:   summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
			check:  wantHistory("new Succeeded"),
		},
		{
			name:   "a new revision that changed nothing",
			reason: "a new revision is always in the history, even with nothing to change",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref), cmA),
			want: summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true,
				Events: []string{"Normal Synced"}},
			check: wantHistory("new Succeeded 0 applied, 0 pruned", synced),
		},
		{
			name:   "a self-heal",
			reason: "a self-heal is not an operation: its entry counts only what it put back, not the last operation's",
			o: observe(newApp().selfHeal().synced(revNew, cmA.Ref).op(&gitopsv1alpha1.OperationState{
				Phase: gitopsv1alpha1.OperationSucceeded, Revision: revNew, ObservedGeneration: 1, Changed: 7,
				StartedAt: ago(time.Hour)}), cmA.drifted()),
			out: Outcome{Changed: 1},
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded", Sync: "Synced new",
				Requeue: interval, Finishes: true, Events: []string{"Normal Synced"}},
			check: wantHistory("new Succeeded 1 applied, 0 pruned", "new Succeeded 1 applied, 0 pruned"),
		},
		{
			name:   "a prune that kept objects",
			reason: "objects a prune kept (not ours any more, or opted out) stay in the inventory",
			o:      with(observe(newApp().prune().synced(revOld, cmA.Ref, cmOld.Ref, cmB.Ref), cmA), stale(true, cmOld, cmB)),
			out:    Outcome{Pruned: 1, Kept: refs(cmB)},
			want: summary{Actions: []string{"Prune ConfigMap/old ConfigMap/b"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true, Events: []string{"Normal Synced"}},
			check: wantInventory(cmA, cmB),
		},
		{
			name:    "an apply failure during an operation",
			reason:  "an action failure turns the operation to its SyncFail phase, Ready False with the failure's reason, looked at again soon",
			o:       observe(newApp().automated().synced(revOld, cmA.Ref), dbDep.wave(-1).drifted(), cmA.drifted()),
			out:     Outcome{Failure: applyFailed},
			want:    summary{Ready: "False ApplyFailed", Op: "Running/SyncFail", Sync: "Synced old", Requeue: recheck / 5},
			message: "admission webhook denied",
		},
		{
			name:   "an apply failure in a one-plan operation",
			reason: "an operation that would have ended in this plan is an operation too: its SyncFail hooks run",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref), cmA.drifted(), onErr),
			out:    Outcome{Failure: applyFailed},
			want:   summary{Ready: "False ApplyFailed", Op: "Running/SyncFail", Sync: "Synced old", Requeue: recheck / 5},
		},
		{
			name:   "a prune failure during an operation",
			reason: "a failed prune aborts the operation before its PostSync hooks",
			o: with(observe(newApp().prune().synced(revOld, cmA.Ref, cmOld.Ref).op(running(gitopsv1alpha1.SyncPhaseSync, -1)),
				dbDep.wave(-1), cmA.drifted(), post), stale(true, cmOld)),
			out:     Outcome{Failure: &Failure{Reason: "PruneFailed", Message: "revision 222222222222: deleting ConfigMap old: forbidden"}},
			want:    summary{Ready: "False PruneFailed", Op: "Running/SyncFail", Sync: "Synced old", Requeue: recheck / 5},
			message: "forbidden",
		},
		{
			name:   "an apply failure outside an operation",
			reason: "a self-heal that fails fails like a fetch: counted, recorded, a warning, the backoff",
			o:      observe(newApp().selfHeal().synced(revNew, cmA.Ref), cmA.drifted()),
			out:    Outcome{Failure: applyFailed},
			want: summary{Ready: "False ApplyFailed", Op: "Failed (retry 1)", Sync: "Synced new",
				Requeue: 5 * time.Second, Events: []string{"Warning ApplyFailed"}},
			check: wantHistory("new Failed "+applyFailed.Message, "new Succeeded 1 applied, 0 pruned"),
		},
		{
			name: "the same apply failure again",
			reason: "a failed sync is retried as an operation once its backoff is spent; failing again it turns to its " +
				"SyncFail hooks, and the history gets nothing until it has failed",
			o: observe(newApp().selfHeal().synced(revNew, cmA.Ref).op(failedOp(revNew, 1, time.Minute)).
				history(gitopsv1alpha1.SyncHistory{Revision: revNew, Result: "Failed", Message: applyFailed.Message}), cmA.drifted()),
			out:   Outcome{Failure: applyFailed},
			want:  summary{Ready: "False ApplyFailed", Op: "Running/SyncFail", Sync: "Synced new", Requeue: time.Second},
			check: wantHistory("new Failed " + applyFailed.Message),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expectDecision(t, "Conclude", tc.reason, Conclude(tc.o, Plan(tc.o), tc.out), tc.want, tc.message, tc.check)
		})
	}
}
