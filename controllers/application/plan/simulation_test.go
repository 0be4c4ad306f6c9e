package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// cluster is a small world for the planner: the objects it holds, each
// with the revision it was applied at and its health. Between reconciles
// it settles: what is Progressing turns Healthy, or, for the objects named
// in fails, Degraded.
type cluster struct {
	live    map[string]*liveObject
	applied []string // every object applied, in order
	deleted []string
	fails   map[string]bool
}

type liveObject struct {
	revision string
	health   gitopsv1alpha1.HealthStatusCode
}

func newCluster(fails ...string) *cluster {
	c := &cluster{live: map[string]*liveObject{}, fails: map[string]bool{}}
	for _, f := range fails {
		c.fails[f] = true
	}
	return c
}

func name(r gitopsv1alpha1.ObjectRef) string { return r.Kind + "/" + r.Name }

// observe is what the controller's observer would see of rendered at
// revision: an object drifted when missing or applied at another revision,
// a hook always; health read for the kinds whose status holds it.
func (c *cluster) observe(app *gitopsv1alpha1.Application, revision string, at time.Time, rendered ...obj) Observation {
	o := Observation{App: app, Revision: revision, Now: at}
	inRender := map[string]bool{}
	for _, r := range rendered {
		ob := r.Object
		ob.Exists, ob.Drifted, ob.HealthKnown, ob.Health = false, ob.Hook != nil, false, gitopsv1alpha1.HealthStatus{}
		inRender[refKey(ob.Ref)] = true
		live := c.live[name(ob.Ref)]
		if live == nil {
			ob.Drifted = true
		} else {
			ob.Exists = true
			ob.Drifted = ob.Drifted || live.revision != revision
			if ob.StatusHealth {
				ob.Health, ob.HealthKnown = gitopsv1alpha1.HealthStatus{Status: live.health}, true
			}
		}
		o.Objects = append(o.Objects, ob)
	}
	for _, r := range app.Status.Inventory {
		if !inRender[refKey(r)] {
			o.Stale = append(o.Stale, StaleObject{Ref: r, Exists: c.live[name(r)] != nil})
		}
	}
	return o
}

// execute carries out a decision's actions and says what they did.
func (c *cluster) execute(d Decision, revision string, statusHealth map[string]bool) Outcome {
	var out Outcome
	for _, a := range d.Actions {
		for _, r := range a.Objects {
			switch a.Kind {
			case ApplyObjects:
				health := gitopsv1alpha1.HealthHealthy
				if statusHealth[name(r)] {
					health = gitopsv1alpha1.HealthProgressing
				}
				c.live[name(r)] = &liveObject{revision: revision, health: health}
				c.applied = append(c.applied, name(r))
				out.Changed++
			case DeleteHooks, PruneObjects:
				delete(c.live, name(r))
				c.deleted = append(c.deleted, name(r))
				if a.Kind == PruneObjects {
					out.Pruned++
				}
			}
		}
	}
	return out
}

func (c *cluster) settle() {
	for n, l := range c.live {
		if l.health == gitopsv1alpha1.HealthProgressing {
			l.health = gitopsv1alpha1.HealthHealthy
			if c.fails[n] {
				l.health = gitopsv1alpha1.HealthDegraded
			}
		}
	}
}

// run reconciles app until its operation ends, feeding each decision's
// status back, and returns the last decision and how many reconciles it
// took. Each reconcile checks that no wave was applied before the one
// below it was settled.
func (c *cluster) run(t *testing.T, app *gitopsv1alpha1.Application, revision string, rendered ...obj) (Decision, int) {
	t.Helper()
	statusHealth := map[string]bool{}
	wave := map[string]int32{}
	for _, r := range rendered {
		statusHealth[name(r.Ref)] = r.StatusHealth
		if r.Hook == nil || r.Hook.In(gitopsv1alpha1.SyncPhaseSync) {
			wave[name(r.Ref)] = r.Wave
		}
	}
	at := now
	for step := 1; step <= 20; step++ {
		o := c.observe(app, revision, at, rendered...)
		d := Plan(o)
		for _, a := range d.Actions {
			if a.Kind != ApplyObjects {
				continue
			}
			for _, r := range a.Objects {
				w, inWave := wave[name(r)]
				for n, other := range wave {
					live := c.live[n]
					if inWave && other < w && statusHealth[n] && (live == nil || live.health != gitopsv1alpha1.HealthHealthy) {
						t.Errorf("reconcile %d applies %s of wave %d before %s of wave %d is healthy", step, name(r), w, n, other)
					}
				}
			}
		}
		d = Conclude(o, d, c.execute(d, revision, statusHealth))
		app = app.DeepCopy()
		app.Status = d.Status
		if op := app.Status.OperationState; op != nil && op.Phase != gitopsv1alpha1.OperationRunning {
			return d, step
		}
		c.settle()
		at = at.Add(3 * time.Second)
	}
	t.Fatalf("the operation did not end in 20 reconciles: %+v", app.Status.OperationState)
	return Decision{}, 0
}

// An operation with three waves and hooks in every phase, reconciled to
// its end: each step waits for what the one before applied.
func TestSimulationWavesAndHooks(t *testing.T) {
	rendered := []obj{
		job("pre").hook(gitopsv1alpha1.SyncPhasePreSync, HookSucceeded),
		deployment("db").wave(-1),
		configMap("config"),
		job("migrate").hook(gitopsv1alpha1.SyncPhaseSync),
		deployment("web").wave(1),
		job("post").hook(gitopsv1alpha1.SyncPhasePostSync),
		job("cleanup").hook(gitopsv1alpha1.SyncPhaseSyncFail),
	}
	c := newCluster()
	c.live["ConfigMap/old"] = &liveObject{revision: revOld, health: gitopsv1alpha1.HealthHealthy}
	app := newApp().prune().synced(revOld, cmOld.Ref).get()

	d, reconciles := c.run(t, app, revNew, rendered...)

	wantApplied := []string{"Job/pre", "Deployment/db", "ConfigMap/config", "Job/migrate", "Deployment/web", "Job/post"}
	if diff := cmp.Diff(wantApplied, c.applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Job/pre", "ConfigMap/old"}, c.deleted); diff != "" {
		t.Errorf("deleted: the HookSucceeded hook once it succeeded, then the prune (-want +got):\n%s", diff)
	}
	// PreSync; wave -1; wave 0 with its hook; wave 1; the prune and
	// PostSync; the end.
	if reconciles != 6 {
		t.Errorf("the operation took %d reconciles; want 6, one per thing waited for", reconciles)
	}
	want := summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval, Finishes: true,
		Events: []string{"Normal Synced"}}
	if diff := cmp.Diff(want, summarize(d)); diff != "" {
		t.Errorf("the last decision (-want +got):\n%s", diff)
	}
	wantHooks("PreSync Job/pre Succeeded", "Sync Job/migrate Succeeded", "PostSync Job/post Succeeded")(t, d)
	wantHistory("new Succeeded 6 applied, 1 pruned", "old Succeeded 1 applied, 0 pruned")(t, d)
	wantInventory(configMap("config"), deployment("db"), deployment("web"))(t, d)
}

// A Sync hook that fails: the waves after it are never applied, the
// SyncFail hook runs, and the operation fails naming the hook.
func TestSimulationFailingHook(t *testing.T) {
	rendered := []obj{
		job("pre").hook(gitopsv1alpha1.SyncPhasePreSync),
		configMap("config"),
		job("migrate").hook(gitopsv1alpha1.SyncPhaseSync, HookFailed),
		deployment("web").wave(1),
		job("post").hook(gitopsv1alpha1.SyncPhasePostSync),
		job("cleanup").hook(gitopsv1alpha1.SyncPhaseSyncFail),
	}
	c := newCluster("Job/migrate")
	d, _ := c.run(t, newApp().automated().get(), revNew, rendered...)

	if diff := cmp.Diff([]string{"Job/pre", "ConfigMap/config", "Job/migrate", "Job/cleanup"}, c.applied); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Job/migrate"}, c.deleted); diff != "" {
		t.Errorf("deleted: the HookFailed hook (-want +got):\n%s", diff)
	}
	if got := conditionOf(d.Status, ConditionReady); got != "False HookFailed" {
		t.Errorf("Ready = %q; want False HookFailed", got)
	}
	if op := d.Status.OperationState; op.Phase != gitopsv1alpha1.OperationFailed || !strings.Contains(op.Message, "Sync hook Job migrate") {
		t.Errorf("operation %s %q; want Failed naming the Sync hook Job migrate", op.Phase, op.Message)
	}
	if msg := readyMessage(d.Status); !strings.Contains(msg, "Sync hook Job migrate") {
		t.Errorf("Ready message %q does not name the hook", msg)
	}
	wantHooks("PreSync Job/pre Succeeded", "Sync Job/migrate Failed", "SyncFail Job/cleanup Succeeded")(t, d)
}

// An apply that fails in the middle of an operation: the SyncFail hooks
// run on the next reconcile, and the operation fails with the apply's
// reason.
func TestSimulationApplyFailure(t *testing.T) {
	rendered := []obj{deployment("db").wave(-1), configMap("config"), job("cleanup").hook(gitopsv1alpha1.SyncPhaseSyncFail)}
	app := newApp().automated().get()
	c := newCluster()
	o := c.observe(app, revNew, now, rendered...)
	failed := &Failure{Reason: "ApplyFailed", Message: "revision 222222222222: Deployment db: forbidden"}
	d := Conclude(o, Plan(o), Outcome{Failure: failed})
	if got := conditionOf(d.Status, ConditionReady); got != "False ApplyFailed" || opOf(d.Status) != "Running/SyncFail" {
		t.Fatalf("after the failed apply: Ready %q, operation %q; want False ApplyFailed, Running/SyncFail", got, opOf(d.Status))
	}
	app = app.DeepCopy()
	app.Status = d.Status
	d, _ = c.run(t, app, revNew, rendered...)

	if diff := cmp.Diff([]string{"Job/cleanup"}, c.applied); diff != "" {
		t.Errorf("applied after the failure (-want +got):\n%s", diff)
	}
	want := summary{Ready: "False ApplyFailed", Op: "Failed (retry 1)", Requeue: 5 * time.Second,
		Events: []string{"Warning ApplyFailed"}}
	if diff := cmp.Diff(want, summarize(d)); diff != "" {
		t.Errorf("the last decision (-want +got):\n%s", diff)
	}
	if msg := readyMessage(d.Status); !strings.Contains(msg, "Deployment db: forbidden") {
		t.Errorf("Ready message %q does not say what failed", msg)
	}
}
