// Package events records the manager's Kubernetes Events (events.k8s.io/v1),
// as client-go's events recorder does, in bounded memory.
//
// client-go's recorder keeps a copy of every Event it wrote for six to twelve
// minutes, to fold repeats into series. A controller that records a dozen
// Events per Rollout update keeps tens of thousands of them when a thousand
// Rollouts update at once: measured with the heap profiler, about half of the
// manager's memory growth per Rollout. This recorder remembers only what it
// needs to extend a series (a bounded index of small entries), and writes
// from queues of bounded length: when the API server cannot keep up, Events
// are dropped and counted rather than held, as client-go's broadcaster drops
// them when its queue is full. Events are best effort in Kubernetes; a
// controller's behaviour never depends on one being written.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/reference"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/internal/metrics"
)

// Limits of what the provider holds. The queues hold Events not yet written
// (a burst of a thousand Rollouts updating writes about eleven thousand);
// the index holds the series a repeat may still extend.
const (
	workers       = 4
	queueLength   = 1024 // per worker
	seriesEntries = 4096
	// maxNoteBytes is the API server's limit on an Event's note.
	maxNoteBytes = 1024
	// writeTimeout bounds one write, so a stalled API server holds a
	// worker for a while, not for ever.
	writeTimeout = 10 * time.Second
	// writeTries is how often a write the API server could not take for
	// the moment (unreachable, overloaded) is tried, a second apart and
	// then longer.
	writeTries = 3
)

// sink writes Events: the API server's events.k8s.io client, or a unit
// test's record.
type sink interface {
	Create(ctx context.Context, ev *eventsv1.Event) error
	PatchSeries(ctx context.Context, namespace, name string, series eventsv1.EventSeries) error
}

// Provider hands out the controllers' recorders and writes their Events.
// It is a manager Runnable: Events recorded before it starts wait in its
// queues.
type Provider struct {
	scheme   *runtime.Scheme
	log      logr.Logger
	instance string
	sink     sink
	queues   []chan *eventsv1.Event
	series   []*seriesIndex // one per queue: a key always goes to one queue
	now      func() time.Time
	dropped  atomic.Int64
}

// NewProvider makes a provider writing through cfg.
func NewProvider(cfg *rest.Config, scheme *runtime.Scheme, log logr.Logger) (*Provider, error) {
	cl, err := eventsv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	hostname, _ := os.Hostname()
	return newProvider(apiSink{cl}, scheme, log, hostname, time.Now), nil
}

func newProvider(s sink, scheme *runtime.Scheme, log logr.Logger, instance string, now func() time.Time) *Provider {
	p := &Provider{scheme: scheme, log: log, instance: instance, sink: s, now: now}
	for range workers {
		p.queues = append(p.queues, make(chan *eventsv1.Event, queueLength))
		p.series = append(p.series, newSeriesIndex(seriesEntries/workers))
	}
	return p
}

// Recorder is the recorder of one controller, the Events' reporting
// controller; their reporting instance is it and the host's name, as
// client-go names it.
func (p *Provider) Recorder(controller string) recorder.EventRecorder {
	instance := controller
	if p.instance != "" {
		instance += "-" + p.instance
	}
	return &eventRecorder{provider: p, controller: controller, instance: instance}
}

// Dropped is how many Events were not written because a queue was full.
func (p *Provider) Dropped() int64 { return p.dropped.Load() }

// NeedLeaderElection is false: whichever replica records an Event writes it.
func (p *Provider) NeedLeaderElection() bool { return false }

// Start writes queued Events until ctx ends.
func (p *Provider) Start(ctx context.Context) error {
	done := make(chan struct{}, len(p.queues))
	for i := range p.queues {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-p.queues[i]:
					p.write(ctx, p.series[i], ev)
				}
			}
		}()
	}
	for range p.queues {
		<-done
	}
	return nil
}

// enqueue queues an Event for its key's worker, or drops it when that queue
// is full.
func (p *Provider) enqueue(ev *eventsv1.Event) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(seriesKey(ev)))
	select {
	case p.queues[h.Sum32()%uint32(len(p.queues))] <- ev:
	default:
		metrics.EventDropped(ev.ReportingController)
		// Logged at the 1st, 2nd, 4th, 8th... drop: a storm of drops is
		// not a storm of lines.
		if n := p.dropped.Add(1); n&(n-1) == 0 {
			p.log.Info("Events are recorded faster than the API server takes them; dropping some", "dropped", n)
		}
	}
}

// write writes one Event: a repeat of an Event written within the series
// window extends that Event's series; anything else is created.
func (p *Provider) write(ctx context.Context, index *seriesIndex, ev *eventsv1.Event) {
	key := seriesKey(ev)
	now := p.now()
	if series, ok := index.repeat(key, now); ok {
		err := retry(ctx, func(ctx context.Context) error {
			return p.sink.PatchSeries(ctx, series.namespace, series.name, eventsv1.EventSeries{
				Count: series.count, LastObservedTime: metav1.NewMicroTime(now),
			})
		})
		if err == nil {
			return
		}
		// The Event is gone (expired, deleted): write the repeat anew.
		index.forget(key)
		if !apierrors.IsNotFound(err) {
			p.log.V(1).Info("Event series not extended", "event", ev.Namespace+"/"+ev.Name, "error", err.Error())
			return
		}
	}
	if err := retry(ctx, func(ctx context.Context) error { return p.sink.Create(ctx, ev) }); err != nil {
		p.log.V(1).Info("Event not written", "event", ev.Namespace+"/"+ev.Name, "reason", ev.Reason, "error", err.Error())
		return
	}
	index.written(key, ev, now)
}

// retry runs a write until it succeeds, fails for good, or has been tried
// writeTries times; each try is bounded by writeTimeout.
func retry(ctx context.Context, write func(context.Context) error) error {
	wait := time.Second
	for try := 1; ; try++ {
		tryCtx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := write(tryCtx)
		cancel()
		if err == nil || try == writeTries || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
			wait *= 2
		}
	}
}

// transient reports whether a write failed for the moment only: the API
// server unreachable or overloaded, not the Event refused.
func transient(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true // no answer from the API server at all
	}
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}

// eventRecorder is one controller's recorder.
type eventRecorder struct {
	provider             *Provider
	controller, instance string
}

func (r *eventRecorder) Eventf(regarding, related runtime.Object, eventType, reason, action, note string, args ...any) {
	r.AnnotatedEventf(regarding, related, nil, eventType, reason, action, note, args...)
}

func (r *eventRecorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string,
	eventType, reason, action, note string, args ...any) {
	p := r.provider
	message := note
	if len(args) > 0 {
		message = fmt.Sprintf(note, args...)
	}
	if eventType != corev1.EventTypeNormal && eventType != corev1.EventTypeWarning {
		p.log.Error(nil, "Event of an unknown type not recorded", "type", eventType, "reason", reason)
		return
	}
	ref, err := reference.GetReference(p.scheme, regarding)
	if err != nil {
		p.log.Error(err, "Event about an object without a reference not recorded", "reason", reason)
		return
	}
	var relatedRef *corev1.ObjectReference
	if related != nil {
		relatedRef, _ = reference.GetReference(p.scheme, related)
	}
	now := p.now()
	namespace := ref.Namespace
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// The name client-go gives: the object's and the time's.
			Name:        fmt.Sprintf("%v.%x", ref.Name, now.UnixNano()),
			Namespace:   namespace,
			Annotations: annotations,
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: r.controller,
		ReportingInstance:   r.instance,
		Action:              action,
		Reason:              reason,
		Regarding:           *ref,
		Related:             relatedRef,
		Note:                truncate(message, maxNoteBytes),
		Type:                eventType,
	}
	p.log.V(1).Info(ev.Note, "type", eventType, "object", ref.Kind+" "+ref.Namespace+"/"+ref.Name, "reason", reason)
	p.enqueue(ev)
}

// truncate shortens s to at most n bytes, on a character boundary, so a
// long message still makes a valid Event.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// apiSink writes to the API server.
type apiSink struct {
	client eventsv1client.EventsV1Interface
}

func (s apiSink) Create(ctx context.Context, ev *eventsv1.Event) error {
	_, err := s.client.Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

func (s apiSink) PatchSeries(ctx context.Context, namespace, name string, series eventsv1.EventSeries) error {
	patch, err := json.Marshal(map[string]any{"series": series})
	if err != nil {
		return err
	}
	_, err = s.client.Events(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// Install gives mgr's controllers this package's recorders: it returns mgr
// with GetEventRecorder answered by a Provider that runs with mgr. Pass the
// returned manager to the controllers' setup.
func Install(mgr manager.Manager) (manager.Manager, error) {
	p, err := NewProvider(mgr.GetConfig(), mgr.GetScheme(), mgr.GetLogger().WithName("events"))
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(p); err != nil {
		return nil, err
	}
	metrics.RegisterEvents()
	return recordingManager{Manager: mgr, provider: p}, nil
}

// recordingManager is a manager whose event recorders are a Provider's.
type recordingManager struct {
	manager.Manager
	provider *Provider
}

func (m recordingManager) GetEventRecorder(name string) recorder.EventRecorder {
	return m.provider.Recorder(name)
}
