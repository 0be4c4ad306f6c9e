package plan

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// Conclude folds what the executor did into a decision: the objects it
// changed and pruned, the inventory entries a prune kept, and, when an
// action failed, the failure instead of the status planned. A failure
// during an operation turns it to its SyncFail hooks, which the next
// reconcile runs; any other fails the attempt.
func Conclude(o Observation, d Decision, out Outcome) Decision {
	if f := out.Failure; f != nil {
		p := &planner{o: o, app: o.App.DeepCopy(), applied: map[gitopsv1alpha1.ObjectRef]bool{}}
		if op := d.Status.OperationState; op != nil && (op.Phase == gitopsv1alpha1.OperationRunning || d.operationDone) {
			// The operation (even one this plan would have ended) ran
			// into the failure: its SyncFail hooks run next.
			op = op.DeepCopy()
			op.Phase, op.FinishedAt = gitopsv1alpha1.OperationRunning, nil
			p.app.Status.OperationState = op
			p.abort(f.Reason, f.Message)
			p.d.RequeueAfter = WaitRecheck / 5
		} else {
			p.fail(f.Reason, f.Message)
		}
		p.d.Status = p.app.Status
		return p.d
	}
	s := &d.Status
	if len(out.Kept) > 0 {
		s.Inventory = mergeRefs(s.Inventory, out.Kept)
	}
	changed, pruned := out.Changed, out.Pruned
	if op := s.OperationState; op != nil && (op.Phase == gitopsv1alpha1.OperationRunning || d.operationDone) {
		// An operation's history entry counts all its steps.
		op.Changed += int32(out.Changed)
		op.Pruned += int32(out.Pruned)
		changed, pruned = int(op.Changed), int(op.Pruned)
	}
	if !d.Finishes {
		return d
	}
	app := &gitopsv1alpha1.Application{Status: *s}
	if changed > 0 || pruned > 0 || len(s.History) == 0 || s.History[0].Revision != s.Sync.Revision ||
		s.History[0].Result != "Succeeded" {
		RecordSync(app, gitopsv1alpha1.SyncHistory{Revision: s.Sync.Revision, DeployedAt: metav1.Time{Time: o.Now},
			Result: "Succeeded", Message: fmt.Sprintf("%d applied, %d pruned", changed, pruned)})
		d.Events = append(d.Events, Event{Reason: "Synced",
			Message: fmt.Sprintf("revision %s: %d objects changed, %d pruned", short(s.Sync.Revision), changed, pruned)})
	}
	d.Status = app.Status
	return d
}

func mergeRefs(a, b []gitopsv1alpha1.ObjectRef) []gitopsv1alpha1.ObjectRef {
	seen := map[string]bool{}
	var out []gitopsv1alpha1.ObjectRef
	for _, r := range append(append([]gitopsv1alpha1.ObjectRef{}, a...), b...) {
		if !seen[refKey(r)] {
			seen[refKey(r)] = true
			out = append(out, r)
		}
	}
	sortRefs(out)
	return out
}
