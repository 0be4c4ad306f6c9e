package gitops

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// Condition types, kstatus-compliant: Ready always; Reconciling and Stalled
// only while they are true.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// historyLimit is how many syncs an Application's history keeps.
const historyLimit = 10

// SetReady records the outcome of a reconcile on an Application's
// conditions. Stalled is set when retrying will not help until something
// changes (a retry limit reached), Reconciling never outlives the
// reconcile that set it.
func SetReady(app *gitopsv1alpha1.Application, ready bool, reason, message string, stalled bool) {
	status := metav1.ConditionFalse
	if ready {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{
		Type: ConditionReady, Status: status, Reason: reason, Message: message, ObservedGeneration: app.Generation,
	})
	meta.RemoveStatusCondition(&app.Status.Conditions, ConditionReconciling)
	if stalled {
		meta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{
			Type: ConditionStalled, Status: metav1.ConditionTrue, Reason: reason, Message: message, ObservedGeneration: app.Generation,
		})
	} else {
		meta.RemoveStatusCondition(&app.Status.Conditions, ConditionStalled)
	}
}

// SetReconciling marks an Application as still converging (kstatus'
// Reconciling), until the next SetReady clears it.
func SetReconciling(app *gitopsv1alpha1.Application, reason, message string) {
	meta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{
		Type: ConditionReconciling, Status: metav1.ConditionTrue, Reason: reason, Message: message, ObservedGeneration: app.Generation,
	})
}

// RecordSync adds a sync to the history, newest first, keeping the last
// ten. A failure that repeats the newest entry is not added again, so
// retries do not push real syncs out; it reports whether it added one.
func RecordSync(app *gitopsv1alpha1.Application, entry gitopsv1alpha1.SyncHistory) bool {
	h := app.Status.History
	if len(h) > 0 && entry.Result == "Failed" && h[0].Result == "Failed" && h[0].Revision == entry.Revision && h[0].Message == entry.Message {
		return false
	}
	h = append([]gitopsv1alpha1.SyncHistory{entry}, h...)
	if len(h) > historyLimit {
		h = h[:historyLimit]
	}
	app.Status.History = h
	return true
}

// AggregateHealth is the health of an Application: its least healthy
// object's, Healthy when it has none.
func AggregateHealth(resources []gitopsv1alpha1.ResourceStatus) gitopsv1alpha1.HealthStatus {
	out := gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthHealthy}
	for _, r := range resources {
		if r.Health != nil && Worse(r.Health.Status, out.Status) {
			out = *r.Health
			if out.Message == "" {
				out.Message = r.Kind + " " + r.Name + " is " + string(r.Health.Status)
			} else {
				out.Message = r.Kind + " " + r.Name + ": " + out.Message
			}
		}
	}
	return out
}

// Settled reports whether an Application that waits for its objects
// (spec.wait) has waited enough: its objects are Healthy, or Suspended,
// waiting for a person (a Rollout at a pause step or awaiting promotion,
// an Inconclusive analysis, a suspended Job). Nothing changes a
// Suspended object by itself, so waiting on it would leave the
// Application Progressing until someone acts, as if its sync were stuck.
func Settled(health gitopsv1alpha1.HealthStatus) bool {
	return health.Status == gitopsv1alpha1.HealthHealthy || health.Status == gitopsv1alpha1.HealthSuspended
}

// AppliedMessage is the Ready message of a sync that applied revision
// (abbreviated): with the health's message when the objects are
// Suspended, which says what they wait for.
func AppliedMessage(revision string, health gitopsv1alpha1.HealthStatus) string {
	message := "revision " + revision + " applied"
	if health.Status == gitopsv1alpha1.HealthSuspended && health.Message != "" {
		message += "; suspended: " + health.Message
	}
	return message
}
