package webhook

import (
	"crypto/sha256"
	"sync"
)

// deliveryKey names one delivery to one path. It is a digest, so what is
// remembered has a fixed size whatever id a sender makes up.
type deliveryKey [sha256.Size]byte

// keyOf is the key of a delivery id sent to target ("" for the shared
// path, "<namespace>/<name>" for an Application's): one tenant's ids never
// shadow another's.
func keyOf(target, delivery string) deliveryKey {
	return sha256.Sum256([]byte(target + "\x00" + delivery))
}

// deliveries remembers the last deliveries accepted, oldest forgotten
// first, so a repeat of one of them is dropped. It is safe for concurrent
// use.
type deliveries struct {
	mu   sync.Mutex
	size int
	// at says where in ring each remembered key is.
	at map[deliveryKey]int
	// ring holds the keys by age, growing to size; once it is full, next
	// is the oldest.
	ring []deliveryKey
	next int
}

func newDeliveries(size int) *deliveries {
	return &deliveries{size: size, at: map[deliveryKey]int{}}
}

// claim remembers key and reports whether it was new. Of two concurrent
// deliveries of one id, exactly one claims it.
func (d *deliveries) claim(key deliveryKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, seen := d.at[key]; seen {
		return false
	}
	if len(d.ring) < d.size {
		d.at[key] = len(d.ring)
		d.ring = append(d.ring, key)
		return true
	}
	oldest := d.ring[d.next]
	// A key forgotten and claimed again since sits at a newer place: only
	// its own place forgets it.
	if at, ok := d.at[oldest]; ok && at == d.next {
		delete(d.at, oldest)
	}
	d.ring[d.next] = key
	d.at[key] = d.next
	d.next = (d.next + 1) % d.size
	return true
}

// forget drops a claimed key whose delivery was not carried out, so it may
// be delivered again. Its place in the ring is left to age out.
func (d *deliveries) forget(key deliveryKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.at, key)
}
