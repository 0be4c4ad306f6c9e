package plan

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/sluicehq/sluice/traffic"
)

// defaultScaleDownDelay is how long an old ReplicaSet keeps its pods after
// it stops serving (scaleDownDelaySeconds), and an aborted canary or
// preview after its traffic went back to stable (abortScaleDownDelaySeconds),
// as in Argo.
const defaultScaleDownDelay = 30 * time.Second

// SetScaleDownDeadline records on a ReplicaSet when it may be scaled down;
// an empty Deadline removes the record. The record is Argo's annotation
// (rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey), left
// on a ReplicaSet that served routed traffic or a blue-green active
// Service: the time for gateways and proxies to stop sending to its pods,
// and a quick way back meanwhile.
type SetScaleDownDeadline struct {
	Name     string
	Deadline string
}

func (a SetScaleDownDeadline) String() string {
	if a.Deadline == "" {
		return "clear the scale-down deadline of ReplicaSet " + a.Name
	}
	return fmt.Sprintf("ReplicaSet %s may scale down after %s", a.Name, a.Deadline)
}

// delaySeconds reads an optional delay in seconds, with the default.
func delaySeconds(seconds *int32) time.Duration {
	if seconds == nil {
		return defaultScaleDownDelay
	}
	return time.Duration(*seconds) * time.Second
}

// holdUntilDeadline reports whether a ReplicaSet must keep its pods: it
// records a deadline delay from now the first time it is asked, and holds
// until then. A delay of zero or less never holds.
func (p *planner) holdUntilDeadline(rs *appsv1.ReplicaSet, delay time.Duration) bool {
	if delay <= 0 {
		return false
	}
	deadline, err := time.Parse(time.RFC3339, rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey])
	if err != nil {
		deadline = p.now.Add(delay).UTC().Truncate(time.Second)
		p.result.Actions = append(p.result.Actions, SetScaleDownDeadline{Name: rs.Name, Deadline: deadline.Format(time.RFC3339)})
	}
	if p.now.Before(deadline) {
		p.requeueAfter(deadline.Sub(p.now))
		return true
	}
	return false
}

// clearDeadlines removes the deadline of the ReplicaSets that serve again:
// a rollout back to a revision still waiting to scale down, or a retried
// canary.
func (p *planner) clearDeadlines() {
	for _, rs := range []*appsv1.ReplicaSet{p.current, p.stable} {
		if rs == nil || rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] == "" {
			continue
		}
		if rs == p.current && p.status.Abort {
			continue // the aborted canary's own wait
		}
		p.result.Actions = append(p.result.Actions, SetScaleDownDeadline{Name: rs.Name})
	}
}

// holdAbortedCanary reports whether an aborted canary keeps its pods: with
// traffic routing, until the routes send it nothing, and then for
// abortScaleDownDelaySeconds (30 s by default; 0 keeps them until the
// rollout is retried or replaced, as in Argo).
func (p *planner) holdAbortedCanary() bool {
	if p.routing == nil || !p.status.Abort || p.current == nil || specReplicas(p.current) == 0 || p.stable == nil {
		return false
	}
	if !p.routedAt(0) || !p.managedRoutesCarried(traffic.ManagedRules{}) {
		return true // the routes still send it requests
	}
	return p.holdAborted(p.ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds)
}

// holdAborted reports whether the aborted revision, which serves nothing
// any more, keeps its pods for abortScaleDownDelaySeconds: 30 s by default,
// and for good with 0, until the rollout is retried or replaced.
func (p *planner) holdAborted(seconds *int32) bool {
	if seconds != nil && *seconds == 0 {
		return true
	}
	return p.holdUntilDeadline(p.current, delaySeconds(seconds))
}

// holdOldReplicaSets picks the older ReplicaSets that keep their pods for
// scaleDownDelaySeconds after they stop serving, newest first, at most
// scaleDownDelayRevisionLimit of them: with traffic routing (gateways and
// proxies need the time to stop sending to them) and with blue-green (the
// old version stays warm for a quick way back). ReplicaSets a Service still
// selects, in serving, are not counted: their delay starts when they stop.
func (p *planner) holdOldReplicaSets(serving map[string]bool) map[string]bool {
	var delay, revisionLimit *int32
	switch bg, canary := p.ro.Spec.Strategy.BlueGreen, p.ro.Spec.Strategy.Canary; {
	case bg != nil:
		delay, revisionLimit = bg.ScaleDownDelaySeconds, bg.ScaleDownDelayRevisionLimit
	case p.routing == nil || canary.DynamicStableScale:
		return nil
	default:
		delay, revisionLimit = canary.ScaleDownDelaySeconds, canary.ScaleDownDelayRevisionLimit
	}
	held := map[string]bool{}
	limit := -1
	if revisionLimit != nil {
		limit = int(*revisionLimit)
	}
	for i := len(p.others) - 1; i >= 0; i-- {
		rs := p.others[i]
		if specReplicas(rs) == 0 || rs.Status.AvailableReplicas == 0 || limit == 0 || serving[rs.Name] {
			continue
		}
		if p.holdUntilDeadline(rs, delaySeconds(delay)) {
			held[rs.Name] = true
			limit--
		}
	}
	return held
}

// olderRevision orders ReplicaSets oldest first, as Argo does: by revision
// number, then by creation time. Creation times count whole seconds, and
// revisions created within one second (quick blue-green promotions) would
// otherwise come in any order, and scaleDownDelayRevisionLimit keep up an
// older revision than the newest ones.
func olderRevision(a, b *appsv1.ReplicaSet) bool {
	if ra, rb := revisionOf(a), revisionOf(b); ra != rb {
		return ra < rb
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}
