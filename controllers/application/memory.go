package application

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/sluicehq/sluice/gitops/source"
)

// memory is what the controller keeps in this process about one
// Application, to spare requests: what the remote named last and what was
// applied or found in place. It is a cache and nothing more: a restart
// loses it, and the first reconcile after checks every object. What must
// survive a restart (a sync asked for, the retries) is in the status.
//
// Reconciles of one Application never run at once (the work queue holds
// one key once), so a memory needs no lock.
type memory struct {
	// asks are the request and refresh annotations last seen: a new one
	// trusts nothing remembered.
	asks string
	// resolution is what the remote named last, and when.
	resolution *resolution
	// synced is "<commit>@<generation>" once every object of that revision
	// was applied or found in place by this process.
	synced string
	// hashes are, by object, the hash of the object as last applied or
	// found in place: an object whose render hashes the same, and which no
	// watch saw change, needs no look.
	hashes map[string]uint64
	// deleteFailures counts the failed passes of a deletion's cascade, for
	// its backoff.
	deleteFailures int
}

// resolution is a revision the remote named, and when.
type resolution struct {
	source source.Revision
	url    string
	target string
	at     time.Time
}

// memories holds memory per Application, by UID, dropped with the
// Application.
type memories struct {
	byUID sync.Map // types.UID -> *memory
	// uids says whose memory is held, so it goes when the Application is
	// deleted or recreated under its name.
	uids sync.Map // types.NamespacedName -> types.UID
}

// of returns the memory of the Application of key and uid, forgetting an
// earlier Application of the same name.
func (m *memories) of(key types.NamespacedName, uid types.UID) *memory {
	if previous, loaded := m.uids.Swap(key, uid); loaded && previous.(types.UID) != uid {
		m.byUID.Delete(previous)
	}
	v, _ := m.byUID.LoadOrStore(uid, &memory{hashes: map[string]uint64{}})
	return v.(*memory)
}

// forget drops the memory of the Application of key.
func (m *memories) forget(key types.NamespacedName) {
	if uid, ok := m.uids.LoadAndDelete(key); ok {
		m.byUID.Delete(uid)
	}
}

// distrust forgets what was applied, so the next reconcile checks every
// object, and what the remote named, so it asks again.
func (m *memory) distrust() {
	m.resolution = nil
	m.synced = ""
	m.hashes = map[string]uint64{}
}
