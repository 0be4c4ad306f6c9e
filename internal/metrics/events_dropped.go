package metrics

// eventsDropped counts the Events the manager's recorder (internal/events)
// let go because the API server could not take them as fast as they were
// recorded.
var eventsDropped = Family{Name: "sluice_events_dropped_total", Type: Counter,
	Labels: []string{"controller"},
	Help:   "Events the manager recorded but did not write, because its queue was full, by reporting controller."}

var eventsDroppedCounter = eventsDropped.counterVec()

// RegisterEvents serves the dropped-Events counter; the manager's event
// recorder calls it when it is installed.
func RegisterEvents() { register(eventsDroppedCounter) }

// EventDropped counts one Event of controller that was not written.
func EventDropped(controller string) { eventsDroppedCounter.WithLabelValues(controller).Inc() }
