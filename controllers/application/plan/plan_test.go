package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// summary is a decision in a few strings: what a case asserts in full.
type summary struct {
	Actions  []string
	Ready    string // "True Synced"
	Stalled  bool
	Op       string // "Running/Sync wave 1", "Succeeded", "Failed (retry 1)"
	Sync     string // "Synced new", "OutOfSync old"
	Requeue  time.Duration
	Events   []string // "Warning FetchFailed"
	Finishes bool
}

func summarize(d Decision) summary {
	return summary{
		Actions:  actionsOf(d),
		Ready:    conditionOf(d.Status, ConditionReady),
		Stalled:  conditionOf(d.Status, ConditionStalled) == "True "+readyReason(d.Status),
		Op:       opOf(d.Status),
		Sync:     strings.TrimSpace(string(d.Status.Sync.Status) + " " + revName(d.Status.Sync.Revision)),
		Requeue:  d.RequeueAfter,
		Events:   eventsOf(d),
		Finishes: d.Finishes,
	}
}

func readyReason(s gitopsv1alpha1.ApplicationStatus) string {
	return strings.TrimPrefix(strings.TrimPrefix(conditionOf(s, ConditionReady), "False "), "True ")
}

func revName(rev string) string {
	switch rev {
	case revOld:
		return "old"
	case revNew:
		return "new"
	}
	return rev
}

// planCase is one decision: the observation, why it decides so, and the
// decision; message, when set, is part of the Ready condition's message,
// and check asserts anything more.
type planCase struct {
	name    string
	reason  string
	o       Observation
	want    summary
	message string
	check   func(t *testing.T, d Decision)
}

func runPlanCases(t *testing.T, cases []planCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.o.App.DeepCopy()
			expectDecision(t, "Plan", tc.reason, Plan(tc.o), tc.want, tc.message, tc.check)
			if diff := cmp.Diff(before, tc.o.App); diff != "" {
				t.Errorf("Plan changed the Application it observed (-before +after):\n%s", diff)
			}
		})
	}
}

// expectDecision checks what step (Plan, Conclude) decided against what a
// case wants, and why: the summary, words of the Ready message, and the
// case's own check.
func expectDecision(t *testing.T, step, reason string, d Decision, want summary, message string, check func(*testing.T, Decision)) {
	t.Helper()
	if reason == "" {
		t.Fatal("a case says why it decides so")
	}
	if diff := cmp.Diff(want, summarize(d)); diff != "" {
		t.Errorf("%s\n%s (-want +got):\n%s", reason, step, diff)
	}
	if got := readyMessage(d.Status); !strings.Contains(got, message) {
		t.Errorf("%s\nReady message %q does not say %q", reason, got, message)
	}
	if check != nil {
		check(t, d)
	}
}

// The objects most cases render.
var (
	cmA   = configMap("a")
	cmB   = configMap("b")
	cmC   = configMap("c")
	cmOld = configMap("old")
	dbDep = deployment("db")
	web   = deployment("web")
	pre   = job("pre").hook(gitopsv1alpha1.SyncPhasePreSync)
	post  = job("post").hook(gitopsv1alpha1.SyncPhasePostSync)
	onErr = job("cleanup").hook(gitopsv1alpha1.SyncPhaseSyncFail)
)

const (
	interval = DefaultInterval
	recheck  = WaitRecheck
	// readBack is the requeue of a plan that applies an object whose
	// health is in its status: read back soon.
	readBack = ReadBack
)

func TestPlanSuspendAndFailures(t *testing.T) {
	sameFailure := "fetching https://git.example/web.git: connection refused"
	runPlanCases(t, []planCase{
		{
			name:   "suspended",
			reason: "a suspended Application leaves the last applied state in place: no actions, no requeue",
			o:      observe(newApp().prune().selfHeal().suspend().synced(revOld, cmA.Ref), cmA.drifted()),
			want:   summary{Ready: "False Suspended", Op: "Succeeded", Sync: "Synced old"},
		},
		{
			name:   "suspended with a failure",
			reason: "suspend wins over a failure: nothing is recorded, no event",
			o:      with(observe(newApp().automated().suspend().synced(revOld, cmA.Ref)), failure("FetchFailed", sameFailure)),
			want:   summary{Ready: "False Suspended", Op: "Succeeded", Sync: "Synced old"},
		},
		{
			name:   "suspended with a request",
			reason: "suspend wins over a sync a person asked for",
			o:      with(observe(newApp().suspend().synced(revOld, cmA.Ref), cmA.drifted()), requested("r1", true)),
			want:   summary{Ready: "False Suspended", Op: "Succeeded", Sync: "Synced old"},
		},
		{
			name:   "fetch failure",
			reason: "a failure fails the attempt: counted, a history entry, a warning, retried after the first backoff",
			o:      with(observe(newApp().automated().synced(revOld, cmA.Ref)), atRevision(""), failure("FetchFailed", sameFailure)),
			want: summary{Ready: "False FetchFailed", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning FetchFailed"}},
			message: "connection refused",
			check: func(t *testing.T, d Decision) {
				h := d.Status.History
				if len(h) != 2 || h[0].Result != "Failed" || h[0].Message != sameFailure || h[0].Revision != revOld {
					t.Errorf("history = %+v; want a Failed entry for the revision in place first", h)
				}
			},
		},
		{
			name:   "the cluster does not answer",
			reason: "objects that cannot be read have no known health: Unknown, not the last health seen, beside the failure",
			o: with(observe(newApp().automated().synced(revOld, cmA.Ref)),
				func(o *Observation) {
					o.Failure = &Failure{Reason: "ClusterUnreachable", Message: "cluster prod did not answer", LiveUnknown: true}
				}),
			want: summary{Ready: "False ClusterUnreachable", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning ClusterUnreachable"}},
			check: func(t *testing.T, d Decision) {
				want := gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthUnknown, Message: "cluster prod did not answer"}
				if diff := cmp.Diff(want, d.Status.Health); diff != "" {
					t.Errorf("health (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:   "the same failure again",
			reason: "a repeated failure is counted but neither a new history entry nor a new event; the backoff doubles",
			o: with(observe(newApp().automated().synced(revOld, cmA.Ref).
				op(failedOp("", 1, 5*time.Second)).
				history(gitopsv1alpha1.SyncHistory{Revision: revOld, Result: "Failed", Message: sameFailure})),
				atRevision(""), failure("FetchFailed", sameFailure)),
			want: summary{Ready: "False FetchFailed", Op: "Failed (retry 2)", Sync: "Synced old", Requeue: 10 * time.Second},
			check: func(t *testing.T, d Decision) {
				if len(d.Status.History) != 1 {
					t.Errorf("history = %+v; want the one entry", d.Status.History)
				}
			},
		},
		{
			name:   "a different failure after a failure",
			reason: "a new message is a new history entry and a new warning",
			o: with(observe(newApp().automated().synced(revOld, cmA.Ref).
				op(failedOp(revNew, 1, 5*time.Second)).
				history(gitopsv1alpha1.SyncHistory{Revision: revOld, Result: "Failed", Message: sameFailure})),
				failure("RenderFailed", "kustomize: accumulating resources")),
			want: summary{Ready: "False RenderFailed", Op: "Failed (retry 2)", Sync: "Synced old",
				Requeue: 10 * time.Second, Events: []string{"Warning RenderFailed"}},
			check: func(t *testing.T, d Decision) {
				if len(d.Status.History) != 2 {
					t.Errorf("history = %+v; want two entries", d.Status.History)
				}
			},
		},
		{
			name:   "the retry limit spent",
			reason: "past syncPolicy.retry.limit the Application is Stalled and looks again only at the interval",
			o: with(observe(newApp().automated().retryLimit(2).interval(10*time.Minute).synced(revOld).
				op(failedOp(revNew, 2, time.Minute))), failure("RenderFailed", "kustomize: accumulating resources")),
			want: summary{Ready: "False RenderFailed", Stalled: true, Op: "Failed (retry 3)", Sync: "Synced old",
				Requeue: 10 * time.Minute, Events: []string{"Warning RenderFailed"}},
		},
		{
			name:   "retry limit 0",
			reason: "limit 0 never retries: the first failure stalls",
			o:      with(observe(newApp().automated().retryLimit(0)), failure("CredentialsFailed", "reading Secret git: not found")),
			want: summary{Ready: "False CredentialsFailed", Stalled: true, Op: "Failed (retry 1)", Requeue: interval,
				Events: []string{"Warning CredentialsFailed"}},
		},
		{
			name:   "failure without automated sync",
			reason: "an Application that only reports fails alike when it cannot see its source",
			o:      with(observe(newApp().synced(revOld, cmA.Ref)), failure("CredentialsFailed", "reading Secret git: forbidden")),
			want: summary{Ready: "False CredentialsFailed", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning CredentialsFailed"}},
		},
		{
			name:   "empty render",
			reason: "a revision that renders nothing would prune everything: refused without allowEmpty",
			o:      observe(newApp().prune().synced(revOld, cmA.Ref)),
			want: summary{Ready: "False EmptyRender", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning EmptyRender"}},
			message: "renders no objects",
		},
		{
			name:   "a render of hooks only is empty",
			reason: "hooks are not resources: a revision of hooks alone renders no objects",
			o:      observe(newApp().prune().synced(revOld, cmA.Ref), pre, post),
			want: summary{Ready: "False EmptyRender", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning EmptyRender"}},
		},
		{
			name:   "empty render without automated sync",
			reason: "allowEmpty belongs to automated sync: a manual Application's empty render fails too",
			o:      observe(newApp().synced(revOld, cmA.Ref)),
			want: summary{Ready: "False EmptyRender", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning EmptyRender"}},
		},
		{
			name:   "empty render allowed, pruning",
			reason: "allowEmpty lets the sync go on: the objects left in the cluster are pruned",
			o:      with(observe(newApp().prune().allowEmpty().synced(revOld, cmOld.Ref)), stale(true, cmOld)),
			want: summary{Actions: []string{"Prune ConfigMap/old"}, Ready: "True Synced", Op: "Succeeded", Sync: "Synced new",
				Requeue: interval, Finishes: true},
			check: func(t *testing.T, d Decision) {
				if len(d.Status.Inventory) != 0 {
					t.Errorf("inventory = %v; want empty", d.Status.Inventory)
				}
			},
		},
		{
			name:   "empty render allowed, not pruning",
			reason: "without prune the stale objects stay, in the inventory",
			o:      with(observe(newApp().allowEmpty().synced(revOld, cmOld.Ref)), stale(true, cmOld)),
			want:   summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
			check:  wantInventory(cmOld),
		},
	})
}

func wantInventory(objects ...obj) func(t *testing.T, d Decision) {
	return func(t *testing.T, d Decision) {
		t.Helper()
		if diff := cmp.Diff(refs(objects...), d.Status.Inventory); diff != "" {
			t.Errorf("inventory (-want +got):\n%s", diff)
		}
	}
}

func wantHooks(hooks ...string) func(t *testing.T, d Decision) {
	return func(t *testing.T, d Decision) {
		t.Helper()
		if diff := cmp.Diff(hooks, hooksOf(d.Status)); diff != "" {
			t.Errorf("hooks (-want +got):\n%s", diff)
		}
	}
}

func all(checks ...func(t *testing.T, d Decision)) func(t *testing.T, d Decision) {
	return func(t *testing.T, d Decision) {
		t.Helper()
		for _, c := range checks {
			c(t, d)
		}
	}
}

func TestPlanNewRevision(t *testing.T) {
	runPlanCases(t, []planCase{
		{
			name:   "single wave, no hooks: one plan",
			reason: "a new revision applies what drifted and missing, and with nothing to wait for finishes at once",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref, cmB.Ref), cmA.drifted(), cmB, cmC.missing()),
			want: summary{Actions: []string{"Apply ConfigMap/a ConfigMap/c"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
			message: "revision 222222222222 applied",
			check: all(wantInventory(cmA, cmB, cmC), func(t *testing.T, d Decision) {
				s := d.Status
				if s.LastSyncedAt == nil || !s.LastSyncedAt.Time.Equal(now) || s.ObservedGeneration != 1 {
					t.Errorf("lastSyncedAt %v, observedGeneration %d; want now and 1", s.LastSyncedAt, s.ObservedGeneration)
				}
				if s.LastHandledSyncRequest != "" {
					t.Errorf("lastHandledSyncRequest = %q; no request was made", s.LastHandledSyncRequest)
				}
			}),
		},
		{
			name:   "first sync ever",
			reason: "an Application with no status syncs its revision",
			o:      observe(newApp().automated(), cmA.missing()),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "a new generation of the same revision",
			reason: "a spec change is a new sync even when the commit is the one in place",
			o:      observe(newApp().automated().generation(2).synced(revNew, cmA.Ref), cmA.drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
			check: func(t *testing.T, d Decision) {
				if d.Status.ObservedGeneration != 2 || d.Status.OperationState.ObservedGeneration != 2 {
					t.Errorf("observedGeneration %d, the operation's %d; want 2", d.Status.ObservedGeneration,
						d.Status.OperationState.ObservedGeneration)
				}
			},
		},
		{
			name:   "CreateNamespace first",
			reason: "the destination namespace is created before anything is applied into it",
			o:      with(observe(newApp().automated(), cmA.missing()), createNamespace("web-prod")),
			want: summary{Actions: []string{"CreateNamespace web-prod", "Apply ConfigMap/a"}, Ready: "True Synced",
				Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "nothing drifted",
			reason: "a new revision that changes nothing in the cluster applies nothing, and is synced",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref), cmA),
			want: summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval,
				Finishes: true},
		},
		{
			name:   "prune",
			reason: "with prune, the stale objects that still exist are deleted after the waves; gone ones are not asked for",
			o: with(observe(newApp().prune().synced(revOld, cmA.Ref, cmOld.Ref, cmB.Ref), cmA.drifted()),
				stale(true, cmOld), stale(false, cmB)),
			want: summary{Actions: []string{"Apply ConfigMap/a", "Prune ConfigMap/old"}, Ready: "True Synced",
				Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
			check: wantInventory(cmA),
		},
		{
			name:   "prune with a propagation policy",
			reason: "the PrunePropagationPolicy sync option goes with the prune",
			o: with(observe(newApp().prune().synced(revOld, cmOld.Ref), cmA.missing()), stale(true, cmOld),
				func(o *Observation) { o.Propagation = metav1.DeletePropagationForeground }),
			want: summary{Actions: []string{"Apply ConfigMap/a", "Prune ConfigMap/old (Foreground)"}, Ready: "True Synced",
				Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "no prune",
			reason: "without prune the stale objects stay, in the inventory and shown OutOfSync one by one",
			o:      with(observe(newApp().automated().synced(revOld, cmA.Ref, cmOld.Ref), cmA.drifted()), stale(true, cmOld)),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
			check: all(wantInventory(cmA, cmOld), func(t *testing.T, d Decision) {
				r := d.Status.Resources
				if len(r) != 2 || r[1].Name != "old" || r[1].Status != gitopsv1alpha1.SyncStatusOutOfSync {
					t.Errorf("resources = %+v; want old shown OutOfSync", r)
				}
			}),
		},
		{
			name:   "wait for a Deployment just applied",
			reason: "the sync is done, but with wait the Application is not Ready until the Deployment's status is read back",
			o:      observe(newApp().automated().wait().synced(revOld, web.Ref), web.drifted()),
			want: summary{Actions: []string{"Apply Deployment/web"}, Ready: "False Progressing", Op: "Succeeded",
				Sync: "Synced new", Requeue: readBack, Finishes: true},
			message: "waiting for health: Deployment web: applied; its status is not read yet",
			check: func(t *testing.T, d Decision) {
				if conditionOf(d.Status, ConditionReconciling) != "True Progressing" {
					t.Errorf("Reconciling = %q; want True while waiting", conditionOf(d.Status, ConditionReconciling))
				}
			},
		},
	})
}

func TestPlanHooks(t *testing.T) {
	preRunning := hookStatus(pre, gitopsv1alpha1.SyncPhasePreSync, gitopsv1alpha1.OperationRunning)
	preDone := hookStatus(pre, gitopsv1alpha1.SyncPhasePreSync, gitopsv1alpha1.OperationSucceeded)
	postRunning := hookStatus(post, gitopsv1alpha1.SyncPhasePostSync, gitopsv1alpha1.OperationRunning)
	migrate := job("migrate").hook(gitopsv1alpha1.SyncPhaseSync)
	app := func() appBuilder { return newApp().automated().synced(revOld, cmA.Ref) }
	runPlanCases(t, []planCase{
		{
			name:   "PreSync hooks first",
			reason: "an operation creates its PreSync hooks and waits for them before anything is applied",
			o:      observe(app(), cmA.drifted(), pre, post, onErr),
			want: summary{Actions: []string{"Apply Job/pre"}, Ready: "False Progressing", Op: "Running/PreSync",
				Requeue: recheck, Sync: "Synced old"},
			message: "PreSync hooks running: Job pre",
			check:   wantHooks("PreSync Job/pre Running"),
		},
		{
			name:   "a hook left by the last run is replaced",
			reason: "BeforeHookCreation deletes the previous run's hook so the new one can take its name",
			o:      observe(app(), cmA.drifted(), pre.exists()),
			want: summary{Actions: []string{"DeleteHooks Job/pre", "Apply Job/pre"}, Ready: "False Progressing",
				Op: "Running/PreSync", Requeue: recheck, Sync: "Synced old"},
		},
		{
			name:   "a hook without BeforeHookCreation is not deleted first",
			reason: "only BeforeHookCreation asks for the old hook to go before the new one",
			o:      observe(app(), cmA.drifted(), pre.hook(gitopsv1alpha1.SyncPhasePreSync, HookSucceeded).exists()),
			want: summary{Actions: []string{"Apply Job/pre"}, Ready: "False Progressing",
				Op: "Running/PreSync", Requeue: recheck, Sync: "Synced old"},
		},
		{
			name:   "PreSync hook still running",
			reason: "an operation waits while a hook is Progressing: nothing else is applied",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePreSync, 0, preRunning)),
				cmA.drifted(), pre.health(gitopsv1alpha1.HealthProgressing, "")),
			want:  summary{Ready: "False Progressing", Op: "Running/PreSync", Requeue: recheck, Sync: "Synced old"},
			check: wantHooks("PreSync Job/pre Running"),
		},
		{
			name:   "PreSync hook's health not read",
			reason: "a hook whose health is unknown has not finished",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePreSync, 0, preRunning)),
				cmA.drifted(), pre.exists()),
			want: summary{Ready: "False Progressing", Op: "Running/PreSync", Requeue: recheck, Sync: "Synced old"},
		},
		{
			name:   "PreSync hook done: the Sync phase runs",
			reason: "once the PreSync hooks are healthy the waves are applied; SyncFail hooks do not run on success",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePreSync, 0, preRunning)),
				cmA.drifted(), pre.health(gitopsv1alpha1.HealthHealthy, "completed"), onErr),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
			check: all(wantHooks("PreSync Job/pre Succeeded"), wantInventory(cmA)),
		},
		{
			name:   "HookSucceeded deletes a hook that succeeded",
			reason: "the hook's delete policy is carried out as it finishes, before the next phase's actions",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePreSync, 0, preRunning)),
				cmA.drifted(), pre.hook(gitopsv1alpha1.SyncPhasePreSync, HookSucceeded).health(gitopsv1alpha1.HealthHealthy, "")),
			want: summary{Actions: []string{"DeleteHooks Job/pre", "Apply ConfigMap/a"}, Ready: "True Synced",
				Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "a failing PreSync hook",
			reason: "a Degraded hook aborts the operation before the Sync phase: nothing of it is applied",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePreSync, 0, preRunning)),
				cmA.drifted(), pre.health(gitopsv1alpha1.HealthDegraded, "BackoffLimitExceeded")),
			want: summary{Ready: "False HookFailed", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning HookFailed"}},
			message: "PreSync hook Job pre: BackoffLimitExceeded",
			check:   wantHooks("PreSync Job/pre Failed"),
		},
		{
			name:   "HookFailed deletes a hook that failed",
			reason: "the HookFailed policy deletes the failed hook as the operation aborts",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePreSync, 0, preRunning)), cmA.drifted(),
				pre.hook(gitopsv1alpha1.SyncPhasePreSync, HookFailed).health(gitopsv1alpha1.HealthDegraded, "BackoffLimitExceeded")),
			want: summary{Actions: []string{"DeleteHooks Job/pre"}, Ready: "False HookFailed", Op: "Failed (retry 1)",
				Sync: "Synced old", Requeue: 5 * time.Second, Events: []string{"Warning HookFailed"}},
		},
		{
			name:   "a failing hook runs the SyncFail hooks",
			reason: "an aborted operation creates its SyncFail hooks and waits for them before it fails",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePreSync, 0, preRunning)),
				cmA.drifted(), pre.health(gitopsv1alpha1.HealthDegraded, "BackoffLimitExceeded"), onErr),
			want: summary{Actions: []string{"Apply Job/cleanup"}, Ready: "False HookFailed", Op: "Running/SyncFail",
				Sync: "Synced old", Requeue: recheck},
			check: wantHooks("PreSync Job/pre Failed", "SyncFail Job/cleanup Running"),
		},
		{
			name:   "a hook deleted before it finished",
			reason: "a running hook that is gone failed: the operation aborts",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePreSync, 0, preRunning)),
				cmA.drifted(), pre.missing()),
			want: summary{Ready: "False HookFailed", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning HookFailed"}},
			message: "deleted before it finished",
		},
		{
			name:   "a wave's Sync hooks run with it",
			reason: "a Sync hook is created with its wave's resources and the wave waits for it",
			o:      observe(app(), cmA.drifted(), migrate, cmB.wave(1).drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/a", "Apply Job/migrate"}, Ready: "False Progressing",
				Op: "Running/Sync wave 0", Sync: "Synced old", Requeue: recheck},
			message: "Sync hooks running: Job migrate",
			check:   wantHooks("Sync Job/migrate Running"),
		},
		{
			name:   "a Sync hook of a later wave waits for its wave",
			reason: "hooks take part in waves: wave 1's hook is not created while wave 0 is not settled",
			o:      observe(app(), web.drifted(), migrate.wave(1)),
			want: summary{Actions: []string{"Apply Deployment/web"}, Ready: "False Progressing",
				Op: "Running/Sync wave 0", Sync: "Synced old", Requeue: readBack},
			message: "wave 0: waiting for Deployment web (just applied)",
		},
		{
			name:   "PostSync hooks after the last wave",
			reason: "with PostSync hooks the last wave is waited for (ConfigMaps are settled once applied), then the hooks run",
			o:      observe(app(), cmA.drifted(), post),
			want: summary{Actions: []string{"Apply ConfigMap/a", "Apply Job/post"}, Ready: "False Progressing",
				Op: "Running/PostSync", Sync: "Synced old", Requeue: recheck},
			message: "PostSync hooks running: Job post",
		},
		{
			name:   "PostSync hooks done",
			reason: "when the PostSync hooks are healthy the operation succeeded",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePostSync, 0, preDone, postRunning)),
				cmA, pre.health(gitopsv1alpha1.HealthHealthy, ""), post.health(gitopsv1alpha1.HealthHealthy, "")),
			want:  summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
			check: wantHooks("PreSync Job/pre Succeeded", "PostSync Job/post Succeeded"),
		},
		{
			name:   "a failing PostSync hook",
			reason: "a PostSync hook that fails fails the operation, naming the phase and the hook",
			o: observe(app().op(running(gitopsv1alpha1.SyncPhasePostSync, 0, preDone, postRunning)),
				cmA, post.health(gitopsv1alpha1.HealthDegraded, "smoke test failed")),
			want: summary{Ready: "False HookFailed", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning HookFailed"}},
			message: "PostSync hook Job post: smoke test failed",
		},
	})
}

func TestPlanWaves(t *testing.T) {
	first := dbDep.wave(-1)
	app := func() appBuilder { return newApp().automated().synced(revOld, cmA.Ref, cmB.Ref, cmC.Ref) }
	inWave := func(w int32) appBuilder { return app().op(running(gitopsv1alpha1.SyncPhaseSync, w)) }
	runPlanCases(t, []planCase{
		{
			name:   "ConfigMap waves in one plan, lowest first",
			reason: "a kind without status health is settled once applied, so every wave goes at once, in wave order",
			o:      observe(app(), cmC.wave(1).drifted(), cmA.wave(-1).drifted(), cmB.drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/a", "Apply ConfigMap/b", "Apply ConfigMap/c"},
				Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "a Deployment's wave waits",
			reason: "an object with status health just applied is not settled: the next wave waits",
			o:      observe(app(), first.drifted(), cmB.drifted()),
			want: summary{Actions: []string{"Apply Deployment/db"}, Ready: "False Progressing", Op: "Running/Sync wave -1",
				Sync: "Synced old", Requeue: readBack},
			message: "wave -1: waiting for Deployment db (just applied)",
		},
		{
			name:   "the wave became healthy",
			reason: "a settled wave is not applied again; the next one is",
			o:      observe(inWave(-1), first, cmB.drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/b"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:    "the wave is still progressing",
			reason:  "a wave whose objects are not healthy holds the next",
			o:       observe(inWave(-1), first.health(gitopsv1alpha1.HealthProgressing, "rolling out"), cmB.drifted()),
			want:    summary{Ready: "False Progressing", Op: "Running/Sync wave -1", Sync: "Synced old", Requeue: recheck},
			message: "wave -1: waiting for Deployment db (Progressing)",
		},
		{
			name:   "the wave's health not read",
			reason: "an object with status health whose health is unknown is not settled",
			o:      observe(inWave(-1), first.unread(), cmB.drifted()),
			want:   summary{Ready: "False Progressing", Op: "Running/Sync wave -1", Sync: "Synced old", Requeue: recheck},
		},
		{
			name:   "a suspended wave is settled",
			reason: "a paused Rollout is where it should be: the next wave goes",
			o: observe(inWave(-1), rollout("canary").wave(-1).health(gitopsv1alpha1.HealthSuspended, "paused"),
				cmB.drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/b"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:    "an object of the wave went missing",
			reason:  "a wave is not settled while one of its objects is missing",
			o:       observe(inWave(-1), first.missing(), cmB.drifted()),
			want:    summary{Ready: "False Progressing", Op: "Running/Sync wave -1", Sync: "Synced old", Requeue: recheck},
			message: "Deployment db (missing)",
		},
		{
			name:    "a degraded wave holds",
			reason:  "a Degraded object is not settled: the operation waits (until its timeout)",
			o:       observe(inWave(-1), first.health(gitopsv1alpha1.HealthDegraded, "crash loop"), cmB.drifted()),
			want:    summary{Ready: "False Progressing", Op: "Running/Sync wave -1", Sync: "Synced old", Requeue: recheck},
			message: "Deployment db (Degraded)",
		},
		{
			name:   "only what drifted is applied",
			reason: "a wave applies its drifted objects only",
			o:      observe(app(), cmA.drifted(), cmB, cmC.missing()),
			want: summary{Actions: []string{"Apply ConfigMap/a ConfigMap/c"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "a wave with nothing drifted",
			reason: "an unchanged wave is no action and no wait, when its objects are healthy",
			o:      observe(app(), first, cmB.drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/b"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "the last wave is not waited for",
			reason: "without PostSync hooks nothing follows the last wave: the operation ends once it is applied",
			o:      observe(app(), cmA.drifted(), web.wave(1).drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/a", "Apply Deployment/web"}, Ready: "True Synced",
				Op: "Succeeded", Sync: "Synced new", Requeue: readBack, Finishes: true},
		},
		{
			name:   "the last wave is waited for before PostSync hooks",
			reason: "PostSync hooks run once everything is healthy",
			o:      observe(app(), cmA.drifted(), web.wave(1).drifted(), post),
			want: summary{Actions: []string{"Apply ConfigMap/a", "Apply Deployment/web"}, Ready: "False Progressing",
				Op: "Running/Sync wave 1", Sync: "Synced old", Requeue: readBack},
			message: "wave 1: waiting for Deployment web (just applied)",
		},
		{
			name:   "a wave gone from the render",
			reason: "an operation resumed where its wave is no longer rendered goes on at the next wave",
			o:      observe(inWave(0), cmA.wave(-1), cmC.wave(1).drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/c"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "waves with a prune",
			reason: "pruning follows the last wave",
			o: with(observe(newApp().prune().synced(revOld, cmOld.Ref), cmA.wave(2).drifted(), cmB.wave(-3).drifted()),
				stale(true, cmOld)),
			want: summary{Actions: []string{"Apply ConfigMap/b", "Apply ConfigMap/a", "Prune ConfigMap/old"},
				Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
		},
	})
}

func TestPlanSteadyAndRequests(t *testing.T) {
	runPlanCases(t, []planCase{
		{
			name:    "manual: out of sync",
			reason:  "without automated sync the planner only reports, naming what drifted and what a sync would prune",
			o:       with(observe(newApp().synced(revOld, cmA.Ref, cmOld.Ref), cmA.drifted(), cmB), stale(true, cmOld)),
			want:    summary{Ready: "False OutOfSync", Op: "Succeeded", Sync: "OutOfSync new", Requeue: interval},
			message: "would change: ConfigMap a, ConfigMap old (to prune)",
		},
		{
			name:    "manual: only stale objects",
			reason:  "an object a sync would prune is a difference too",
			o:       with(observe(newApp().synced(revOld, cmA.Ref, cmOld.Ref), cmA), stale(true, cmOld)),
			want:    summary{Ready: "False OutOfSync", Op: "Succeeded", Sync: "OutOfSync new", Requeue: interval},
			message: "ConfigMap old (to prune)",
		},
		{
			name:    "manual: in place",
			reason:  "a manual Application whose cluster holds the revision is Synced and Ready; a stale object already gone is no difference",
			o:       with(observe(newApp().synced(revOld, cmA.Ref, cmOld.Ref), cmA), stale(false, cmOld)),
			want:    summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval},
			message: "is in place (automated sync is off)",
		},
		{
			name:   "manual with hooks: no hooks run",
			reason: "reporting runs nothing",
			o:      observe(newApp().synced(revOld, cmA.Ref), cmA.drifted(), pre),
			want:   summary{Ready: "False OutOfSync", Op: "Succeeded", Sync: "OutOfSync new", Requeue: interval},
		},
		{
			name:    "automated without selfHeal: drift reported",
			reason:  "drift of a synced revision is reported, not undone; the Application stays Ready",
			o:       observe(newApp().prune().synced(revNew, cmA.Ref, cmB.Ref), cmA.drifted(), cmB),
			want:    summary{Ready: "True Synced", Op: "Succeeded", Sync: "OutOfSync new", Requeue: interval},
			message: "drifted in the cluster (selfHeal is off): ConfigMap a",
		},
		{
			name:   "selfHeal",
			reason: "selfHeal applies the drifted objects only, runs no hooks and starts no operation",
			o:      observe(newApp().selfHeal().synced(revNew, cmA.Ref, cmB.Ref), cmA.drifted(), cmB, pre, post),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "selfHeal with nothing drifted",
			reason: "nothing to put back is no action and nothing to record",
			o:      observe(newApp().selfHeal().synced(revNew, cmA.Ref), cmA),
			want:   summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval},
		},
		{
			name:   "selfHeal does not prune",
			reason: "a stale object of a synced revision is pruned by a sync, not by self-heal",
			o: with(observe(newApp().prune().selfHeal().synced(revNew, cmA.Ref, cmOld.Ref), cmA.drifted()),
				stale(true, cmOld)),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "automated, in place",
			reason: "a synced revision with nothing drifted is Ready, looked at again at the interval",
			o:      observe(newApp().automated().interval(time.Minute).synced(revNew, cmA.Ref), cmA),
			want:   summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: time.Minute},
		},
		{
			name:   "a request without automated sync",
			reason: "a sync a person asked for runs as an operation, and is recorded as handled",
			o:      with(observe(newApp().synced(revOld, cmA.Ref, cmOld.Ref), cmA.drifted()), stale(true, cmOld), requested("r1", false)),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
			check: all(wantInventory(cmA, cmOld), func(t *testing.T, d Decision) {
				if d.Status.LastHandledSyncRequest != "r1" || d.Status.OperationState.SyncRequest != "r1" {
					t.Errorf("lastHandledSyncRequest %q, the operation's %q; want r1", d.Status.LastHandledSyncRequest,
						d.Status.OperationState.SyncRequest)
				}
			}),
		},
		{
			name:   "a request to prune",
			reason: "Request.Prune prunes even when automated sync does not",
			o:      with(observe(newApp().synced(revOld, cmA.Ref, cmOld.Ref), cmA.drifted()), stale(true, cmOld), requested("r1", true)),
			want: summary{Actions: []string{"Apply ConfigMap/a", "Prune ConfigMap/old"}, Ready: "True Synced",
				Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true},
			check: wantInventory(cmA),
		},
		{
			name:   "a request on a synced automated Application runs hooks",
			reason: "unlike self-heal, a sync a person asks for is a full operation, PreSync hooks first",
			o:      with(observe(newApp().selfHeal().synced(revNew, cmA.Ref), cmA.drifted(), pre), requested("r2", false)),
			want: summary{Actions: []string{"Apply Job/pre"}, Ready: "False Progressing", Op: "Running/PreSync",
				Sync: "Synced new", Requeue: recheck},
		},
		{
			name:   "a request does not wait for the backoff",
			reason: "a person asking is a reason to try now",
			o: with(observe(newApp().automated().synced(revOld, cmA.Ref).op(failedOp(revNew, 3, time.Second)), cmA.drifted()),
				requested("r3", false)),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name: "a request that failed waits for its backoff",
			reason: "the same request is not carried out again before its backoff, or a failing sync a person " +
				"asked for would be retried at every event",
			o: with(observe(newApp().synced(revOld, cmA.Ref).op(func() *gitopsv1alpha1.OperationState {
				op := failedOp(revNew, 3, time.Second)
				op.SyncRequest = "r3"
				return op
			}()), cmA.drifted()), requested("r3", false)),
			want: summary{Ready: "True Synced", Op: "Failed (retry 3)", Sync: "Synced old", Requeue: 19 * time.Second},
		},
	})
}

func TestPlanRetriesAndTimeouts(t *testing.T) {
	waitingOp := func(started time.Duration) *gitopsv1alpha1.OperationState {
		op := running(gitopsv1alpha1.SyncPhaseSync, -1)
		op.StartedAt = ago(started)
		op.Message = "wave -1: waiting for Deployment db (Progressing)"
		return op
	}
	waitingFor := dbDep.wave(-1).health(gitopsv1alpha1.HealthProgressing, "")
	recentSuccess := func(startedAgo time.Duration) *gitopsv1alpha1.OperationState {
		finished := ago(startedAgo - time.Second)
		return &gitopsv1alpha1.OperationState{Phase: gitopsv1alpha1.OperationSucceeded, Revision: revNew,
			ObservedGeneration: 1, StartedAt: ago(startedAgo), FinishedAt: &finished}
	}
	runPlanCases(t, []planCase{
		{
			name:   "a failed sync's retry not due",
			reason: "a failed operation of the same revision and generation is retried after the backoff: requeue for what remains",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref).op(failedOp(revNew, 1, 2*time.Second)), cmA.drifted()),
			want:   summary{Ready: "True Synced", Op: "Failed (retry 1)", Sync: "Synced old", Requeue: 3 * time.Second},
		},
		{
			name:   "the third retry's backoff",
			reason: "the backoff doubles with each failure: 20s after the third",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref).op(failedOp(revNew, 3, 5*time.Second)), cmA.drifted()),
			want:   summary{Ready: "True Synced", Op: "Failed (retry 3)", Sync: "Synced old", Requeue: 15 * time.Second},
		},
		{
			name:   "a failed sync's retry due",
			reason: "once the backoff has passed the operation starts again; success resets the count",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref).op(failedOp(revNew, 1, 6*time.Second)), cmA.drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "a retry keeps counting",
			reason: "a retried operation carries the failures before it, for the next backoff",
			o: observe(newApp().automated().synced(revOld, cmA.Ref).op(failedOp(revNew, 2, time.Minute)),
				cmA.drifted(), pre),
			want: summary{Actions: []string{"Apply Job/pre"}, Ready: "False Progressing", Op: "Running/PreSync",
				Sync: "Synced old", Requeue: recheck},
			check: func(t *testing.T, d Decision) {
				if d.Status.OperationState.RetryCount != 2 {
					t.Errorf("retryCount = %d; want 2", d.Status.OperationState.RetryCount)
				}
			},
		},
		{
			name:   "a new revision after a failure",
			reason: "a new commit is tried at once, whatever the backoff",
			o:      observe(newApp().automated().synced(revOld, cmA.Ref).op(failedOp(revOld, 4, time.Second)), cmA.drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "a new generation after a failure",
			reason: "a spec change is tried at once, whatever the backoff",
			o: observe(newApp().automated().generation(2).synced(revOld, cmA.Ref).op(failedOp(revNew, 4, time.Second)),
				cmA.drifted()),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "True Synced", Op: "Succeeded",
				Sync: "Synced new", Requeue: interval, Finishes: true},
		},
		{
			name:   "the retry limit spent",
			reason: "with the retries spent, the revision is not tried again until something changes",
			o: observe(newApp().automated().retryLimit(1).synced(revOld, cmA.Ref).op(failedOp(revNew, 2, time.Hour)),
				cmA.drifted()),
			want: summary{Ready: "True Synced", Op: "Failed (retry 2)", Sync: "Synced old", Requeue: interval},
		},
		{
			name:   "an operation past its timeout",
			reason: "an operation running longer than the default 5m aborts, naming what it waited for",
			o:      observe(newApp().automated().synced(revOld).op(waitingOp(6*time.Minute)), waitingFor, cmB.drifted()),
			want: summary{Ready: "False SyncTimedOut", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning SyncTimedOut"}},
			message: "not done after 5m0s: wave -1: waiting for Deployment db (Progressing)",
		},
		{
			name:   "an operation within its timeout",
			reason: "four minutes into the default five, the operation waits on",
			o:      observe(newApp().automated().synced(revOld).op(waitingOp(4*time.Minute)), waitingFor, cmB.drifted()),
			want:   summary{Ready: "False Progressing", Op: "Running/Sync wave -1", Sync: "Synced old", Requeue: recheck},
		},
		{
			name:   "spec.timeout",
			reason: "spec.timeout bounds the operation",
			o:      observe(newApp().automated().timeout(time.Minute).synced(revOld).op(waitingOp(2*time.Minute)), waitingFor),
			want: summary{Ready: "False SyncTimedOut", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning SyncTimedOut"}},
			message: "not done after 1m0s",
		},
		{
			name:   "spec.timeout beyond the maximum",
			reason: "a tenant's timeout is capped at 30m",
			o:      observe(newApp().automated().timeout(2*time.Hour).synced(revOld).op(waitingOp(40*time.Minute)), waitingFor),
			want: summary{Ready: "False SyncTimedOut", Op: "Failed (retry 1)", Sync: "Synced old",
				Requeue: 5 * time.Second, Events: []string{"Warning SyncTimedOut"}},
			message: "not done after 30m0s",
		},
		{
			name:   "waiting for health past the timeout",
			reason: "with wait, health that has not come within the timeout fails the health check, naming the object",
			o: observe(newApp().automated().wait().synced(revNew, web.Ref),
				web.health(gitopsv1alpha1.HealthProgressing, "waiting for rollout to finish")),
			want: summary{Ready: "False HealthCheckFailed", Op: "Succeeded", Sync: "Synced new", Requeue: interval,
				Events: []string{"Warning HealthCheckFailed"}},
			message: "Deployment web: waiting for rollout to finish",
		},
		{
			name:   "waiting for health within the timeout",
			reason: "with wait, an Application whose objects are not healthy yet is Progressing and looks again soon",
			o: observe(newApp().automated().wait().synced(revNew, web.Ref).op(recentSuccess(time.Minute)),
				web.health(gitopsv1alpha1.HealthProgressing, "")),
			want:    summary{Ready: "False Progressing", Op: "Succeeded", Sync: "Synced new", Requeue: recheck},
			message: "waiting for health: Deployment web is Progressing",
		},
		{
			name:   "a degraded object past the timeout",
			reason: "Degraded is not healthy either: the health check fails",
			o: observe(newApp().automated().wait().synced(revNew, web.Ref),
				web.health(gitopsv1alpha1.HealthDegraded, "")),
			want: summary{Ready: "False HealthCheckFailed", Op: "Succeeded", Sync: "Synced new", Requeue: interval,
				Events: []string{"Warning HealthCheckFailed"}},
			message: "Deployment web is Degraded",
		},
		{
			name:   "a paused Rollout with wait",
			reason: "a Rollout paused at a step is settled: Ready, saying why it is paused",
			o: observe(newApp().automated().wait().synced(revNew, rollout("web").Ref),
				rollout("web").health(gitopsv1alpha1.HealthSuspended, "Rollout is paused at step 2")),
			want:    summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval},
			message: "Rollout is paused at step 2",
		},
		{
			name:   "healthy with wait",
			reason: "healthy objects end the wait",
			o:      observe(newApp().automated().wait().synced(revNew, web.Ref), web),
			want:   summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval},
		},
	})
}

func TestPlanUnchanged(t *testing.T) {
	healthy := &gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthHealthy}
	synced := func() appBuilder {
		return newApp().automated().synced(revNew, web.Ref, cmA.Ref).resources(
			gitopsv1alpha1.ResourceStatus{ObjectRef: web.Ref, Status: gitopsv1alpha1.SyncStatusSynced, Health: healthy},
			gitopsv1alpha1.ResourceStatus{ObjectRef: cmA.Ref, Status: gitopsv1alpha1.SyncStatusSynced})
	}
	degraded := web.health(gitopsv1alpha1.HealthDegraded, "crash loop")
	runPlanCases(t, []planCase{
		{
			name:   "unchanged: health refreshed",
			reason: "when only a status changed, the planner refreshes the resources' health and does nothing else",
			o:      with(observe(synced(), degraded), unchanged()),
			want:   summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval},
			check: func(t *testing.T, d Decision) {
				if h := d.Status.Resources[0].Health; h == nil || h.Status != gitopsv1alpha1.HealthDegraded {
					t.Errorf("web's health = %+v; want Degraded", h)
				}
				if d.Status.Resources[1].Health != nil {
					t.Errorf("a ConfigMap has no status health; got %+v", d.Status.Resources[1].Health)
				}
				if d.Status.Health.Status != gitopsv1alpha1.HealthDegraded {
					t.Errorf("the Application's health = %+v; want Degraded", d.Status.Health)
				}
			},
		},
		{
			name:   "unchanged with wait: health checked",
			reason: "an Application that waits for health reconsiders Ready from the refreshed health",
			o:      with(observe(synced().wait(), degraded), unchanged()),
			want: summary{Ready: "False HealthCheckFailed", Op: "Succeeded", Sync: "Synced new", Requeue: interval,
				Events: []string{"Warning HealthCheckFailed"}},
			message: "Deployment web: crash loop",
		},
		{
			name:   "unchanged with wait, out of sync",
			reason: "a Ready OutOfSync report is left as it is: nothing was diffed",
			o: with(observe(synced().wait().ready(false, "OutOfSync", "automated sync is off; ..."),
				web.health(gitopsv1alpha1.HealthHealthy, "")), unchanged()),
			want: summary{Ready: "False OutOfSync", Op: "Succeeded", Sync: "Synced new", Requeue: interval},
		},
	})
}
