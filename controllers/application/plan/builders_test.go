package plan

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// Builders for the planner's tests: an Application, the objects a revision
// renders, and the observation of both, each in a line.

// Two commits: the one in place and a new one.
const (
	revOld = "1111111111111111111111111111111111111111"
	revNew = "2222222222222222222222222222222222222222"
)

// now is the observations' clock; the past is measured back from it.
var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.Time{Time: now.Add(-d)} }

// appBuilder builds an Application "web" in namespace "apps", generation 1.
type appBuilder struct{ app *gitopsv1alpha1.Application }

func newApp() appBuilder {
	return appBuilder{app: &gitopsv1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", Generation: 1},
		Spec: gitopsv1alpha1.ApplicationSpec{
			Source:      gitopsv1alpha1.ApplicationSource{RepoURL: "https://git.example/web.git", Path: "deploy"},
			Destination: gitopsv1alpha1.ApplicationDestination{Namespace: "apps"},
		},
	}}
}

func (b appBuilder) policy() *gitopsv1alpha1.SyncPolicy {
	if b.app.Spec.SyncPolicy == nil {
		b.app.Spec.SyncPolicy = &gitopsv1alpha1.SyncPolicy{}
	}
	return b.app.Spec.SyncPolicy
}

func (b appBuilder) automated() appBuilder {
	if b.policy().Automated == nil {
		b.policy().Automated = &gitopsv1alpha1.AutomatedSyncPolicy{}
	}
	return b
}

func (b appBuilder) prune() appBuilder { b.automated().policy().Automated.Prune = true; return b }

func (b appBuilder) selfHeal() appBuilder { b.automated().policy().Automated.SelfHeal = true; return b }

func (b appBuilder) allowEmpty() appBuilder {
	b.automated().policy().Automated.AllowEmpty = true
	return b
}

func (b appBuilder) retryLimit(limit int64) appBuilder {
	b.policy().Retry = &gitopsv1alpha1.RetryStrategy{Limit: limit}
	return b
}

func (b appBuilder) wait() appBuilder { b.app.Spec.Wait = true; return b }

func (b appBuilder) suspend() appBuilder { b.app.Spec.Suspend = true; return b }

func (b appBuilder) interval(d time.Duration) appBuilder {
	b.app.Spec.Interval = metav1.Duration{Duration: d}
	return b
}

func (b appBuilder) timeout(d time.Duration) appBuilder {
	b.app.Spec.Timeout = &metav1.Duration{Duration: d}
	return b
}

func (b appBuilder) generation(g int64) appBuilder { b.app.Generation = g; return b }

// synced is the status a successful sync of revision at generation 1 left,
// an hour ago, owning inventory.
func (b appBuilder) synced(revision string, inventory ...gitopsv1alpha1.ObjectRef) appBuilder {
	finished := ago(time.Hour)
	s := &b.app.Status
	s.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: revision}
	s.ObservedGeneration = 1
	s.LastSyncedAt = &finished
	s.Inventory = inventory
	s.Resources = nil
	for _, r := range inventory {
		s.Resources = append(s.Resources, gitopsv1alpha1.ResourceStatus{ObjectRef: r, Status: gitopsv1alpha1.SyncStatusSynced})
	}
	s.OperationState = &gitopsv1alpha1.OperationState{Phase: gitopsv1alpha1.OperationSucceeded, Revision: revision,
		ObservedGeneration: 1, StartedAt: ago(time.Hour + time.Minute), FinishedAt: &finished}
	s.History = []gitopsv1alpha1.SyncHistory{{Revision: revision, DeployedAt: finished, Result: "Succeeded", Message: "1 applied, 0 pruned"}}
	SetReady(b.app, true, "Synced", "revision "+short(revision)+" applied", false)
	return b
}

// op sets the operation under way (or the last one).
func (b appBuilder) op(op *gitopsv1alpha1.OperationState) appBuilder {
	b.app.Status.OperationState = op
	return b
}

// history sets the sync history, newest first.
func (b appBuilder) history(h ...gitopsv1alpha1.SyncHistory) appBuilder {
	b.app.Status.History = h
	return b
}

// ready sets the Ready condition the last reconcile left.
func (b appBuilder) ready(status bool, reason, message string) appBuilder {
	SetReady(b.app, status, reason, message, false)
	return b
}

// resources sets status.resources, each with its health when given.
func (b appBuilder) resources(rs ...gitopsv1alpha1.ResourceStatus) appBuilder {
	b.app.Status.Resources = rs
	return b
}

func (b appBuilder) get() *gitopsv1alpha1.Application { return b.app }

// running is an operation of revNew at generation 1, started a minute ago,
// in phase at wave, with hooks.
func running(phase gitopsv1alpha1.SyncPhase, wave int32, hooks ...gitopsv1alpha1.HookStatus) *gitopsv1alpha1.OperationState {
	return &gitopsv1alpha1.OperationState{Phase: gitopsv1alpha1.OperationRunning, Revision: revNew, ObservedGeneration: 1,
		SyncPhase: phase, Wave: wave, Hooks: hooks, StartedAt: ago(time.Minute)}
}

// failedOp is a failed operation of revision at generation 1, after
// retries consecutive failures, finished finishedAgo ago.
func failedOp(revision string, retries int64, finishedAgo time.Duration) *gitopsv1alpha1.OperationState {
	finished := ago(finishedAgo)
	return &gitopsv1alpha1.OperationState{Phase: gitopsv1alpha1.OperationFailed, Revision: revision, ObservedGeneration: 1,
		Message: "revision " + short(revision) + ": boom", StartedAt: ago(finishedAgo + time.Second), FinishedAt: &finished,
		RetryCount: retries}
}

// hookStatus is a hook the operation created.
func hookStatus(o obj, phase gitopsv1alpha1.SyncPhase, state gitopsv1alpha1.OperationPhase) gitopsv1alpha1.HookStatus {
	return gitopsv1alpha1.HookStatus{ObjectRef: o.Ref, SyncPhase: phase, Phase: state}
}

// obj is a rendered object as observed, built in a line:
// configMap("a").wave(1).drifted().
type obj struct{ Object }

// configMap is a ConfigMap in place and unchanged: its health is not in a
// status, so it is healthy once it exists.
func configMap(name string) obj {
	return obj{Object{Ref: ref("", "ConfigMap", name), Exists: true}}
}

// deployment is a Deployment in place, unchanged and Healthy.
func deployment(name string) obj {
	return obj{Object{Ref: ref("apps", "Deployment", name), Exists: true, StatusHealth: true,
		Health: gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthHealthy}, HealthKnown: true}}
}

// rollout is an Argo Rollout in place, unchanged and Healthy.
func rollout(name string) obj {
	o := deployment(name)
	o.Ref = ref("argoproj.io", "Rollout", name)
	return o
}

// job is a Job (a hook, usually) not yet created.
func job(name string) obj {
	return obj{Object{Ref: ref("batch", "Job", name), StatusHealth: true, Drifted: true}}
}

func ref(group, kind, name string) gitopsv1alpha1.ObjectRef {
	version := "v1"
	if group == "argoproj.io" {
		version = "v1alpha1"
	}
	return gitopsv1alpha1.ObjectRef{Group: group, Version: version, Kind: kind, Namespace: "apps", Name: name}
}

func (o obj) wave(w int32) obj { o.Wave = w; return o }

// drifted says applying it would change it.
func (o obj) drifted() obj { o.Drifted = true; return o }

// missing says the cluster does not hold it (so it drifted).
func (o obj) missing() obj {
	o.Exists, o.Drifted, o.HealthKnown = false, true, false
	o.Health = gitopsv1alpha1.HealthStatus{}
	return o
}

// exists says the cluster holds it (a hook a previous run left, say).
func (o obj) exists() obj { o.Exists = true; return o }

func (o obj) health(status gitopsv1alpha1.HealthStatusCode, message string) obj {
	o.Exists, o.HealthKnown = true, true
	o.Health = gitopsv1alpha1.HealthStatus{Status: status, Message: message}
	return o
}

// unread says its health was not read this time.
func (o obj) unread() obj {
	o.HealthKnown, o.Health = false, gitopsv1alpha1.HealthStatus{}
	return o
}

// hook makes it a hook of phase, with delete policies (BeforeHookCreation
// when none is given, as RoleOf reads an object naming none).
func (o obj) hook(phase gitopsv1alpha1.SyncPhase, policies ...DeletePolicy) obj {
	if len(policies) == 0 {
		policies = []DeletePolicy{BeforeHookCreation}
	}
	o.Hook = &Hook{Phases: []gitopsv1alpha1.SyncPhase{phase}, DeletePolicies: policies}
	return o
}

func refs(objects ...obj) []gitopsv1alpha1.ObjectRef {
	var out []gitopsv1alpha1.ObjectRef
	for _, o := range objects {
		out = append(out, o.Ref)
	}
	return out
}

// observe is the observation of app with revision revNew rendered as
// objects, now.
func observe(app appBuilder, objects ...obj) Observation {
	o := Observation{App: app.get(), Revision: revNew, Now: now}
	for _, ob := range objects {
		o.Objects = append(o.Objects, ob.Object)
	}
	return o
}

// observation modifiers, for the cases' with lists.
type modifier func(*Observation)

func atRevision(rev string) modifier { return func(o *Observation) { o.Revision = rev } }

func failure(reason, message string) modifier {
	return func(o *Observation) { o.Failure = &Failure{Reason: reason, Message: message} }
}

func stale(exists bool, objects ...obj) modifier {
	return func(o *Observation) {
		for _, s := range objects {
			o.Stale = append(o.Stale, StaleObject{Ref: s.Ref, Exists: exists})
		}
	}
}

func requested(value string, prune bool) modifier {
	return func(o *Observation) { o.Request = &Request{Value: value, Prune: prune} }
}

func createNamespace(ns string) modifier { return func(o *Observation) { o.CreateNamespace = ns } }

func unchanged() modifier { return func(o *Observation) { o.Unchanged = true } }

func with(o Observation, mods ...modifier) Observation {
	for _, m := range mods {
		m(&o)
	}
	return o
}

// The summaries the cases compare: a decision in a few strings.

// actionsOf lists a decision's actions as "Apply ConfigMap/a Deployment/b".
func actionsOf(d Decision) []string {
	var out []string
	for _, a := range d.Actions {
		s := string(a.Kind)
		if a.Namespace != "" {
			s += " " + a.Namespace
		}
		for _, r := range a.Objects {
			s += " " + r.Kind + "/" + r.Name
		}
		if a.Propagation != "" {
			s += " (" + string(a.Propagation) + ")"
		}
		out = append(out, s)
	}
	return out
}

// conditionOf is "True Synced" or "False OutOfSync", "" when unset.
func conditionOf(s gitopsv1alpha1.ApplicationStatus, kind string) string {
	c := meta.FindStatusCondition(s.Conditions, kind)
	if c == nil {
		return ""
	}
	return string(c.Status) + " " + c.Reason
}

func readyMessage(s gitopsv1alpha1.ApplicationStatus) string {
	if c := meta.FindStatusCondition(s.Conditions, ConditionReady); c != nil {
		return c.Message
	}
	return ""
}

// opOf is "Running/Sync wave 1", "Succeeded", "Failed (retry 2)", "".
func opOf(s gitopsv1alpha1.ApplicationStatus) string {
	op := s.OperationState
	switch {
	case op == nil:
		return ""
	case op.Phase == gitopsv1alpha1.OperationRunning && op.SyncPhase == gitopsv1alpha1.SyncPhaseSync:
		return fmt.Sprintf("Running/Sync wave %d", op.Wave)
	case op.Phase == gitopsv1alpha1.OperationRunning:
		return "Running/" + string(op.SyncPhase)
	case op.Phase == gitopsv1alpha1.OperationFailed:
		return fmt.Sprintf("Failed (retry %d)", op.RetryCount)
	}
	return string(op.Phase)
}

func eventsOf(d Decision) []string {
	var out []string
	for _, e := range d.Events {
		kind := "Normal"
		if e.Warning {
			kind = "Warning"
		}
		out = append(out, kind+" "+e.Reason)
	}
	return out
}

// hooksOf lists the operation's hooks as "PreSync Job/pre Succeeded".
func hooksOf(s gitopsv1alpha1.ApplicationStatus) []string {
	if s.OperationState == nil {
		return nil
	}
	var out []string
	for _, h := range s.OperationState.Hooks {
		out = append(out, strings.Join([]string{string(h.SyncPhase), h.Kind + "/" + h.Name, string(h.Phase)}, " "))
	}
	return out
}
