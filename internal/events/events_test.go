package events

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// written is a sink that records what would be written; failNext makes
// the next writes fail with the given errors, in order.
type written struct {
	mu       sync.Mutex
	created  []*eventsv1.Event
	patched  []string // namespace/name=count
	failNext []error
}

func (w *written) fail() error {
	if len(w.failNext) == 0 {
		return nil
	}
	err := w.failNext[0]
	w.failNext = w.failNext[1:]
	return err
}

func (w *written) Create(_ context.Context, ev *eventsv1.Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.fail(); err != nil {
		return err
	}
	w.created = append(w.created, ev)
	return nil
}

func (w *written) PatchSeries(_ context.Context, namespace, name string, s eventsv1.EventSeries) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.fail(); err != nil {
		return err
	}
	w.patched = append(w.patched, namespace+"/"+name+"="+strings.Repeat("I", int(s.Count)))
	return nil
}

// clock is a settable time for the series window.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestProvider(s sink, c *clock) *Provider {
	return newProvider(s, clientgoscheme.Scheme, logr.Discard(), "host-1", c.now)
}

// drain writes everything queued, as the workers would, in queue order.
func drain(p *Provider) {
	for i, q := range p.queues {
		for {
			select {
			case ev := <-q:
				p.write(context.Background(), p.series[i], ev)
				continue
			default:
			}
			break
		}
	}
}

func deployment(name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name), ResourceVersion: "7"},
	}
}

func TestRecorderWritesAnEventAsClientGoShapesIt(t *testing.T) {
	sink, c := &written{}, &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	p := newTestProvider(sink, c)
	p.Recorder("sluice-rollout").Eventf(deployment("web"), nil, corev1.EventTypeWarning, "RolloutAborted", "Abort",
		"Rollout aborted at step %d", 2)
	drain(p)

	if len(sink.created) != 1 {
		t.Fatalf("created %d Events, want 1", len(sink.created))
	}
	ev := sink.created[0]
	checks := map[string][2]string{
		"namespace":           {ev.Namespace, "shop"},
		"reportingController": {ev.ReportingController, "sluice-rollout"},
		"reportingInstance":   {ev.ReportingInstance, "sluice-rollout-host-1"},
		"reason":              {ev.Reason, "RolloutAborted"},
		"action":              {ev.Action, "Abort"},
		"note":                {ev.Note, "Rollout aborted at step 2"},
		"type":                {ev.Type, corev1.EventTypeWarning},
		"regarding":           {ev.Regarding.Kind + "/" + ev.Regarding.Name, "Deployment/web"},
	}
	for field, got := range checks {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", field, got[0], got[1])
		}
	}
	if !strings.HasPrefix(ev.Name, "web.") || !ev.EventTime.Time.Equal(c.t) {
		t.Errorf("name %q, time %v: want web.<hex time>, %v", ev.Name, ev.EventTime.Time, c.t)
	}
}

func TestRepeatsExtendTheirSeriesWithinTheWindow(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	type record struct {
		after time.Duration // since start
		note  string
	}
	tests := []struct {
		name        string
		records     []record
		wantCreated []string // notes
		wantPatched int      // series patches
	}{
		{
			name:        "the same Event three times is one Event counted three times",
			records:     []record{{0, "step 1"}, {time.Second, "step 1"}, {2 * time.Second, "step 1"}},
			wantCreated: []string{"step 1"},
			wantPatched: 2,
		},
		{
			name:        "the same reason with another message is another Event",
			records:     []record{{0, "step 1"}, {time.Second, "step 2"}},
			wantCreated: []string{"step 1", "step 2"},
		},
		{
			name:        "a repeat after the window is a new Event",
			records:     []record{{0, "step 1"}, {seriesWindow + time.Second, "step 1"}},
			wantCreated: []string{"step 1", "step 1"},
		},
		{
			name:        "the window counts from the last repeat",
			records:     []record{{0, "x"}, {5 * time.Minute, "x"}, {10 * time.Minute, "x"}},
			wantCreated: []string{"x"},
			wantPatched: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink, c := &written{}, &clock{}
			p := newTestProvider(sink, c)
			rec := p.Recorder("sluice-rollout")
			for _, r := range tt.records {
				c.t = start.Add(r.after)
				rec.Eventf(deployment("web"), nil, corev1.EventTypeNormal, "RolloutStepCompleted", "Step", "%s", r.note)
				drain(p)
			}
			var notes []string
			for _, ev := range sink.created {
				notes = append(notes, ev.Note)
			}
			if strings.Join(notes, ",") != strings.Join(tt.wantCreated, ",") || len(sink.patched) != tt.wantPatched {
				t.Errorf("created %q and patched %v, want created %q and %d patches", notes, sink.patched, tt.wantCreated, tt.wantPatched)
			}
		})
	}
}

func TestASeriesWhoseEventIsGoneStartsAgain(t *testing.T) {
	sink, c := &written{}, &clock{t: time.Now()}
	p := newTestProvider(sink, c)
	rec := p.Recorder("sluice-rollout")
	rec.Eventf(deployment("web"), nil, corev1.EventTypeNormal, "Paused", "Pause", "paused")
	drain(p)
	sink.failNext = []error{apierrors.NewNotFound(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "web.1")}
	rec.Eventf(deployment("web"), nil, corev1.EventTypeNormal, "Paused", "Pause", "paused")
	drain(p)
	rec.Eventf(deployment("web"), nil, corev1.EventTypeNormal, "Paused", "Pause", "paused")
	drain(p)
	if len(sink.created) != 2 || len(sink.patched) != 1 || !strings.HasSuffix(sink.patched[0], "=II") {
		t.Errorf("created %d, patched %v: want the repeat created anew, then its own repeat counted 2", len(sink.created), sink.patched)
	}
}

func TestAWriteTheAPIServerCouldNotTakeIsTriedAgain(t *testing.T) {
	sink := &written{failNext: []error{apierrors.NewServiceUnavailable("starting")}}
	p := newTestProvider(sink, &clock{t: time.Now()})
	p.Recorder("sluice-rollout").Eventf(deployment("web"), nil, corev1.EventTypeNormal, "Paused", "Pause", "paused")
	drain(p)
	if len(sink.created) != 1 {
		t.Errorf("created %d Events after one unavailable answer, want 1", len(sink.created))
	}
}

func TestAnEventTheAPIServerRefusesIsNotTriedAgain(t *testing.T) {
	refused := apierrors.NewInvalid(schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, "web.1", nil)
	sink := &written{failNext: []error{refused}}
	p := newTestProvider(sink, &clock{t: time.Now()})
	p.Recorder("sluice-rollout").Eventf(deployment("web"), nil, corev1.EventTypeNormal, "Paused", "Pause", "paused")
	drain(p)
	if len(sink.created) != 0 || len(sink.failNext) != 0 {
		t.Errorf("created %d, failures left %d: want the refused Event dropped after one try", len(sink.created), len(sink.failNext))
	}
}

func TestAFullQueueDropsAndCounts(t *testing.T) {
	sink := &written{}
	p := newTestProvider(sink, &clock{t: time.Now()})
	rec := p.Recorder("sluice-rollout")
	// One object and reason: every Event goes to the same queue.
	for range queueLength + 3 {
		rec.Eventf(deployment("web"), nil, corev1.EventTypeNormal, "Paused", "Pause", "paused")
	}
	if got := p.Dropped(); got != 3 {
		t.Errorf("dropped %d, want 3", got)
	}
}

func TestEventsThatCannotBeWrittenAreNotQueued(t *testing.T) {
	p := newTestProvider(&written{}, &clock{t: time.Now()})
	rec := p.Recorder("sluice-rollout")
	rec.Eventf(deployment("web"), nil, "Critical", "Paused", "Pause", "an unknown type")
	rec.Eventf(&unregistered{}, nil, corev1.EventTypeNormal, "Paused", "Pause", "an object the scheme does not know")
	for i, q := range p.queues {
		if len(q) != 0 {
			t.Errorf("queue %d holds %d Events, want none", i, len(q))
		}
	}
}

type unregistered struct{ metav1.ObjectMeta }

func (u *unregistered) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (u *unregistered) DeepCopyObject() runtime.Object   { c := *u; return &c }

func TestTruncateKeepsWholeCharacters(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefghij"},
		{"ab€", 4, "ab"}, // € is three bytes: cutting inside it keeps none of it
		{"ab€", 5, "ab€"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestTheSeriesIndexIsBounded(t *testing.T) {
	index := newSeriesIndex(2)
	now := time.Now()
	for _, key := range []string{"a", "b", "c"} {
		index.written(key, &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: key}}, now)
	}
	if _, ok := index.repeat("a", now); ok {
		t.Error("the least recently seen series outlived the bound")
	}
	if _, ok := index.repeat("c", now); !ok {
		t.Error("the newest series was forgotten")
	}
}
