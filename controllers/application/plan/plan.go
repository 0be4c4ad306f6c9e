// Package plan decides what the Application controller does next. It is
// pure: a function from what was observed (the Application, the revision to
// sync, the rendered objects and what the cluster holds of them, the sync a
// person asked for, the time) to a decision (apply these objects of this
// wave, run these hooks, prune those, the status, when to look again). No
// client, no context, no logger: the controller observes, this package
// plans, and the controller's executor carries the plan out.
//
// A sync is an operation that can span reconciles: PreSync hooks, then the
// Sync phase wave by wave, each wave healthy before the next, then pruning
// and PostSync hooks; a failure runs the SyncFail hooks. Where it stands
// lives in status.operationState, so a restarted manager resumes it.
package plan

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// Observation is everything the planner reads.
type Observation struct {
	App *gitopsv1alpha1.Application
	// Request is the sync a person asked for, when one is pending.
	Request *Request
	// Revision is the commit to sync: the running operation's, the one a
	// person asked for, or the one targetRevision names now.
	Revision string
	// Commit is what the Revision's commit records, when its checkout was
	// read in this reconcile; nil otherwise (the objects were not
	// rendered, or a failure came first).
	Commit *gitopsv1alpha1.CommitInfo
	// Failure, when set, is why there is no revision or no objects:
	// credentials, fetch, render, tenancy. Nothing else is observed.
	Failure *Failure
	// Unchanged says the objects were not rendered, because nothing but
	// their status changed since this revision was last synced at this
	// generation: Objects then come from status.resources, their health
	// refreshed, none drifted.
	Unchanged bool
	// Objects are the rendered objects, hooks included, with what the
	// cluster holds of each.
	Objects []Object
	// Stale are objects of the inventory that the revision no longer
	// renders, with whether they still exist.
	Stale []StaleObject
	// CreateNamespace, when set, is the destination namespace a sync
	// creates first (the CreateNamespace sync option).
	CreateNamespace string
	// Propagation is how a prune deletes (PrunePropagationPolicy).
	Propagation metav1.DeletionPropagation
	// Checks are the objects of spec.healthChecks, read at every
	// reconcile: not the Application's, their health counts in its own.
	Checks []Check
	Now    time.Time
}

// Check is an object of spec.healthChecks and its health as read: Missing
// when it does not exist.
type Check struct {
	Ref    gitopsv1alpha1.ObjectRef
	Health gitopsv1alpha1.HealthStatus
}

// Request is a sync a person asked for (kubectl sluice app sync or
// rollback), pending until status.lastHandledSyncRequest names it.
type Request struct {
	// Value is the request annotation's value.
	Value string
	// Prune prunes even when automated sync does not.
	Prune bool
}

// Failure is a reconcile that could not get as far as a plan, or an
// action that failed: Reason is the condition's reason.
type Failure struct {
	Reason  string
	Message string
	// LiveUnknown says the live objects cannot be read (their cluster does
	// not answer): their health is Unknown, not the last one seen.
	LiveUnknown bool
}

// Object is one rendered object as the planner sees it.
type Object struct {
	Ref gitopsv1alpha1.ObjectRef
	// Wave is its sync wave (argocd.argoproj.io/sync-wave, or a Helm
	// hook's weight), 0 without one.
	Wave int32
	// Hook, when set, makes the object a hook: created in its phases,
	// neither tracked in the inventory nor pruned.
	Hook *Hook
	// Exists says the cluster holds the object.
	Exists bool
	// Drifted says applying it would change it: missing, changed in Git
	// since it was applied, or changed in the cluster. Objects neither
	// changed nor touched since their last sync are not drifted.
	Drifted bool
	// Health is the live object's, when read (HealthKnown); a kind whose
	// health is not in a status is Healthy once it exists.
	Health      gitopsv1alpha1.HealthStatus
	HealthKnown bool
	// StatusHealth says its kind's health is read from its status, so
	// after a write it is not known until read back.
	StatusHealth bool
}

// StaleObject is an inventory entry the revision no longer renders.
type StaleObject struct {
	Ref    gitopsv1alpha1.ObjectRef
	Exists bool
}

// Decision is the plan: actions to carry out in order, then the status to
// write when they all succeed (Conclude folds in what they did).
type Decision struct {
	Actions []Action
	// Status is the complete new status.
	Status gitopsv1alpha1.ApplicationStatus
	// Events are the transitions a person cares about.
	Events []Event
	// RequeueAfter is when to look again.
	RequeueAfter time.Duration
	// Finishes, when set, says the actions end a sync, an operation or a
	// self-heal: its history entry and event count what changed (see
	// Conclude).
	Finishes bool
	// operationDone says the sync that finishes is an operation, whose
	// earlier steps' counts are in its state.
	operationDone bool
}

// ActionKind is what an action does.
type ActionKind string

// The actions the executor carries out.
const (
	// ApplyObjects applies Objects with server-side apply, definitions
	// (CRDs, namespaces) first.
	ApplyObjects ActionKind = "Apply"
	// CreateNamespace applies the destination namespace (the
	// CreateNamespace sync option); it is never pruned.
	CreateNamespace ActionKind = "CreateNamespace"
	// DeleteHooks deletes hooks and waits until they are gone, so the
	// next run's hook can take their names.
	DeleteHooks ActionKind = "DeleteHooks"
	// PruneObjects deletes the stale objects that still carry the
	// Application's labels and did not opt out; the ones kept stay in the
	// inventory.
	PruneObjects ActionKind = "Prune"
)

// Action is one step of a plan.
type Action struct {
	Kind    ActionKind
	Objects []gitopsv1alpha1.ObjectRef
	// Propagation is a prune's deletion propagation policy.
	Propagation metav1.DeletionPropagation
	// Namespace is CreateNamespace's namespace.
	Namespace string
}

// Event is something to tell a person: Warning when it needs them.
type Event struct {
	Warning bool
	Reason  string
	Message string
}

// Outcome is what the executor did: how many objects the actions changed
// and pruned, the inventory entries a prune kept, and the action that
// failed, if one did.
type Outcome struct {
	Changed, Pruned int
	Kept            []gitopsv1alpha1.ObjectRef
	Failure         *Failure
}
