package rollout

import (
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sluicehq/sluice/controllers/rollout/plan"
)

// expectationTTL bounds how long a reconcile waits for the cache to show the
// controller's own writes; past it, the cache is assumed right after all.
const expectationTTL = 10 * time.Second

// expectations remember, per Rollout, the writes the cache has not shown yet.
//
// After the controller writes, the watch event of that write is what brings
// the cache up to date, and it triggers a reconcile of its own. A reconcile
// that runs before it (woken by another object's event) would plan from a
// stale view and send the same write again, or a status patch bound to
// conflict. So such a reconcile does nothing and waits for that event.
type expectations struct {
	mu      sync.Mutex
	pending map[types.NamespacedName]pendingWrites
}

type pendingWrites struct {
	at time.Time
	// rolloutVersion is the Rollout's resourceVersion before a status write.
	// The write is made with an optimistic lock, so any later version in
	// the cache includes it.
	rolloutVersion string
	// replicaSets maps a ReplicaSet's name to a test of whether the cached
	// copy (nil when absent) shows the write. ReplicaSets are patched
	// without a lock, and the ReplicaSet controller updates them too, so a
	// newer version alone does not prove the write is in.
	replicaSets map[string]func(*appsv1.ReplicaSet) bool
}

func (e *expectations) expect(key types.NamespacedName, now time.Time, rolloutVersion string, replicaSets map[string]func(*appsv1.ReplicaSet) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pending == nil {
		e.pending = map[types.NamespacedName]pendingWrites{}
	}
	e.pending[key] = pendingWrites{at: now, rolloutVersion: rolloutVersion, replicaSets: replicaSets}
}

// stale reports whether an observation still misses one of the controller's
// writes, and how long to wait at most. Once it does not, the expectation is
// forgotten.
func (e *expectations) stale(key types.NamespacedName, obs plan.Observation) (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pending[key]
	if !ok {
		return 0, false
	}
	left := expectationTTL - obs.Now.Sub(p.at)
	if left <= 0 || !p.missing(obs) {
		delete(e.pending, key)
		return 0, false
	}
	return left, true
}

// forget drops what was expected of a Rollout: its writes failed, or it is
// gone.
func (e *expectations) forget(key types.NamespacedName) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pending, key)
}

func (p pendingWrites) missing(obs plan.Observation) bool {
	if p.rolloutVersion != "" && obs.Rollout.ResourceVersion == p.rolloutVersion {
		return true
	}
	seen := map[string]*appsv1.ReplicaSet{}
	for _, rs := range obs.ReplicaSets {
		seen[rs.Name] = rs
	}
	for name, shows := range p.replicaSets {
		if !shows(seen[name]) {
			return true
		}
	}
	return false
}
