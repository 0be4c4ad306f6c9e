package metrics

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// CountEvents wraps the Rollout controller's event recorder so that each
// event it records on a Rollout is counted in rollout_events_total, where
// Argo Rollouts counts them: as they are recorded.
func (m *RolloutMetrics) CountEvents(r recorder.EventRecorder) recorder.EventRecorder {
	return countingRecorder{EventRecorder: r, events: m.events}
}

type countingRecorder struct {
	recorder.EventRecorder
	events *prometheus.CounterVec
}

func (r countingRecorder) Eventf(regarding, related runtime.Object, eventType, reason, action, note string, args ...any) {
	r.count(regarding, eventType, reason)
	r.EventRecorder.Eventf(regarding, related, eventType, reason, action, note, args...)
}

func (r countingRecorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string,
	eventType, reason, action, note string, args ...any) {
	r.count(regarding, eventType, reason)
	r.EventRecorder.AnnotatedEventf(regarding, related, annotations, eventType, reason, action, note, args...)
}

func (r countingRecorder) count(regarding runtime.Object, eventType, reason string) {
	if ro, ok := regarding.(*rolloutsv1alpha1.Rollout); ok {
		r.events.WithLabelValues(ro.Namespace, ro.Name, eventType, reason).Inc()
	}
}
