package plan

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluicehq/sluice/traffic"
)

// A blue-green rollout, in the planner's words: the new revision (green)
// comes up beside the stable one (blue) behind the preview Service, at full
// size or at previewReplicaCount. Once green is up, its pre-promotion
// analysis passed and its pause is over (autoPromotionSeconds, or a
// person's promote), green is scaled to full size and the active Service
// switches to it in one change. After its post-promotion analysis passes,
// green is the new stable and blue keeps its pods for scaleDownDelaySeconds,
// a quick way back. An abort, or a failed analysis, switches the active
// Service back to blue while blue is still up.
//
// The active Service only ever moves to a ReplicaSet with every pod
// available.

// planBlueGreen walks a valid blue-green Rollout: the analyses and the
// pause that gate the switch, the active and preview Services, promotion,
// scaling and history, in that order.
func (p *planner) planBlueGreen() {
	bg := p.ro.Spec.Strategy.BlueGreen
	p.limits = blueGreenLimits(bg, replicasOf(p.ro)) // validated
	p.sortReplicaSets()
	p.resetOnNewRevision()
	p.steerBlueGreen()

	promoted := p.status.StableRS == p.hash
	fast := p.status.PromoteFull || p.fastRollback
	active := p.selectedHash(bg.ActiveService)
	// Green went through its gate once the active Service selects it.
	through := promoted || fast || (active == p.hash && p.current != nil)

	ready := p.current != nil && settledAt(p.current, p.greenSize(promoted, active))
	prePassed := through || p.prePromotionAnalysis(ready)
	pauseOver := through || p.blueGreenPause(ready, prePassed)
	p.previewCheckpoint(ready, prePassed && pauseOver)

	postPassed := false
	if !promoted && !fast && active == p.hash && !p.status.Abort {
		postPassed = p.postPromotionAnalysis()
	}
	activeAfter := p.switchActive(active, promoted, prePassed && pauseOver)
	p.greenActive = activeAfter == p.hash
	if !promoted && p.greenActive && !p.status.Abort && (fast || bg.PostPromotionAnalysis == nil || postPassed) {
		p.promoteGreen()
		promoted = true
	}
	p.status.BlueGreen.ActiveSelector = activeAfter

	p.clearDeadlines()
	if !p.ro.Spec.Paused || p.status.Abort {
		p.scaleBlueGreen(promoted, activeAfter)
	}
	p.status.BlueGreen.PreviewSelector = p.pointPreview()
	p.routePreviewHeaders(promoted)
	p.syncRoleMetadata(promoted)
	p.terminateStaleRuns(promoted)
	p.pruneHistory()
	p.pruneRuns()
	p.scaleWorkload(promoted)
	p.restartPods()
	p.checkProgressDeadline(promoted)
	orderActions(p.result.Actions)
}

// blueGreenLimits resolves maxUnavailable, which bounds a restart's
// evictions and the Available condition; blue-green surges by design.
func blueGreenLimits(bg *rolloutsv1alpha1.BlueGreenStrategy, replicas int32) limits {
	l, _ := resolveLimits(&zeroSurge, bg.MaxUnavailable, replicas) // validated
	return limits{unavailable: l.unavailable}
}

// steerBlueGreen applies what people set in status: a full promotion, or a
// rollback within the window, clears pauses and an abort, as in Argo; an
// abort clears the pauses and is timestamped; a retry clears the timestamp.
func (p *planner) steerBlueGreen() {
	if p.status.PromoteFull || p.fastRollback || (p.stable == nil && p.status.StableRS == p.hash) {
		// A first revision has nothing to go back to: no abort holds it.
		p.status.Abort = false
	}
	if p.status.PromoteFull || p.fastRollback || p.status.Abort {
		p.status.PauseConditions = nil
		p.status.ControllerPause = false
	}
	switch {
	case p.status.Abort && p.status.AbortedAt == nil:
		p.status.AbortedAt = &metav1.Time{Time: p.now}
	case !p.status.Abort:
		p.status.AbortedAt = nil
	}
}

// selectedHash is the revision a Service the Rollout manages selects, or ""
// when the Rollout has not pinned it yet.
func (p *planner) selectedHash(service string) string {
	svc := p.obs.Services[service]
	if svc == nil || svc.Annotations[rolloutsv1alpha1.ManagedByRolloutsKey] != p.ro.Name {
		return ""
	}
	return svc.Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
}

// greenSize is the size the current revision runs at: previewReplicaCount
// while it waits behind the preview, full size from the moment its gate is
// passed (the preview checkpoint) or a full promotion is asked for.
func (p *planner) greenSize(promoted bool, active string) int32 {
	preview := p.ro.Spec.Strategy.BlueGreen.PreviewReplicaCount
	if preview == nil || promoted || active == p.hash || p.status.PromoteFull || p.status.BlueGreen.ScaleUpPreviewCheckPoint {
		return replicasOf(p.ro)
	}
	return *preview
}

// previewCheckpoint records, once, that a green running at
// previewReplicaCount passed its gate, so it is scaled to full size before
// the switch and stays so while it gets there.
func (p *planner) previewCheckpoint(ready, passed bool) {
	bg := p.ro.Spec.Strategy.BlueGreen
	if bg.PreviewReplicaCount == nil || p.status.BlueGreen.ScaleUpPreviewCheckPoint {
		return
	}
	if ready && passed && !p.ro.Spec.Paused && !p.status.Abort && len(p.status.PauseConditions) == 0 {
		p.status.BlueGreen.ScaleUpPreviewCheckPoint = true
		p.status.ControllerPause = false // the checkpoint remembers the promote
	}
}

// blueGreenPause holds a ready green behind the preview, once its
// pre-promotion analysis passed, with the BlueGreenPause condition: until a
// person promotes (which clears the condition) when autoPromotionEnabled is
// false, or for autoPromotionSeconds. It reports whether the pause is over.
func (p *planner) blueGreenPause(ready, prePassed bool) bool {
	bg := p.ro.Spec.Strategy.BlueGreen
	auto := bg.AutoPromotionEnabled == nil || *bg.AutoPromotionEnabled
	if p.status.BlueGreen.ScaleUpPreviewCheckPoint || (auto && bg.AutoPromotionSeconds <= 0) {
		p.removePauseCondition(rolloutsv1alpha1.PauseReasonBlueGreenPause)
		return true
	}
	if p.status.Abort || p.ro.Spec.Paused || !ready || !prePassed ||
		p.pauseCondition(rolloutsv1alpha1.PauseReasonInconclusiveAnalysis) != nil {
		return false
	}
	cond := p.pauseCondition(rolloutsv1alpha1.PauseReasonBlueGreenPause)
	switch {
	case cond == nil && p.status.ControllerPause:
		return true // a person promoted: the condition is gone
	case cond == nil:
		p.status.PauseConditions = append(p.status.PauseConditions, rolloutsv1alpha1.PauseCondition{
			Reason: rolloutsv1alpha1.PauseReasonBlueGreenPause, StartTime: metav1.Time{Time: p.now},
		})
		p.status.ControllerPause = true
		cond = &p.status.PauseConditions[len(p.status.PauseConditions)-1]
	}
	if !auto {
		return false
	}
	return p.timedPauseOver(cond, time.Duration(bg.AutoPromotionSeconds)*time.Second)
}

// switchActive points the active Service at the revision it should serve
// and returns the hash it selects after this plan: the current revision
// once it went through its gate (or is the stable one), the stable one on
// an abort, and the stable one too when the Service was not pinned yet. It
// moves only to a ReplicaSet with every pod available, and holds still
// while a person pauses the rollout, except to go back on an abort.
func (p *planner) switchActive(active string, promoted, passed bool) string {
	name := p.ro.Spec.Strategy.BlueGreen.ActiveService
	var target *appsv1.ReplicaSet
	switch {
	case p.status.Abort:
		target = p.stable
	case p.ro.Spec.Paused:
	case promoted || passed:
		target = p.current
	}
	if target == nil && active == "" {
		target = p.stable
	}
	if target == nil || !p.fullyAvailable(target) {
		return active
	}
	hash := target.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
	if hash != active {
		if target == p.current && len(p.status.PauseConditions) == 0 {
			// Past the pause for good: a promote that ended it leaves
			// nothing for tools to read as a pause still being lifted.
			p.status.ControllerPause = false
		}
		p.result.Actions = append(p.result.Actions, SetServiceSelector{Service: name, Hash: hash})
		from := active
		if from == "" {
			from = "every pod of the Rollout"
		}
		p.event(false, "SwitchService", fmt.Sprintf("Switched selector for service '%s' from '%s' to '%s'", name, from, hash))
	}
	return hash
}

// fullyAvailable reports whether a ReplicaSet runs the Rollout's full size
// with every pod available, the only kind the active Service moves to.
func (p *planner) fullyAvailable(rs *appsv1.ReplicaSet) bool {
	replicas := replicasOf(p.ro)
	return specReplicas(rs) >= replicas && rs.Status.AvailableReplicas >= replicas
}

// promoteGreen makes the current revision the stable one: the active
// Service selects it and its post-promotion analysis, if any, passed. The
// old stable keeps its pods for scaleDownDelaySeconds.
func (p *planner) promoteGreen() {
	p.completedBecause = promotedBecause(p.status.PromoteFull, p.fastRollback, "Completed blue-green update")
	p.status.StableRS = p.hash
	p.status.PromoteFull = false
	p.status.PauseConditions = nil
	p.status.ControllerPause = false
	p.status.BlueGreen.ScaleUpPreviewCheckPoint = false
	if p.stable != nil {
		p.others = append(p.others, p.stable)
		p.stable = nil
	}
}

// scaleBlueGreen keeps the stable revision at full size, runs the current
// one at its size (or, aborted, for abortScaleDownDelaySeconds once the
// active Service is back on the stable one, then at none), and scales down
// older ReplicaSets no Service selects once their delay is over.
func (p *planner) scaleBlueGreen(promoted bool, activeAfter string) {
	replicas := replicasOf(p.ro)
	green := p.greenSize(promoted, activeAfter)
	if p.status.Abort && p.stable != nil && p.current != nil {
		green = specReplicas(p.current)
		if activeAfter != p.hash && green > 0 && !p.holdAborted(p.ro.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds) {
			green = 0
		}
	}
	if p.current == nil {
		p.createReplicaSet(green, promoted)
	} else {
		p.scaleTo(p.current, green)
	}
	if p.stable != nil {
		p.scaleTo(p.stable, replicas)
	}
	// What a Service selects, before this plan or after it, keeps its pods
	// at least until the next: endpoints follow a selector change only
	// after a while.
	bg := p.ro.Spec.Strategy.BlueGreen
	serving := map[string]bool{}
	for _, rs := range p.others {
		hash := rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
		serving[rs.Name] = hash == activeAfter || hash == p.selectedHash(bg.ActiveService) || hash == p.selectedHash(bg.PreviewService)
	}
	held := p.holdOldReplicaSets(serving)
	for _, rs := range p.others {
		if serving[rs.Name] || held[rs.Name] {
			p.planned[rs.Name] = specReplicas(rs)
			continue
		}
		p.scaleTo(rs, 0)
	}
}

// pointPreview points the preview Service at the current revision as soon
// as its ReplicaSet exists, as Argo does: a preview answering with the old
// version would pass a check that never saw the new one. After an abort it
// keeps the aborted pods while they run, for a look at what went wrong,
// then goes back to the stable ones. It returns the hash the Service
// selects after this plan.
func (p *planner) pointPreview() string {
	name := p.ro.Spec.Strategy.BlueGreen.PreviewService
	if name == "" {
		return ""
	}
	selected := p.selectedHash(name)
	target := p.current
	if p.status.Abort && p.stable != nil && (p.current == nil || p.current.Status.AvailableReplicas == 0 || p.planned[p.current.Name] == 0) {
		target = p.stable
	}
	if target == nil {
		return selected
	}
	hash := target.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
	if hash != selected {
		p.result.Actions = append(p.result.Actions, SetServiceSelector{Service: name, Hash: hash})
	}
	return hash
}

// routePreviewHeaders keeps the preview header route on the production
// route while a new revision waits for promotion behind the preview
// Service, once it has pods to answer; it goes at the switch, on an abort,
// and when the revision is replaced.
func (p *planner) routePreviewHeaders(promoted bool) {
	if p.routing == nil || p.routing.Preview == nil {
		return
	}
	var want []traffic.HeaderRoute
	if !promoted && !p.greenActive && !p.status.Abort && p.current != nil &&
		p.current.Status.AvailableReplicas > 0 && p.status.BlueGreen.PreviewSelector == p.hash {
		want = []traffic.HeaderRoute{*p.routing.Preview}
	}
	if rules := (traffic.ManagedRules{Headers: want}); !p.managedRoutesCarried(rules) {
		p.result.Actions = append(p.result.Actions, SetManagedRoutes{Rules: rules})
	}
}

// activeReplicaSet is the ReplicaSet a blue-green Rollout's active Service
// selects after this plan, or nil.
func (p *planner) activeReplicaSet() *appsv1.ReplicaSet {
	if p.ro.Spec.Strategy.BlueGreen == nil || p.status.BlueGreen.ActiveSelector == "" {
		return nil
	}
	for _, rs := range p.obs.ReplicaSets {
		if rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == p.status.BlueGreen.ActiveSelector {
			return rs
		}
	}
	return nil
}

// prePromotionAnalysis runs prePromotionAnalysis once green is up at its
// preview size, and reports whether it passed.
func (p *planner) prePromotionAnalysis(ready bool) bool {
	analysis := p.ro.Spec.Strategy.BlueGreen.PrePromotionAnalysis
	if analysis == nil {
		return true
	}
	if p.status.Abort {
		return false
	}
	return p.gate(gateRun{
		infix: "pre", typeLabel: rolloutsv1alpha1.RolloutTypePrePromotionLabel, analysis: analysis,
		mirror: &p.status.BlueGreen.PrePromotionAnalysisRunStatus, observed: p.ro.Status.BlueGreen.PrePromotionAnalysisRunStatus,
		start: ready,
	})
}

// postPromotionAnalysis runs postPromotionAnalysis once the active Service
// selects green, and reports whether it passed.
func (p *planner) postPromotionAnalysis() bool {
	analysis := p.ro.Spec.Strategy.BlueGreen.PostPromotionAnalysis
	if analysis == nil {
		return true
	}
	return p.gate(gateRun{
		infix: "post", typeLabel: rolloutsv1alpha1.RolloutTypePostPromotionLabel, analysis: analysis,
		mirror: &p.status.BlueGreen.PostPromotionAnalysisRunStatus, observed: p.ro.Status.BlueGreen.PostPromotionAnalysisRunStatus,
		start: true,
	})
}

// gateRun is one of a blue-green rollout's two analyses.
type gateRun struct {
	infix     string // in the run's name: "pre"
	typeLabel string // the rollout-type label's value, and its kind in events
	analysis  *rolloutsv1alpha1.RolloutAnalysis
	// mirror is the run's status in the planned status; observed, in the
	// observed one.
	mirror   **rolloutsv1alpha1.RolloutAnalysisRunStatus
	observed *rolloutsv1alpha1.RolloutAnalysisRunStatus
	// start allows creating the run.
	start bool
}

// gate follows the current revision's run of one analysis, creating it
// when allowed, mirrors it in status, and reports whether it passed. A
// failed run aborts the rollout; an inconclusive one pauses it until a
// person promotes past it, which counts as passed. Runs a retry superseded
// are left out, so a retried rollout runs the analysis again.
func (p *planner) gate(g gateRun) bool {
	seen := *g.mirror
	var run *rolloutsv1alpha1.AnalysisRun
	for _, r := range p.obs.AnalysisRuns {
		if r.Labels[rolloutsv1alpha1.RolloutTypeLabel] == g.typeLabel && p.ofCurrentAttempt(r) &&
			(seen == nil || r.Name == seen.Name) {
			run = r // without a mirror (a status write lost), the last one listed
		}
	}
	if run == nil {
		if g.start {
			p.createGateRun(g)
		}
		return false
	}
	p.announceRun(g.typeLabel, g.observed, run)
	*g.mirror = &rolloutsv1alpha1.RolloutAnalysisRunStatus{Name: run.Name, Status: run.Status.Phase, Message: run.Status.Message}
	switch run.Status.Phase {
	case rolloutsv1alpha1.AnalysisPhaseSuccessful:
		return true
	case rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseError:
		p.status.Abort = true
		p.status.AbortedAt = &metav1.Time{Time: p.now}
		p.status.PauseConditions = nil
		p.status.ControllerPause = false
	case rolloutsv1alpha1.AnalysisPhaseInconclusive:
		return p.pastInconclusive(seen, *g.mirror)
	default:
		p.gateRunning = true
	}
	return false
}

// createGateRun asks for a blue-green analysis run and mirrors it as
// pending.
func (p *planner) createGateRun(g gateRun) {
	run := p.newRun(g.analysis, g.infix, map[string]string{rolloutsv1alpha1.RolloutTypeLabel: g.typeLabel})
	p.gateRunning = true
	*g.mirror = &rolloutsv1alpha1.RolloutAnalysisRunStatus{Name: run.Name, Status: rolloutsv1alpha1.AnalysisPhasePending}
	if !p.creatingRun {
		p.creatingRun = true
		p.result.Actions = append(p.result.Actions, CreateAnalysisRun{Run: run})
	}
}

// blueGreenPhase is Argo's phase for a blue-green Rollout whose pods are
// all updated and available: waiting for the switch, or for the
// post-promotion analysis, or healthy.
func blueGreenPhase(ro *rolloutsv1alpha1.Rollout, st *rolloutsv1alpha1.RolloutStatus) (rolloutsv1alpha1.RolloutPhase, string) {
	switch {
	case st.BlueGreen.ActiveSelector == "" || st.BlueGreen.ActiveSelector != st.CurrentPodHash:
		return rolloutsv1alpha1.RolloutPhaseProgressing, "active service cutover pending"
	case st.StableRS != st.CurrentPodHash && ro.Spec.Strategy.BlueGreen.PostPromotionAnalysis != nil:
		return rolloutsv1alpha1.RolloutPhaseProgressing, "waiting for analysis to complete"
	case st.StableRS != st.CurrentPodHash:
		return rolloutsv1alpha1.RolloutPhaseProgressing, "waiting for post-promotion verification to complete"
	}
	return rolloutsv1alpha1.RolloutPhaseHealthy, ""
}
