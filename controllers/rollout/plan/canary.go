package plan

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/internal/instance/inherit"
	"github.com/sluicehq/sluice/traffic"
)

// defaultRevisionHistoryLimit is how many old ReplicaSets are kept for undo.
const defaultRevisionHistoryLimit = 10

// Plan decides what to do next for a Rollout. See the package comment.
func Plan(obs Observation) Result {
	p := &planner{obs: obs, ro: obs.Rollout, now: obs.Now, planned: map[string]int32{}}
	p.status = *obs.Rollout.Status.DeepCopy()
	p.status.ObservedGeneration = strconv.FormatInt(obs.Rollout.Generation, 10)
	resolved, err := resolveWorkload(obs)
	if obs.Unreadable != nil {
		// A Rollout read only in part is not acted on.
		err = obs.Unreadable
	}
	if err == nil {
		p.ro = resolved
		p.obs.Rollout = resolved
		err = validate(p.obs)
	}
	if err == nil {
		if actions := retryActions(obs); len(actions) > 0 {
			return Result{Status: *obs.Rollout.Status.DeepCopy(), Actions: actions}
		}
	}
	if err == nil && len(obs.Orphans) > 0 {
		// Adopt first and plan once they show up as owned: planning around
		// ReplicaSets the Rollout does not control yet could only fight
		// them. The status is left as it is until then.
		result := Result{Status: *obs.Rollout.Status.DeepCopy()}
		for _, rs := range obs.Orphans {
			result.Actions = append(result.Actions, AdoptReplicaSet{Name: rs.Name})
		}
		return result
	}
	if err != nil {
		p.invalid(err.Error())
	} else {
		removeCondition(&p.status, rolloutsv1alpha1.InvalidSpec)
		p.routing, _ = traffic.SettingsOf(p.ro) // validated
		p.forgetOtherStrategy()
		if p.ro.Spec.Strategy.BlueGreen != nil {
			p.planBlueGreen()
		} else {
			p.planCanary()
		}
		p.releaseServices()
	}
	p.finishStatus()
	p.result.Status = p.status
	return p.result
}

// planner holds one planning pass. Only Plan creates it.
type planner struct {
	obs    Observation
	ro     *rolloutsv1alpha1.Rollout
	now    time.Time
	status rolloutsv1alpha1.RolloutStatus
	result Result

	hash     string               // pod-template hash of the current template
	current  *appsv1.ReplicaSet   // the ReplicaSet of the current template, if it exists
	stable   *appsv1.ReplicaSet   // the stable ReplicaSet, when it is not current
	others   []*appsv1.ReplicaSet // every other ReplicaSet, oldest first
	revision int64                // the current template's revision
	limits   limits
	// fastRollback is set when the current template is a recent revision
	// within spec.rollbackWindow: it goes back without the steps.
	fastRollback bool
	// timedOut and progressed are the progress-deadline verdicts.
	timedOut, progressed bool
	// planned is each ReplicaSet's spec.replicas after this plan's scaling.
	planned map[string]int32
	// creatingRun is set once this plan creates an AnalysisRun.
	creatingRun bool
	// routing is the Rollout's traffic routing, or nil when replica counts
	// alone shape its traffic.
	routing *traffic.Settings
	// canaryHeld is set while an aborted canary keeps its pods.
	canaryHeld bool
	// greenActive is set when, after this plan, a blue-green Rollout's
	// active Service selects the current revision.
	greenActive bool
	// gateRunning is set while a blue-green analysis decides whether the
	// rollout goes on: waiting for it is not a lack of progress.
	gateRunning bool
	// completedBecause says why the current revision became stable in
	// this pass, in Argo's words, for the RolloutCompleted event.
	completedBecause string
}

func (p *planner) invalid(message string) {
	p.setCondition(rolloutsv1alpha1.InvalidSpec, corev1.ConditionTrue, "InvalidSpec", message)
}

// planCanary walks a valid canary Rollout: ReplicaSets, steps, scaling,
// Services and history, in that order.
func (p *planner) planCanary() {
	canary := p.ro.Spec.Strategy.Canary
	replicas := replicasOf(p.ro)
	p.limits, _ = resolveLimits(canary.MaxSurge, canary.MaxUnavailable, replicas) // validated
	p.sortReplicaSets()
	p.resetOnNewRevision()

	promoted := p.status.StableRS == p.hash
	weight, atDesired := p.walkSteps(promoted)
	// After the steps, which see a cleared pause first: a promote that
	// clears a step's pause and the background run's pause at once must
	// not be taken twice. A failed run aborts from the next pass on.
	p.backgroundAnalysis(promoted)
	if !promoted && !p.status.Abort && atDesired && p.stepsDone() && p.fullyRouted() {
		// Every step is done and the canary runs at full size (and, with
		// traffic routing, has all the traffic): it is the new stable.
		p.completedBecause = promotedBecause(p.status.PromoteFull, p.fastRollback,
			fmt.Sprintf("Completed all %d canary steps", len(p.steps())))
		p.status.StableRS = p.hash
		p.status.PromoteFull = false
		if p.stable != nil {
			p.others = append(p.others, p.stable)
			p.stable = nil
		}
		promoted = true
	}
	p.canaryHeld = p.holdAbortedCanary()
	p.clearDeadlines()
	if !p.ro.Spec.Paused || p.status.Abort {
		// A person's pause (spec.paused) freezes the pods where they are;
		// an abort still goes back to stable.
		p.scale(weight, promoted)
	}
	p.syncRoleMetadata(promoted)
	p.terminateStaleRuns(promoted)
	p.terminateStaleExperiments(promoted)
	p.pointServices(promoted)
	p.routeTraffic(weight, promoted)
	p.pruneHistory()
	p.pruneRuns()
	p.pruneExperiments()
	p.scaleWorkload(promoted)
	p.restartPods()
	p.checkProgressDeadline(promoted)
	orderActions(p.result.Actions)
}

// orderActions puts Service changes before any pods go away: a Service
// moves to the pods that stay before the ones it selected are scaled down
// or evicted. Within a kind, the planned order is kept.
func orderActions(actions []Action) {
	rank := func(a Action) int {
		switch a.(type) {
		case CreateReplicaSet, SetRevision, SyncPodMetadata, CreateAnalysisRun, TerminateAnalysisRun,
			CreateExperiment, TerminateExperiment:
			return 0
		case SetServiceSelector:
			return 1
		default:
			return 2
		}
	}
	sort.SliceStable(actions, func(i, j int) bool { return rank(actions[i]) < rank(actions[j]) })
}

// sortReplicaSets finds the current and stable ReplicaSets among the owned
// ones, and numbers the current template's revision.
func (p *planner) sortReplicaSets() {
	p.hash = PodTemplateHash(&p.ro.Spec.Template, p.ro.Status.CollisionCount)
	owned := append([]*appsv1.ReplicaSet(nil), p.obs.ReplicaSets...)
	sort.SliceStable(owned, func(i, j int) bool { return olderRevision(owned[i], owned[j]) })
	for _, rs := range owned {
		if rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == p.hash {
			p.current = rs
		}
	}
	if p.current == nil {
		// A ReplicaSet made by another controller, or by an older hash
		// function, for the same template is adopted rather than replaced.
		for _, rs := range owned {
			if sameTemplate(rs, &p.ro.Spec.Template, p.antiAffinity() != nil) {
				p.current = rs
				p.hash = rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
			}
		}
	}
	// No stable yet (a first deploy) or a stable that is gone: the current
	// template goes straight to full size with no steps, as Argo does.
	stableHash := p.status.StableRS
	var maxRevision int64
	for _, rs := range owned {
		if rs != p.current {
			maxRevision = max(maxRevision, revisionOf(rs))
		}
		switch {
		case rs == p.current:
		case rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == stableHash:
			p.stable = rs
		default:
			p.others = append(p.others, rs)
		}
	}
	if p.stable == nil && stableHash != p.hash {
		p.status.StableRS = p.hash
	}
	p.fastRollback = p.withinRollbackWindow(owned)
	p.revision = maxRevision + 1
	if p.current != nil && revisionOf(p.current) > maxRevision {
		p.revision = revisionOf(p.current)
	} else if p.current != nil {
		p.result.Actions = append(p.result.Actions, SetRevision{Name: p.current.Name, Revision: strconv.FormatInt(p.revision, 10)})
	}
}

// withinRollbackWindow reports whether the current template is a rollback
// that skips the steps: its ReplicaSet is older than the stable one (so this
// is a return to something that ran before, not a redeploy), and fewer than
// spec.rollbackWindow.revisions ReplicaSets were created in between. These
// are Argo's rules.
func (p *planner) withinRollbackWindow(owned []*appsv1.ReplicaSet) bool {
	window := p.ro.Spec.RollbackWindow
	if window == nil || window.Revisions <= 0 || p.current == nil || p.stable == nil ||
		!p.current.CreationTimestamp.Before(&p.stable.CreationTimestamp) {
		return false
	}
	var between int32
	for _, rs := range owned {
		if p.current.CreationTimestamp.Before(&rs.CreationTimestamp) && rs.CreationTimestamp.Before(&p.stable.CreationTimestamp) {
			between++
		}
	}
	return between < window.Revisions
}

// resetOnNewRevision starts the steps over when the template or the steps
// change, and clears the steering of the previous revision.
func (p *planner) resetOnNewRevision() {
	stepsHash := ""
	if p.ro.Spec.Strategy.Canary != nil {
		stepsHash = StepsHash(p.steps())
	}
	if p.status.CurrentPodHash == p.hash && p.status.CurrentStepHash == stepsHash {
		return
	}
	if p.status.CurrentPodHash != p.hash {
		p.announceUpdated()
	}
	p.status.CurrentPodHash = p.hash
	p.status.CurrentStepHash = stepsHash
	p.status.Canary.CurrentStepAnalysisRunStatus = nil
	p.status.CurrentStepIndex = ptr.To[int32](0)
	if p.ro.Spec.Strategy.BlueGreen != nil {
		p.status.CurrentStepIndex = nil // blue-green has no steps
	}
	p.status.BlueGreen.ScaleUpPreviewCheckPoint = false
	p.status.BlueGreen.PrePromotionAnalysisRunStatus = nil
	p.status.BlueGreen.PostPromotionAnalysisRunStatus = nil
	p.status.PauseConditions = nil
	p.status.ControllerPause = false
	p.status.Abort = false
	p.status.AbortedAt = nil
	p.status.PromoteFull = false
}

// steps are the canary's steps; a blue-green Rollout has none.
func (p *planner) steps() []rolloutsv1alpha1.CanaryStep {
	if p.ro.Spec.Strategy.Canary == nil {
		return nil
	}
	return p.ro.Spec.Strategy.Canary.Steps
}

// stepIndex is status.currentStepIndex, kept within 0..len(steps): the
// field is patched by people and tools, and the CRD sets no bounds.
func (p *planner) stepIndex() int32 {
	if p.status.CurrentStepIndex == nil {
		return 0
	}
	return min(max(*p.status.CurrentStepIndex, 0), int32(len(p.steps())))
}

func (p *planner) stepsDone() bool {
	return p.status.PromoteFull || p.stepIndex() >= int32(len(p.steps()))
}

// walkSteps advances through every step that is already satisfied and
// returns the canary weight to run at, and whether the ReplicaSets are at
// the counts that weight asks for.
func (p *planner) walkSteps(promoted bool) (weight int32, atDesired bool) {
	steps := p.steps()
	switch {
	case promoted:
		p.status.CurrentStepIndex = ptr.To(int32(len(steps)))
		return p.maxWeight(), p.atCounts(p.maxWeight(), true)
	case p.status.PromoteFull || p.fastRollback:
		// A full promote overrides an abort, as in Argo: the person asked
		// for this revision everywhere.
		p.status.Abort, p.status.AbortedAt = false, nil
		p.status.CurrentStepIndex = ptr.To(int32(len(steps)))
		p.status.PauseConditions = nil
		p.status.ControllerPause = false
		return p.maxWeight(), p.atCounts(p.maxWeight(), false)
	case p.status.Abort:
		if p.status.AbortedAt == nil {
			p.status.AbortedAt = &metav1.Time{Time: p.now}
		}
		p.status.CurrentStepIndex = ptr.To[int32](0)
		p.status.PauseConditions = nil
		p.status.ControllerPause = false
		return 0, p.atCounts(0, false)
	}
	// A retry (abort set back to false) starts the steps over.
	p.status.AbortedAt = nil
	if p.status.CurrentStepIndex != nil {
		// An index patched outside the steps is written back as the step
		// the walk reads it as, so tools showing it name a real step.
		p.status.CurrentStepIndex = ptr.To(p.stepIndex())
	}
	for {
		index := p.stepIndex()
		weight = p.currentWeight()
		atDesired = p.atCounts(weight, false)
		if index >= int32(len(steps)) || p.ro.Spec.Paused {
			return weight, atDesired
		}
		step := steps[index]
		var done bool
		switch {
		case step.SetWeight != nil:
			// With traffic routing, the step is reached once the routes
			// were read back at its weight.
			done = atDesired && (p.routing == nil || p.routedAt(weight))
		case step.SetCanaryScale != nil:
			done = atDesired
		case step.SetHeaderRoute != nil, step.SetMirrorRoute != nil:
			done = p.managedRouteStep(index)
		case step.Pause != nil:
			done = p.pauseStep(step.Pause)
		case step.Analysis != nil:
			done = p.analysisStep(index, step.Analysis)
		case step.Experiment != nil:
			done = p.experimentStep(index, step.Experiment)
		}
		if !done {
			return weight, atDesired
		}
		p.announceStepCompleted(index)
		p.status.CurrentStepIndex = ptr.To(index + 1)
		p.progressed = true // a step is progress, for the progress deadline
	}
}

// currentWeight is the weight of the last setWeight step at or before the
// current step: 0 before the first, 100 once every step is done.
func (p *planner) currentWeight() int32 {
	steps := p.steps()
	index := p.stepIndex()
	if index >= int32(len(steps)) {
		return p.maxWeight()
	}
	for i := index; i >= 0; i-- {
		if w := steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// pauseStep reports whether a pause step is over. A pause with a duration
// ends on its own; any pause ends when someone clears the pause condition
// (kubectl argo rollouts promote does), which shows as controllerPause still
// set with no condition left.
func (p *planner) pauseStep(pause *rolloutsv1alpha1.RolloutPause) bool {
	cond := p.pauseCondition(rolloutsv1alpha1.PauseReasonCanaryPauseStep)
	switch {
	case cond == nil && p.status.ControllerPause:
		p.status.ControllerPause = false
		return true
	case cond == nil:
		p.status.PauseConditions = append(p.status.PauseConditions, rolloutsv1alpha1.PauseCondition{
			Reason:    rolloutsv1alpha1.PauseReasonCanaryPauseStep,
			StartTime: metav1.Time{Time: p.now},
		})
		p.status.ControllerPause = true
		cond = &p.status.PauseConditions[len(p.status.PauseConditions)-1]
	}
	if pause.Duration == nil {
		return false // until promoted
	}
	return p.timedPauseOver(cond, time.Duration(pause.DurationSeconds())*time.Second)
}

// timedPauseOver reports whether a pause that lasts d is over; then it
// removes its condition, and until then it asks to look again when it ends.
func (p *planner) timedPauseOver(cond *rolloutsv1alpha1.PauseCondition, d time.Duration) bool {
	end := cond.StartTime.Add(d)
	if p.now.Before(end) {
		p.requeueAfter(end.Sub(p.now))
		return false
	}
	p.removePauseCondition(cond.Reason)
	p.status.ControllerPause = false
	return true
}

// desiredCounts is the canary and stable size a weight asks for.
func (p *planner) desiredCounts(weight int32, promoted bool) (canary, stable int32) {
	replicas := replicasOf(p.ro)
	switch {
	case promoted || p.stable == nil:
		return replicas, 0
	case p.routing != nil && p.status.Abort && p.canaryHeld:
		// The canary keeps its pods until its traffic is back on stable,
		// and then for abortScaleDownDelaySeconds.
		return specReplicas(p.current), replicas
	case p.routing != nil && p.status.Abort:
		return 0, replicas
	case p.routing != nil:
		return p.routedCounts(weight, replicas)
	}
	return weightedCounts(replicas, weight, defaultMaxWeight, p.limits.surge)
}

// atCounts reports whether the ReplicaSets run the counts a weight asks for,
// every desired pod available (of the canary, as many as
// replicaProgressThreshold asks) and every other ReplicaSet empty.
func (p *planner) atCounts(weight int32, promoted bool) bool {
	wantCanary, wantStable := p.desiredCounts(weight, promoted)
	if !p.canaryReached(wantCanary, promoted) {
		return false
	}
	if p.stable != nil && !settledAt(p.stable, wantStable) {
		return false
	}
	for _, rs := range p.others {
		if !settledAt(rs, 0) {
			return false
		}
	}
	return true
}

// settledAt reports whether a ReplicaSet runs exactly want pods: asked for,
// available, and with any surplus pods gone, so a step is reached only when
// its pod counts are real.
func settledAt(rs *appsv1.ReplicaSet, want int32) bool {
	if rs == nil {
		return want == 0
	}
	return specReplicas(rs) == want && rs.Status.Replicas == want && rs.Status.AvailableReplicas >= want
}

// scale plans the replica counts for a weight: the canary and stable one safe
// step closer, and older ReplicaSets drained within maxUnavailable.
func (p *planner) scale(weight int32, promoted bool) {
	wantCanary, wantStable := p.desiredCounts(weight, promoted)
	var othersSpec int32
	for _, rs := range p.others {
		othersSpec += specReplicas(rs)
	}
	canary, stable := nextCanaryCounts(canaryTargets{
		replicas:      replicasOf(p.ro),
		desiredCanary: wantCanary,
		desiredStable: wantStable,
		limits:        p.limits,
		canary:        countsOf(p.current),
		stable:        countsOf(p.stable),
		othersSpec:    othersSpec,
	})
	if p.routing != nil {
		// With traffic routing the stable ReplicaSet stays whole and the
		// canary is added beside it, as in Argo: maxSurge does not apply.
		canary, stable = wantCanary, wantStable
	}
	if p.current == nil {
		p.createReplicaSet(canary, promoted)
	} else {
		p.scaleTo(p.current, canary)
	}
	if p.stable != nil {
		p.scaleTo(p.stable, stable)
	}
	p.drainOthers(canary, stable)
}

// drainOthers scales down every ReplicaSet that is neither canary nor stable,
// oldest first, removing unavailable pods freely and available ones only as
// far as maxUnavailable allows.
func (p *planner) drainOthers(canary, stable int32) {
	available := min(countsOf(p.current).available, canary) + min(countsOf(p.stable).available, stable)
	for _, rs := range p.others {
		// A ReplicaSet already shrinking keeps only what it asks for.
		available += min(specReplicas(rs), rs.Status.AvailableReplicas)
	}
	spare := max(0, available-(replicasOf(p.ro)-p.limits.unavailable))
	held := p.holdOldReplicaSets(nil)
	for _, rs := range p.others {
		spec := specReplicas(rs)
		if spec == 0 || held[rs.Name] {
			p.planned[rs.Name] = spec
			continue
		}
		unavailable := max(0, spec-min(spec, rs.Status.AvailableReplicas))
		remove := min(spec, unavailable+spare)
		spare -= max(0, remove-unavailable)
		p.scaleTo(rs, spec-remove)
	}
}

func (p *planner) scaleTo(rs *appsv1.ReplicaSet, to int32) {
	p.planned[rs.Name] = to
	if from := specReplicas(rs); from != to {
		p.result.Actions = append(p.result.Actions, ScaleReplicaSet{Name: rs.Name, From: from, To: to})
		revision := revisionOf(rs)
		if rs == p.current {
			revision = p.revision // renumbered, if need be, before it is scaled
		}
		p.announceScale(rs.Name, revision, from, to)
	}
}

// createReplicaSet creates the current revision's ReplicaSet with replicas
// pods.
func (p *planner) createReplicaSet(replicas int32, promoted bool) {
	rs := p.newReplicaSet(replicas, promoted)
	p.result.Actions = append(p.result.Actions, CreateReplicaSet{ReplicaSet: rs})
	if replicas > 0 {
		p.announceScale(rs.Name, p.revision, 0, replicas)
	}
}

// newReplicaSet builds the ReplicaSet for the current template.
func (p *planner) newReplicaSet(replicas int32, promoted bool) *appsv1.ReplicaSet {
	template := *p.ro.Spec.Template.DeepCopy()
	role, stableRole := p.roleMetadata()
	if promoted {
		role = stableRole
	}
	template.Spec.Affinity = p.withAntiAffinity(template.Spec.Affinity)
	template.Labels, template.Annotations = withRoleMetadata(template.Labels, template.Annotations, role)
	template.Labels = withLabel(template.Labels, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, p.hash)
	// The ReplicaSet is in the Rollout's shard (its pods need not be): the
	// shard's manager caches only its shard's ReplicaSets.
	meta := p.revisionMeta(p.ro.Name+"-"+p.hash, inherit.Shard(p.ro.Labels,
		withLabel(copyMap(p.ro.Spec.Template.Labels), rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, p.hash)))
	if !emptyMetadata(role) {
		meta.Annotations[EphemeralMetadataAnnotation] = EncodeMetadata(role)
	}
	selector := p.ro.Spec.Selector.DeepCopy()
	selector.MatchLabels = withLabel(selector.MatchLabels, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, p.hash)
	return &appsv1.ReplicaSet{
		ObjectMeta: meta,
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To(replicas),
			MinReadySeconds: p.ro.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        template,
		},
	}
}

// revisionMeta is the metadata of an object the Rollout makes for its
// current revision: the Rollout's namespace, the revision number in
// RevisionAnnotation, and the Rollout as its controller.
func (p *planner) revisionMeta(name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        name,
		Namespace:   p.ro.Namespace,
		Labels:      labels,
		Annotations: map[string]string{RevisionAnnotation: strconv.FormatInt(p.revision, 10)},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(p.ro,
			rolloutsv1alpha1.SchemeGroupVersion.WithKind("Rollout"))},
	}
}

// pointServices pins the canary and stable Services to their revisions, but
// never to a ReplicaSet with no available pods: each Service falls back to
// the other side's pods (the canary Service to the stable pods before the
// first canary is up and after an abort; the stable Service to the canary
// pods at 100% before promotion) and otherwise keeps what it selects.
func (p *planner) pointServices(promoted bool) {
	canary := p.ro.Spec.Strategy.Canary
	stable := p.stable
	if promoted || stable == nil {
		stable = p.current
	}
	p.pointService(canary.StableService, stable, p.current)
	if p.status.Abort {
		// An abort takes the canary's traffic away at once, as in Argo.
		p.pointService(canary.CanaryService, stable, p.current)
	} else {
		p.pointService(canary.CanaryService, p.current, stable)
	}
}

func (p *planner) pointService(name string, candidates ...*appsv1.ReplicaSet) {
	if name == "" {
		return
	}
	// Last resort: an older revision that still has pods, rather than a
	// selector that matches nothing.
	candidates = append(candidates, p.others...)
	svc := p.obs.Services[name]
	managed := svc.Annotations[rolloutsv1alpha1.ManagedByRolloutsKey] == p.ro.Name
	// Pods that stay first; failing those, the last pods standing.
	for _, draining := range []bool{false, true} {
		for _, rs := range candidates {
			if !p.canServe(rs, managed, draining) {
				continue
			}
			hash := rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
			if svc.Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] != hash || !managed {
				p.result.Actions = append(p.result.Actions, SetServiceSelector{Service: name, Hash: hash})
			}
			return
		}
	}
}

// canServe reports whether a Service may select a ReplicaSet's pods: some
// are available and, unless draining ones are allowed, this plan does not
// scale it to zero. A Service the Rollout does not manage yet (it selects
// every pod of the app today) moves only to a fully available ReplicaSet,
// so taking it over never shrinks what it serves.
func (p *planner) canServe(rs *appsv1.ReplicaSet, managed, draining bool) bool {
	if rs == nil || rs.Status.AvailableReplicas == 0 {
		return false
	}
	if planned, scaled := p.planned[rs.Name]; scaled && planned == 0 && !draining {
		return false
	}
	return managed || rs.Status.AvailableReplicas >= specReplicas(rs)
}

// pruneHistory deletes the oldest empty ReplicaSets beyond
// revisionHistoryLimit.
func (p *planner) pruneHistory() {
	limit := int32(defaultRevisionHistoryLimit)
	if p.ro.Spec.RevisionHistoryLimit != nil {
		limit = *p.ro.Spec.RevisionHistoryLimit
	}
	var empty []*appsv1.ReplicaSet
	for _, rs := range p.others {
		if specReplicas(rs) == 0 && rs.Status.Replicas == 0 {
			empty = append(empty, rs)
		}
	}
	for i := 0; i < len(empty)-int(limit); i++ {
		p.result.Actions = append(p.result.Actions, DeleteReplicaSet{Name: empty[i].Name})
	}
}

// sameTemplate compares a ReplicaSet's pod template with a Rollout's,
// ignoring what the controller adds: the pod-template-hash label, the role
// metadata and, when the strategy asks for antiAffinity, its term.
func sameTemplate(rs *appsv1.ReplicaSet, template *corev1.PodTemplateSpec, antiAffinity bool) bool {
	a, b := rs.Spec.Template.DeepCopy(), template.DeepCopy()
	a.Labels, a.Annotations = withoutRoleMetadata(a.Labels, a.Annotations, appliedMetadata(rs))
	if antiAffinity {
		a.Spec.Affinity = withoutAntiAffinity(a.Spec.Affinity)
	}
	delete(a.Labels, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey)
	delete(b.Labels, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey)
	return apiequality.Semantic.DeepEqual(normalizeEmpty(a), normalizeEmpty(b))
}

// normalizeEmpty treats empty label and annotation maps as absent.
func normalizeEmpty(t *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	if len(t.Labels) == 0 {
		t.Labels = nil
	}
	if len(t.Annotations) == 0 {
		t.Annotations = nil
	}
	return t
}

func countsOf(rs *appsv1.ReplicaSet) rsCounts {
	if rs == nil {
		return rsCounts{}
	}
	return rsCounts{exists: true, spec: specReplicas(rs), available: rs.Status.AvailableReplicas}
}

func specReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

func revisionOf(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations[RevisionAnnotation], 10, 64)
	return n
}

func withLabel(m map[string]string, key, value string) map[string]string {
	out := copyMap(m)
	out[key] = value
	return out
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
