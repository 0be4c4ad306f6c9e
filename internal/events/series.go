package events

import (
	"fmt"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/utils/lru"
)

// seriesWindow is how long after its last occurrence an Event can still be
// extended by a repeat, as client-go's recorder has it: a repeat later than
// that is a new Event.
const seriesWindow = 6 * time.Minute

// openSeries is what is remembered of an Event that was written: enough to
// extend it by a repeat, nothing of its text.
type openSeries struct {
	namespace, name string
	count           int32
	lastObserved    time.Time
}

// seriesIndex remembers the Events written lately, by what makes a repeat
// the same Event, so a repeat extends the Event's series instead of writing
// another. It is bounded: the least recently seen series is forgotten
// first, after which its next repeat is written as a new Event, which loses
// nothing but the count.
type seriesIndex struct {
	open *lru.Cache
}

func newSeriesIndex(size int) *seriesIndex {
	return &seriesIndex{open: lru.New(size)}
}

// seriesKey is what makes two Events the same: who reports it, about what
// object (at which resource version), and everything it says. Unlike
// client-go's key it includes the note, so two Events of one reason with
// different messages stay two Events rather than one whose later messages
// are lost.
func seriesKey(ev *eventsv1.Event) string {
	related := ""
	if ev.Related != nil {
		r := ev.Related
		related = fmt.Sprintf("%s/%s/%s/%s/%s", r.APIVersion, r.Kind, r.Namespace, r.Name, r.UID)
	}
	g := ev.Regarding
	return fmt.Sprintf("%s\x00%s\x00%s/%s/%s/%s/%s@%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		ev.ReportingController, ev.ReportingInstance,
		g.APIVersion, g.Kind, g.Namespace, g.Name, g.UID, g.ResourceVersion, g.FieldPath,
		related, ev.Type, ev.Reason, ev.Action+"\x00"+ev.Note)
}

// repeat reports whether an Event of key, seen at now, repeats one written
// within the series window; if so it counts the repeat and returns the
// series to patch.
func (s *seriesIndex) repeat(key string, now time.Time) (openSeries, bool) {
	v, ok := s.open.Get(key)
	if !ok {
		return openSeries{}, false
	}
	series := v.(*openSeries)
	if now.Sub(series.lastObserved) > seriesWindow {
		s.open.Remove(key)
		return openSeries{}, false
	}
	series.count++
	series.lastObserved = now
	return *series, true
}

// written remembers an Event that was created, as the first of its series.
func (s *seriesIndex) written(key string, ev *eventsv1.Event, now time.Time) {
	s.open.Add(key, &openSeries{namespace: ev.Namespace, name: ev.Name, count: 1, lastObserved: now})
}

// forget drops a series whose Event is gone, so its next repeat creates one.
func (s *seriesIndex) forget(key string) { s.open.Remove(key) }
