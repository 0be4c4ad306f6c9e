package notifications

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/internal/metrics"
)

// Delivery is one notification to send: the templates of a trigger's
// condition, rendered for one destination against an object as it was
// when the trigger ran.
type Delivery struct {
	// Object is what the templates render: the object as a plain map.
	Object map[string]any
	// Regarding is the object a failed send is recorded on, in an event.
	Regarding   runtime.Object
	Namespace   string
	Name        string
	Trigger     string
	Templates   []string
	Destination services.Destination
	// EventType and EventReason are the event that ran the trigger, for a
	// Rollout (Argo's notification_send_* metrics are labelled with it).
	EventType   string
	EventReason string
}

// SenderOptions tune a Sender; the zero value is the default.
type SenderOptions struct {
	// Workers send at once (default 4): a slow service holds up one.
	Workers int
	// RetryBase is the wait after a first failed send, doubled after each
	// failure up to RetryMax (defaults 1s and 5m).
	RetryBase, RetryMax time.Duration
	// Attempts bounds the sends of one delivery (default 12: the last about
	// 18 minutes after the first).
	Attempts int
	// Backlog bounds the deliveries waiting, to be sent or retried
	// (default 10000); a delivery past it is dropped and counted as
	// failed, so a service that is down for long cannot grow the
	// manager's memory without end.
	Backlog int
}

func (o SenderOptions) withDefaults() SenderOptions {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.Attempts <= 0 {
		o.Attempts = 12
	}
	if o.Backlog <= 0 {
		o.Backlog = 10000
	}
	return o
}

// Sender sends deliveries off the path of any reconcile, retrying a failed
// send with exponential backoff.
type Sender struct {
	source   *Source
	recorder recorder.EventRecorder
	opts     SenderOptions
	queue    workqueue.TypedRateLimitingInterface[*Delivery]
	// waiting counts the deliveries queued or waiting to be retried: the
	// queue's Len leaves out those waiting out a backoff.
	waiting atomic.Int64
}

// NewSender sends with source's services; failed sends are recorded with
// rec on the object they are about.
func NewSender(source *Source, rec recorder.EventRecorder, opts SenderOptions) *Sender {
	opts = opts.withDefaults()
	return &Sender{
		source:   source,
		recorder: rec,
		opts:     opts,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[*Delivery](opts.RetryBase, opts.RetryMax),
			workqueue.TypedRateLimitingQueueConfig[*Delivery]{Name: "notifications"}),
	}
}

// Enqueue queues a delivery and returns at once.
func (s *Sender) Enqueue(d *Delivery) {
	if s.waiting.Add(1) > int64(s.opts.Backlog) {
		s.waiting.Add(-1)
		metrics.Notifications.Delivered(d.Namespace, d.Name, d.Trigger, d.Destination.Service, d.EventType, d.EventReason, false, 0)
		writeEvent(s.recorder, d.Regarding, "NotificationFailed",
			"Notification "+d.Trigger+" to "+DestinationName(d.Destination.Service, d.Destination.Recipient)+" dropped: too many notifications are waiting to be sent")
		return
	}
	s.queue.Add(d)
}

// Start sends until ctx ends. The manager runs it on its leader only, as
// only the leader's controllers record what triggers deliveries.
func (s *Sender) Start(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.queue.ShutDown()
	}()
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Go(func() {
			for s.sendNext(ctx) {
			}
		})
	}
	wg.Wait()
	return nil
}

func (s *Sender) sendNext(ctx context.Context) bool {
	d, shutdown := s.queue.Get()
	if shutdown {
		return false
	}
	defer s.queue.Done(d)
	if ctx.Err() != nil {
		// Stopping: what is left is not sent (the next leader does not
		// send it either).
		s.forget(d)
		return true
	}
	start := time.Now()
	err := s.send(d)
	metrics.Notifications.Delivered(d.Namespace, d.Name, d.Trigger, d.Destination.Service, d.EventType, d.EventReason,
		err == nil, time.Since(start))
	logger := log.FromContext(ctx).WithValues("namespace", d.Namespace, "name", d.Name,
		"trigger", d.Trigger, "destination", DestinationName(d.Destination.Service, d.Destination.Recipient))
	if err == nil {
		s.forget(d)
		logger.V(1).Info("notification sent")
		return true
	}
	why := s.source.Redact(err.Error())
	attempt := s.queue.NumRequeues(d) + 1
	if attempt >= s.opts.Attempts {
		s.forget(d)
		logger.Info("notification not sent, giving up", "attempts", attempt, "error", why)
		writeEvent(s.recorder, d.Regarding, "NotificationFailed",
			"Notification "+d.Trigger+" to "+DestinationName(d.Destination.Service, d.Destination.Recipient)+" failed, giving up: "+why)
		return true
	}
	logger.Info("notification not sent, retrying", "attempt", attempt, "error", why)
	writeEvent(s.recorder, d.Regarding, "NotificationFailed",
		"Notification "+d.Trigger+" to "+DestinationName(d.Destination.Service, d.Destination.Recipient)+" failed, retrying: "+why)
	s.queue.AddRateLimited(d)
	return true
}

// forget is a delivery done with, sent or given up.
func (s *Sender) forget(d *Delivery) {
	s.queue.Forget(d)
	s.waiting.Add(-1)
}

func (s *Sender) send(d *Delivery) error {
	api, err := s.source.GetAPI()
	if err != nil {
		return err
	}
	return api.Send(d.Object, d.Templates, d.Destination)
}

// writeEvent records a Warning about a notification on obj.
func writeEvent(rec recorder.EventRecorder, obj runtime.Object, reason, message string) {
	if rec == nil || obj == nil {
		return
	}
	rec.Eventf(obj, nil, corev1.EventTypeWarning, reason, "Notify", "%s", message)
}

// DestinationName is a destination as subscriptions write it:
// service:recipient, or the service alone.
func DestinationName(service, recipient string) string {
	if recipient == "" {
		return service
	}
	return service + ":" + recipient
}
