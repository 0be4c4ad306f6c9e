package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The notification families: Argo Rollouts' three, for notifications of
// Rollouts (labelled with the event that ran the trigger), and Sluice's
// count of every delivery, Rollouts' and Applications', by trigger,
// service and result.
var (
	notificationSendSuccess = Family{Name: "notification_send_success", Type: Counter, Argo: true,
		Labels: []string{"namespace", "name", "type", "reason"},
		Help:   "Notifications of a Rollout sent, by the type and reason of the event that ran the trigger."}
	notificationSendError = Family{Name: "notification_send_error", Type: Counter, Argo: true,
		Labels: []string{"namespace", "name", "type", "reason"},
		Help:   "Sends of a Rollout's notifications that failed (each retry counts), by the type and reason of the event that ran the trigger."}
	notificationSendPerformance = Family{Name: "notification_send_performance", Type: Histogram, Argo: true, Labels: namespaceName,
		Help: "How long sending one of a Rollout's notifications took, in seconds."}
	notificationDeliveries = Family{Name: "sluice_notifications_deliveries_total", Type: Counter,
		Labels: []string{"trigger", "service", "succeeded"},
		Help:   "Sends of notifications, Rollouts' and Applications', by trigger, service and whether the send succeeded (each retry counts)."}
)

// NotificationMetrics count the notifications sent.
type NotificationMetrics struct {
	success, failure, deliveries *prometheus.CounterVec
	duration                     *prometheus.HistogramVec
}

// Notifications are the manager's notification counters.
var Notifications = &NotificationMetrics{
	success:    notificationSendSuccess.counterVec(),
	failure:    notificationSendError.counterVec(),
	deliveries: notificationDeliveries.counterVec(),
	duration:   notificationSendPerformance.histogramVec(reconcileBuckets),
}

// Register serves the notification families; the notifications
// controller calls it from its Setup.
func (m *NotificationMetrics) Register() {
	register(m.collectors()...)
}

func (m *NotificationMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.success, m.failure, m.deliveries, m.duration}
}

// Delivered counts one send. eventType and reason are the event that ran
// a Rollout's trigger; empty for an Application's, which Argo's families
// do not count.
func (m *NotificationMetrics) Delivered(namespace, name, trigger, service, eventType, reason string, ok bool, took time.Duration) {
	m.deliveries.WithLabelValues(trigger, service, strconv.FormatBool(ok)).Inc()
	if reason == "" {
		return
	}
	if ok {
		m.success.WithLabelValues(namespace, name, eventType, reason).Inc()
	} else {
		m.failure.WithLabelValues(namespace, name, eventType, reason).Inc()
	}
	if took > 0 { // a delivery dropped unsent took no time to send
		m.duration.WithLabelValues(namespace, name).Observe(took.Seconds())
	}
}
