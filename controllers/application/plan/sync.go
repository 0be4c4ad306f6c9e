package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// Timing defaults.
const (
	// DefaultInterval is how often the remote is asked for a new revision
	// when spec.interval is unset.
	DefaultInterval = 3 * time.Minute
	// ReadBack is how soon the health of objects just applied is read.
	ReadBack = time.Second
	// WaitRecheck is how often an Application waiting for health looks at
	// its objects, in case no watch event wakes it.
	WaitRecheck = 5 * time.Second
	// DefaultTimeout bounds a sync operation, and the wait for health
	// after it, when spec.timeout is unset.
	DefaultTimeout = 5 * time.Minute
	// MaxTimeout bounds spec.timeout, which a tenant sets: one fetch,
	// render and apply holds one of the controller's workers that long.
	MaxTimeout = 30 * time.Minute
)

// Interval is how often an Application asks its remote for a new revision.
func Interval(app *gitopsv1alpha1.Application) time.Duration {
	if app.Spec.Interval.Duration > 0 {
		return app.Spec.Interval.Duration
	}
	return DefaultInterval
}

// Timeout bounds one sync operation of app, its hooks and waves included,
// and the wait for health that follows it.
func Timeout(app *gitopsv1alpha1.Application) time.Duration {
	if t := app.Spec.Timeout; t != nil && t.Duration > 0 {
		return min(t.Duration, MaxTimeout)
	}
	return DefaultTimeout
}

// Automated reports whether app syncs new revisions by itself.
func Automated(app *gitopsv1alpha1.Application) *gitopsv1alpha1.AutomatedSyncPolicy {
	if app.Spec.SyncPolicy == nil {
		return nil
	}
	return app.Spec.SyncPolicy.Automated
}

// WillSync reports whether a sync operation of revision starts or goes
// on: the observer then leaves to the apply what a dry run would tell.
func WillSync(app *gitopsv1alpha1.Application, revision string, request *Request) bool {
	if op := app.Status.OperationState; op != nil && op.Phase == gitopsv1alpha1.OperationRunning {
		return true
	}
	return request != nil || Automated(app) != nil && !Synced(app, revision)
}

// Synced reports whether revision was synced at the Application's
// generation, and no sync of it failed since.
func Synced(app *gitopsv1alpha1.Application, revision string) bool {
	s := app.Status
	if op := s.OperationState; op != nil && op.Phase != gitopsv1alpha1.OperationSucceeded &&
		op.Revision == revision && op.ObservedGeneration == app.Generation {
		return false
	}
	return LastSynced(app) == revision && s.ObservedGeneration == app.Generation && s.LastSyncedAt != nil
}

// LastSynced is the revision the last successful sync applied. It is not
// status.sync.revision, which is the revision compared with: without
// automated sync, the one Git names now, synced or not (a rollback shows
// OutOfSync against it).
func LastSynced(app *gitopsv1alpha1.Application) string {
	for _, h := range app.Status.History {
		if h.Result == "Succeeded" {
			return h.Revision
		}
	}
	return ""
}

// Plan decides the next step for an Application.
func Plan(o Observation) Decision {
	p := &planner{o: o, app: o.App.DeepCopy(), applied: map[gitopsv1alpha1.ObjectRef]bool{}}
	p.plan()
	if p.d.RequeueAfter == 0 && !o.App.Spec.Suspend {
		p.d.RequeueAfter = Interval(p.app) // the next poll of Git
	}
	if p.readBack {
		p.d.RequeueAfter = min(p.d.RequeueAfter, ReadBack)
	}
	p.d.Status = p.app.Status
	return p.d
}

type planner struct {
	o   Observation
	app *gitopsv1alpha1.Application
	d   Decision
	// applied holds the objects this plan applies: their health is not
	// known until read back, which readBack asks for.
	applied  map[gitopsv1alpha1.ObjectRef]bool
	readBack bool
}

func (p *planner) op() *gitopsv1alpha1.OperationState { return p.app.Status.OperationState }

func (p *planner) plan() {
	switch {
	case p.app.Spec.Suspend:
		SetReady(p.app, false, "Suspended", "syncing is suspended; the last applied state stays in place", false)
		return
	case p.o.Failure != nil:
		p.fail(p.o.Failure.Reason, p.o.Failure.Message)
		if p.o.Failure.LiveUnknown {
			p.app.Status.Health = gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthUnknown, Message: p.o.Failure.Message}
		}
		return
	case p.o.Unchanged:
		p.settle()
		return
	}
	if len(p.resources()) == 0 && !p.allowEmpty() {
		p.fail("EmptyRender", fmt.Sprintf("revision %s renders no objects; nothing is applied or pruned "+
			"(set syncPolicy.automated.allowEmpty to allow it)", short(p.o.Revision)))
		return
	}
	if op := p.op(); op == nil || op.Phase != gitopsv1alpha1.OperationRunning {
		start, wait := p.shouldStart()
		if !start {
			if wait > 0 {
				p.d.RequeueAfter = wait // a failed sync's retry is not due yet
				return
			}
			p.steady()
			return
		}
		p.start()
	}
	p.operate()
}

func (p *planner) allowEmpty() bool {
	a := Automated(p.app)
	return a != nil && a.AllowEmpty
}

// resources are the rendered objects that are not hooks.
func (p *planner) resources() []Object {
	var out []Object
	for _, o := range p.o.Objects {
		if o.Hook == nil {
			out = append(out, o)
		}
	}
	return out
}

// shouldStart says whether a sync operation starts now, or how long until
// a failed one's retry is due (zero when none is).
func (p *planner) shouldStart() (bool, time.Duration) {
	op := p.op()
	failed := op != nil && op.Phase == gitopsv1alpha1.OperationFailed && op.FinishedAt != nil
	switch {
	case p.o.Request != nil:
		if !failed || op.SyncRequest != p.o.Request.Value {
			return true, 0 // a new request is carried out at once
		}
	case Automated(p.app) == nil || Synced(p.app, p.o.Revision):
		return false, 0
	case !failed || op.Revision != p.o.Revision || op.ObservedGeneration != p.app.Generation:
		return true, 0 // a new revision or spec is tried at once
	}
	// The same sync failed before: retried after its backoff.
	delay, retrying := RetryDelay(p.retryPolicy(), int(op.RetryCount))
	if !retrying {
		return false, Interval(p.app) // the limit is spent: Stalled until something changes
	}
	if due := op.FinishedAt.Add(delay); p.o.Now.Before(due) {
		return false, due.Sub(p.o.Now)
	}
	return true, 0
}

func (p *planner) retryPolicy() *gitopsv1alpha1.RetryStrategy {
	if p.app.Spec.SyncPolicy == nil {
		return nil
	}
	return p.app.Spec.SyncPolicy.Retry
}

// start begins a sync operation of the observed revision.
func (p *planner) start() {
	op := &gitopsv1alpha1.OperationState{
		Phase: gitopsv1alpha1.OperationRunning, Revision: p.o.Revision, ObservedGeneration: p.app.Generation,
		StartedAt: metav1.Time{Time: p.o.Now},
	}
	if previous := p.op(); previous != nil && previous.Phase == gitopsv1alpha1.OperationFailed {
		op.RetryCount = previous.RetryCount
	}
	if a := Automated(p.app); a != nil {
		op.Prune = a.Prune
	}
	if r := p.o.Request; r != nil {
		op.SyncRequest = r.Value
		op.Prune = op.Prune || r.Prune
	}
	p.app.Status.OperationState = op
	if p.o.CreateNamespace != "" {
		p.do(Action{Kind: CreateNamespace, Namespace: p.o.CreateNamespace})
	}
}

func (p *planner) do(a Action) { p.d.Actions = append(p.d.Actions, a) }

// operate takes the running operation as far as it can go now: through
// its phases while nothing needs waiting for.
func (p *planner) operate() {
	op := p.op()
	if timeout := Timeout(p.app); op.SyncPhase != gitopsv1alpha1.SyncPhaseSyncFail && p.o.Now.Sub(op.StartedAt.Time) > timeout {
		p.abort("SyncTimedOut", fmt.Sprintf("revision %s: not done after %s: %s", short(op.Revision), timeout, op.Message))
	}
	// Each step either waits, and the phase stays, or hands over to the
	// next phase; six steps take any operation to its end.
	entering := false
	for range 6 {
		phase := op.SyncPhase
		switch phase {
		case "":
			op.SyncPhase = gitopsv1alpha1.SyncPhasePreSync
		case gitopsv1alpha1.SyncPhasePreSync:
			if p.hooksDone(phase, p.hooks(phase, nil)) {
				op.SyncPhase, entering = gitopsv1alpha1.SyncPhaseSync, true
			}
		case gitopsv1alpha1.SyncPhaseSync:
			if p.syncWaves(entering) {
				p.finishSync()
			}
		case gitopsv1alpha1.SyncPhasePostSync:
			if p.hooksDone(phase, p.hooks(phase, nil)) {
				p.succeed()
			}
		case gitopsv1alpha1.SyncPhaseSyncFail:
			if p.hooksDone(phase, p.hooks(phase, nil)) {
				p.fail(p.failureReason(), op.Message)
			}
		}
		if op.SyncPhase == phase || op.Phase != gitopsv1alpha1.OperationRunning {
			return
		}
	}
}

// finishSync prunes, once every wave is applied, and moves on to PostSync.
func (p *planner) finishSync() {
	op := p.op()
	if op.Prune {
		var refs []gitopsv1alpha1.ObjectRef
		for _, s := range p.o.Stale {
			if s.Exists {
				refs = append(refs, s.Ref)
			}
		}
		if len(refs) > 0 {
			p.do(Action{Kind: PruneObjects, Objects: refs, Propagation: p.o.Propagation})
		}
	}
	op.SyncPhase = gitopsv1alpha1.SyncPhasePostSync
}

// abort ends the running operation: its SyncFail hooks run, then it
// fails with reason.
func (p *planner) abort(reason, message string) {
	op := p.op()
	op.SyncPhase = gitopsv1alpha1.SyncPhaseSyncFail
	op.Message = message
	SetReady(p.app, false, reason, message, false)
}

// failureReason is the reason abort gave the Ready condition.
func (p *planner) failureReason() string {
	for _, c := range p.app.Status.Conditions {
		if c.Type == ConditionReady && c.Status == metav1.ConditionFalse && c.Reason != "" {
			return c.Reason
		}
	}
	return "SyncFailed"
}

// fail records a failed sync: the operation (or, when none ran, the
// attempt) failed, counted for the retry backoff; a warning event and a
// history entry, unless it repeats the last failure.
func (p *planner) fail(reason, message string) {
	op := p.op()
	if op == nil || op.Phase != gitopsv1alpha1.OperationRunning && op.Phase != gitopsv1alpha1.OperationFailed {
		retries := int64(0)
		op = &gitopsv1alpha1.OperationState{StartedAt: metav1.Time{Time: p.o.Now}, RetryCount: retries}
		p.app.Status.OperationState = op
	}
	now := metav1.Time{Time: p.o.Now}
	op.Phase = gitopsv1alpha1.OperationFailed
	op.Message = message
	op.FinishedAt = &now
	op.RetryCount++
	if p.o.Revision != "" {
		op.Revision = p.o.Revision
	}
	op.ObservedGeneration = p.app.Generation
	if RecordSync(p.app, gitopsv1alpha1.SyncHistory{Revision: p.app.Status.Sync.Revision, DeployedAt: now, Result: "Failed", Message: message}) {
		p.d.Events = append(p.d.Events, Event{Warning: true, Reason: reason, Message: message})
	}
	delay, retrying := RetryDelay(p.retryPolicy(), int(op.RetryCount))
	SetReady(p.app, false, reason, message, !retrying)
	p.d.RequeueAfter = delay
	if !retrying {
		p.d.RequeueAfter = Interval(p.app)
	}
}

// succeed ends the operation: the revision is synced.
func (p *planner) succeed() {
	op := p.op()
	now := metav1.Time{Time: p.o.Now}
	op.Phase = gitopsv1alpha1.OperationSucceeded
	op.FinishedAt = &now
	op.RetryCount = 0
	op.Message = "revision " + short(op.Revision) + " synced"
	s := &p.app.Status
	if op.SyncRequest != "" {
		s.LastHandledSyncRequest = op.SyncRequest
	}
	s.Sync.Status = gitopsv1alpha1.SyncStatusSynced
	p.setRevision(op.Revision)
	s.ObservedGeneration = p.app.Generation
	s.LastSyncedAt = &now
	s.Inventory = p.inventory(!op.Prune)
	p.d.Finishes, p.d.operationDone = true, true
	p.report(nil, "revision "+short(op.Revision)+" applied")
}

// inventory is what the Application owns now: its resources, and the stale
// objects still in place when they are not pruned.
func (p *planner) inventory(withStale bool) []gitopsv1alpha1.ObjectRef {
	var refs []gitopsv1alpha1.ObjectRef
	for _, o := range p.resources() {
		refs = append(refs, o.Ref)
	}
	if withStale {
		for _, s := range p.o.Stale {
			refs = append(refs, s.Ref)
		}
	}
	sortRefs(refs)
	return refs
}

// steady is an Application with no sync to run: self-heal what drifted,
// or report it.
func (p *planner) steady() {
	var drifted []gitopsv1alpha1.ObjectRef
	for _, o := range p.resources() {
		if o.Drifted {
			drifted = append(drifted, o.Ref)
		}
	}
	automated := Automated(p.app)
	revision := short(p.o.Revision)
	// The revision in place stays; its commit is filled in when this
	// reconcile read it and the status has none yet (a status written
	// before the field existed).
	p.setRevision(p.app.Status.Sync.Revision)
	switch {
	case automated != nil && automated.SelfHeal && len(drifted) > 0:
		// Put back what changed in the cluster, without hooks: they run
		// with a sync of a new revision or one a person asks for.
		p.apply(drifted)
		p.d.Finishes = true
		p.report(nil, "revision "+revision+" applied")
	case automated != nil:
		message := "revision " + revision + " applied"
		if len(drifted) > 0 {
			message += "; drifted in the cluster (selfHeal is off): " + names(drifted, nil)
		}
		p.report(drifted, message)
	default:
		p.reportManual(drifted)
	}
	p.app.Status.ObservedGeneration = p.app.Generation
}

// reportManual is an Application without automated sync: whether the
// cluster holds the revision, and what a sync would change.
func (p *planner) reportManual(drifted []gitopsv1alpha1.ObjectRef) {
	var pruned []gitopsv1alpha1.ObjectRef
	for _, s := range p.o.Stale {
		if s.Exists {
			pruned = append(pruned, s.Ref)
		}
	}
	p.setRevision(p.o.Revision)
	if len(drifted)+len(pruned) == 0 {
		p.report(nil, "revision "+short(p.o.Revision)+" is in place (automated sync is off)")
		return
	}
	p.report(drifted, "")
	p.app.Status.Sync.Status = gitopsv1alpha1.SyncStatusOutOfSync
	SetReady(p.app, false, "OutOfSync", fmt.Sprintf("automated sync is off; a sync of revision %s would change: %s",
		short(p.o.Revision), names(drifted, pruned)), false)
}

// setRevision records the revision the cluster is compared against, and
// what its commit records beside it, which must be that commit's: the
// observation's when it read that commit, else what was recorded when the
// revision stays, else nothing (a render that is not needed is not made
// only to read a commit).
func (p *planner) setRevision(revision string) {
	s := &p.app.Status.Sync
	switch {
	case revision == p.o.Revision && p.o.Commit != nil:
		s.Commit = p.o.Commit.DeepCopy()
	case revision != s.Revision:
		s.Commit = nil
	}
	s.Revision = revision
}

// report writes the objects' sync and health and the Ready condition:
// ready with message, unless the Application waits for health that has
// not come.
func (p *planner) report(drifted []gitopsv1alpha1.ObjectRef, message string) {
	s := &p.app.Status
	s.Resources = p.resourceStatuses(drifted)
	s.Health = p.health(s.Resources)
	// Stale objects left in place show OutOfSync one by one; the
	// Application is out of sync when a rendered object is.
	s.Sync.Status = gitopsv1alpha1.SyncStatusSynced
	if len(drifted) > 0 {
		s.Sync.Status = gitopsv1alpha1.SyncStatusOutOfSync
	}
	if message != "" {
		p.ready(message)
	}
}

// ready sets Ready for an Application whose sync is done: true, unless it
// waits for its objects' health; a paused Rollout counts as settled.
func (p *planner) ready(message string) {
	s := &p.app.Status
	if !p.app.Spec.Wait || settled(s.Health.Status) {
		if s.Health.Status == gitopsv1alpha1.HealthSuspended && s.Health.Message != "" {
			// Says what the objects wait for: a Rollout at its pause
			// step, an analysis a person must judge.
			message += "; suspended: " + s.Health.Message
		}
		SetReady(p.app, true, "Synced", message, false)
		p.d.RequeueAfter = Interval(p.app)
		return
	}
	timeout := Timeout(p.app)
	if op := s.OperationState; op != nil && p.o.Now.Sub(op.StartedAt.Time) > timeout {
		failure := fmt.Sprintf("%s; not healthy after %s: %s", message, timeout, s.Health.Message)
		if RecordSync(p.app, gitopsv1alpha1.SyncHistory{Revision: s.Sync.Revision, DeployedAt: metav1.Time{Time: p.o.Now},
			Result: "Failed", Message: failure}) {
			p.d.Events = append(p.d.Events, Event{Warning: true, Reason: "HealthCheckFailed", Message: failure})
		}
		SetReady(p.app, false, "HealthCheckFailed", failure, false)
		p.d.RequeueAfter = Interval(p.app)
		return
	}
	SetReady(p.app, false, "Progressing", message+"; waiting for health: "+s.Health.Message, false)
	SetReconciling(p.app, "Progressing", s.Health.Message)
	p.d.RequeueAfter = min(WaitRecheck, Interval(p.app))
}

// health is the Application's health: its least healthy object's or
// health check's.
func (p *planner) health(resources []gitopsv1alpha1.ResourceStatus) gitopsv1alpha1.HealthStatus {
	out := AggregateHealth(resources)
	for _, c := range p.o.Checks {
		if Worse(c.Health.Status, out.Status) {
			out = c.Health
			if out.Message == "" {
				out.Message = "health check " + c.Ref.Kind + " " + c.Ref.Name + " is " + string(c.Health.Status)
			} else {
				out.Message = "health check " + c.Ref.Kind + " " + c.Ref.Name + ": " + out.Message
			}
		}
	}
	return out
}

// NotReadYet is the health message of an object just applied, whose
// status has not been read since: the next reconcile reads it, soon.
const NotReadYet = "applied; its status is not read yet"

// settled reports whether a health needs no more waiting for.
func settled(h gitopsv1alpha1.HealthStatusCode) bool {
	return h == gitopsv1alpha1.HealthHealthy || h == gitopsv1alpha1.HealthSuspended
}

// settle refreshes the health of an Application whose objects did not
// change, only their status: nothing is rendered, diffed or applied.
func (p *planner) settle() {
	s := &p.app.Status
	health := map[gitopsv1alpha1.ObjectRef]gitopsv1alpha1.HealthStatus{}
	for _, o := range p.o.Objects {
		if o.HealthKnown {
			health[o.Ref] = o.Health
		}
	}
	for i := range s.Resources {
		if h, ok := health[s.Resources[i].ObjectRef]; ok && s.Resources[i].Health != nil {
			s.Resources[i].Health = &h
		}
	}
	s.Health = p.health(s.Resources)
	p.d.RequeueAfter = Interval(p.app)
	if p.app.Spec.Wait {
		ready := readyCondition(p.app)
		message := "revision " + short(s.Sync.Revision) + " applied"
		if ready != nil && ready.Reason == "OutOfSync" {
			return
		}
		p.ready(message)
	}
}

func readyCondition(app *gitopsv1alpha1.Application) *metav1.Condition {
	for i := range app.Status.Conditions {
		if app.Status.Conditions[i].Type == ConditionReady {
			return &app.Status.Conditions[i]
		}
	}
	return nil
}

// resourceStatuses lists each resource's sync state and, for kinds whose
// health is in their status, its health; stale objects still in place show
// OutOfSync.
func (p *planner) resourceStatuses(drifted []gitopsv1alpha1.ObjectRef) []gitopsv1alpha1.ResourceStatus {
	previous := map[gitopsv1alpha1.ObjectRef]*gitopsv1alpha1.HealthStatus{}
	for _, r := range p.app.Status.Resources {
		previous[r.ObjectRef] = r.Health
	}
	resources := p.resources()
	out := make([]gitopsv1alpha1.ResourceStatus, 0, len(resources)+len(p.o.Stale))
	for _, o := range resources {
		r := gitopsv1alpha1.ResourceStatus{ObjectRef: o.Ref, Status: gitopsv1alpha1.SyncStatusSynced}
		if slices.Contains(drifted, o.Ref) {
			r.Status = gitopsv1alpha1.SyncStatusOutOfSync
		}
		switch {
		case !o.StatusHealth:
		case p.applied[o.Ref] || !o.Exists && !o.HealthKnown:
			h := gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthProgressing, Message: NotReadYet}
			if !o.Exists && !p.applied[o.Ref] {
				h = gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthMissing}
			}
			r.Health = &h
		case o.HealthKnown:
			h := o.Health
			r.Health = &h
		case previous[o.Ref] != nil:
			r.Health = previous[o.Ref]
		default:
			r.Health = &gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthUnknown}
		}
		out = append(out, r)
	}
	if op := p.op(); op == nil || !op.Prune || op.Phase == gitopsv1alpha1.OperationFailed {
		for _, s := range p.o.Stale {
			if s.Exists {
				out = append(out, gitopsv1alpha1.ResourceStatus{ObjectRef: s.Ref, Status: gitopsv1alpha1.SyncStatusOutOfSync})
			}
		}
	}
	return out
}

// apply applies objects, noting that their health is not known until
// read back.
func (p *planner) apply(refs []gitopsv1alpha1.ObjectRef) {
	if len(refs) == 0 {
		return
	}
	for _, r := range refs {
		p.applied[r] = true
		if o := find(p.o.Objects, r); o != nil && o.StatusHealth && o.Hook == nil {
			// Its health is read back soon, whether or not anything
			// writes its status (a route no controller serves).
			p.readBack = true
		}
	}
	p.do(Action{Kind: ApplyObjects, Objects: refs})
}

// names lists objects for a person: drifted ones, then ones a sync
// would prune.
func names(drifted, pruned []gitopsv1alpha1.ObjectRef) string {
	var out []string
	for _, r := range drifted {
		out = append(out, r.Kind+" "+r.Name)
	}
	for _, r := range pruned {
		out = append(out, r.Kind+" "+r.Name+" (to prune)")
	}
	return strings.Join(out, ", ")
}

func short(commit string) string { return commit[:min(len(commit), 12)] }

// refKey identifies an object whatever the version it was applied at.
func refKey(r gitopsv1alpha1.ObjectRef) string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

func sortRefs(refs []gitopsv1alpha1.ObjectRef) {
	sort.Slice(refs, func(i, j int) bool { return refKey(refs[i]) < refKey(refs[j]) })
}
