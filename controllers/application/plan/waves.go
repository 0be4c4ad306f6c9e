package plan

import (
	"fmt"
	"slices"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// hooks are the rendered hooks of phase, of one wave when wave is set.
func (p *planner) hooks(phase gitopsv1alpha1.SyncPhase, wave *int32) []Object {
	var out []Object
	for _, o := range p.o.Objects {
		if o.Hook.In(phase) && (wave == nil || o.Wave == *wave) {
			out = append(out, o)
		}
	}
	return out
}

// waves are the Sync phase's waves, lowest first: its resources' and its
// hooks'.
func (p *planner) waves() []int32 {
	var waves []int32
	for _, o := range p.o.Objects {
		if (o.Hook == nil || o.Hook.In(gitopsv1alpha1.SyncPhaseSync)) && !slices.Contains(waves, o.Wave) {
			waves = append(waves, o.Wave)
		}
	}
	slices.Sort(waves)
	return waves
}

// syncWaves applies the Sync phase wave by wave, each wave settled before
// the next is applied, and reports whether every wave is done. The last
// wave is not waited for unless PostSync hooks follow it, which run once
// everything is healthy. entering says the phase begins now.
func (p *planner) syncWaves(entering bool) bool {
	op := p.op()
	waves := p.waves()
	if len(waves) == 0 {
		return true
	}
	i := 0
	if entering {
		p.applyWave(waves[0])
	} else {
		// The wave applied last; a wave gone from the render since (a
		// commit cannot change the operation's revision, but a restart
		// may render it anew) resumes at the next one.
		for i < len(waves)-1 && waves[i] < op.Wave {
			i++
		}
		if waves[i] != op.Wave {
			p.applyWave(waves[i])
		}
	}
	postSync := len(p.hooks(gitopsv1alpha1.SyncPhasePostSync, nil)) > 0
	for {
		op.Wave = waves[i]
		last := i == len(waves)-1
		if !p.waveDone(waves[i], last && !postSync) {
			return false
		}
		if last {
			return true
		}
		i++
		p.applyWave(waves[i])
	}
}

// applyWave applies what drifted of a wave's resources and runs its Sync
// hooks.
func (p *planner) applyWave(wave int32) {
	var refs []gitopsv1alpha1.ObjectRef
	for _, o := range p.resources() {
		if o.Wave == wave && o.Drifted {
			refs = append(refs, o.Ref)
		}
	}
	p.apply(refs)
	if hooks := p.hooks(gitopsv1alpha1.SyncPhaseSync, &wave); len(hooks) > 0 {
		p.runHooks(gitopsv1alpha1.SyncPhaseSync, hooks)
	}
}

// waveDone reports whether a wave's hooks finished and its resources are
// healthy (or, a paused Rollout, suspended), naming what it waits for in
// the operation's message. final skips waiting for the resources.
func (p *planner) waveDone(wave int32, final bool) bool {
	if !p.hooksDone(gitopsv1alpha1.SyncPhaseSync, p.hooks(gitopsv1alpha1.SyncPhaseSync, &wave)) {
		return false
	}
	if final {
		return true
	}
	var waiting []string
	for _, o := range p.resources() {
		if o.Wave != wave {
			continue
		}
		switch {
		case p.applied[o.Ref] && o.StatusHealth:
			waiting = append(waiting, o.Ref.Kind+" "+o.Ref.Name+" (just applied)")
		case p.applied[o.Ref]:
		case !o.Exists:
			waiting = append(waiting, o.Ref.Kind+" "+o.Ref.Name+" (missing)")
		case o.StatusHealth && (!o.HealthKnown || !settled(o.Health.Status)):
			waiting = append(waiting, fmt.Sprintf("%s %s (%s)", o.Ref.Kind, o.Ref.Name, o.Health.Status))
		}
	}
	if len(waiting) == 0 {
		return true
	}
	p.waitFor(fmt.Sprintf("wave %d: waiting for %s", wave, joinNames(waiting)))
	return false
}

// hooksDone runs hooks the first time, then reports whether they all
// finished. A failed hook aborts the operation, except in SyncFail, whose
// hooks are the last thing an operation does, failed or not.
func (p *planner) hooksDone(phase gitopsv1alpha1.SyncPhase, hooks []Object) bool {
	if len(hooks) == 0 {
		return true
	}
	op := p.op()
	if !p.started(hooks) {
		p.runHooks(phase, hooks)
		return false
	}
	var running, failed []string
	var cleanup []gitopsv1alpha1.ObjectRef
	for i := range op.Hooks {
		status := &op.Hooks[i]
		hook := find(hooks, status.ObjectRef)
		if status.SyncPhase != phase || hook == nil {
			continue
		}
		if status.Phase == gitopsv1alpha1.OperationRunning {
			concludeHook(status, hook, p.applied[hook.Ref])
			switch {
			case status.Phase == gitopsv1alpha1.OperationSucceeded && hook.Hook.Deletes(HookSucceeded),
				status.Phase == gitopsv1alpha1.OperationFailed && hook.Hook.Deletes(HookFailed):
				cleanup = append(cleanup, hook.Ref)
			}
		}
		name := hook.Ref.Kind + " " + hook.Ref.Name
		switch status.Phase {
		case gitopsv1alpha1.OperationRunning:
			running = append(running, name)
		case gitopsv1alpha1.OperationFailed:
			failed = append(failed, name+": "+status.Message)
		}
	}
	if len(cleanup) > 0 {
		p.do(Action{Kind: DeleteHooks, Objects: cleanup})
	}
	if len(failed) > 0 && phase != gitopsv1alpha1.SyncPhaseSyncFail {
		p.abort("HookFailed", fmt.Sprintf("revision %s: %s hook %s failed", short(op.Revision), phase, joinNames(failed)))
		return false
	}
	if len(running) > 0 {
		p.waitFor(fmt.Sprintf("%s hooks running: %s", phase, joinNames(running)))
		return false
	}
	return true
}

// started reports whether the operation created these hooks already.
func (p *planner) started(hooks []Object) bool {
	for _, s := range p.op().Hooks {
		if find(hooks, s.ObjectRef) != nil {
			return true
		}
	}
	return false
}

// runHooks creates hooks, deleting first the ones a previous run left
// that ask to be replaced.
func (p *planner) runHooks(phase gitopsv1alpha1.SyncPhase, hooks []Object) {
	op := p.op()
	var replace, refs []gitopsv1alpha1.ObjectRef
	var names []string
	for _, h := range hooks {
		if h.Exists && h.Hook.Deletes(BeforeHookCreation) {
			replace = append(replace, h.Ref)
		}
		refs = append(refs, h.Ref)
		names = append(names, h.Ref.Kind+" "+h.Ref.Name)
		op.Hooks = append(op.Hooks, gitopsv1alpha1.HookStatus{ObjectRef: h.Ref, SyncPhase: phase, Phase: gitopsv1alpha1.OperationRunning})
	}
	if len(replace) > 0 {
		p.do(Action{Kind: DeleteHooks, Objects: replace})
	}
	p.apply(refs)
	p.waitFor(fmt.Sprintf("%s hooks running: %s", phase, joinNames(names)))
}

// concludeHook reads how a running hook ended: healthy is done (a Job
// complete, a Pod succeeded, any other kind healthy), degraded failed.
func concludeHook(status *gitopsv1alpha1.HookStatus, hook *Object, justApplied bool) {
	switch {
	case justApplied:
	case !hook.Exists:
		status.Phase, status.Message = gitopsv1alpha1.OperationFailed, "deleted before it finished"
	case !hook.HealthKnown:
	case hook.Health.Status == gitopsv1alpha1.HealthHealthy:
		status.Phase, status.Message = gitopsv1alpha1.OperationSucceeded, hook.Health.Message
	case hook.Health.Status == gitopsv1alpha1.HealthDegraded:
		status.Phase, status.Message = gitopsv1alpha1.OperationFailed, hook.Health.Message
	}
}

// waitFor notes what the operation waits for, and looks again soon: the
// objects' watches usually wake it first.
func (p *planner) waitFor(message string) {
	op := p.op()
	if op.SyncPhase == gitopsv1alpha1.SyncPhaseSyncFail {
		// The failure that aborted the operation stays what it says.
		SetReconciling(p.app, "SyncFailHooks", message)
		p.d.RequeueAfter = min(WaitRecheck, Interval(p.app))
		return
	}
	op.Message = message
	SetReady(p.app, false, "Progressing", "sync of revision "+short(op.Revision)+": "+message, false)
	SetReconciling(p.app, "Progressing", message)
	p.d.RequeueAfter = min(WaitRecheck, Interval(p.app))
}

func find(objects []Object, ref gitopsv1alpha1.ObjectRef) *Object {
	for i := range objects {
		if refKey(objects[i].Ref) == refKey(ref) {
			return &objects[i]
		}
	}
	return nil
}

func joinNames(names []string) string {
	const most = 5 // a message a person reads, not an inventory
	if len(names) > most {
		return fmt.Sprintf("%s and %d more", joinNames(names[:most]), len(names)-most)
	}
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
