package notifications

import (
	"errors"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/argoproj/notifications-engine/pkg/subscriptions"
	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// Rollouts runs Rollouts' triggers on their events and queues what they
// send.
type Rollouts struct {
	source *Source
	sender *Sender
	log    logr.Logger
}

// NewRollouts runs triggers configured in source and sends with sender.
func NewRollouts(logger logr.Logger, source *Source, sender *Sender) *Rollouts {
	return &Rollouts{source: source, sender: sender, log: logger}
}

// startupWait bounds how long the first events wait for the configuration
// to be read, once, when the manager starts.
const startupWait = 10 * time.Second

// Notify runs the trigger of an event recorded on a Rollout (see
// TriggerOf) for each destination subscribed to it, and queues a delivery
// for each condition that holds. ro is the Rollout as the controller read
// it before the change the event tells of, as Argo's templates expect
// (Argo's rollout-step-completed adds one to status.currentStepIndex).
// It returns at once: nothing is sent here.
func (n *Rollouts) Notify(ro *rolloutsv1alpha1.Rollout, eventType, reason string) {
	if !n.source.WaitSynced(startupWait) {
		n.log.Info("notifications configuration not read yet, event not notified", "reason", reason,
			"namespace", ro.Namespace, "name", ro.Name)
		return
	}
	notifier, err := n.source.GetAPI()
	if err != nil {
		n.log.Error(errors.New(n.source.Redact(err.Error())), "notifications configuration unreadable",
			"configMap", n.source.Settings().ConfigMapName, "namespace", n.source.Namespace())
		return
	}
	trigger := TriggerOf(reason)
	to := Configured(notifier, Destinations(notifier.GetConfig(), ro.Labels, ro.Annotations)[trigger],
		func(dest services.Destination) {
			n.log.Info("subscribed to a service the configuration does not have", "namespace", ro.Namespace,
				"name", ro.Name, "trigger", trigger, "service", dest.Service)
		})
	if len(to) == 0 {
		return // the common case: nobody subscribed, nothing evaluated
	}
	conditions, configured := notifier.GetConfig().Triggers[trigger]
	if !configured {
		return // subscribed to a trigger the configuration does not define
	}
	obj, err := rolloutObject(ro)
	if err != nil {
		n.log.Error(err, "rollout not readable for its notifications", "namespace", ro.Namespace, "name", ro.Name)
		return
	}
	results, err := notifier.RunTrigger(trigger, obj)
	if err != nil {
		n.log.Error(errors.New(n.source.Redact(err.Error())), "trigger not evaluated", "trigger", trigger,
			"namespace", ro.Namespace, "name", ro.Name)
		return
	}
	// Events about a delivery need the Rollout's identity only.
	regarding := &rolloutsv1alpha1.Rollout{TypeMeta: metav1.TypeMeta{
		APIVersion: rolloutsv1alpha1.SchemeGroupVersion.String(), Kind: "Rollout"}, ObjectMeta: metav1.ObjectMeta{
		Namespace: ro.Namespace, Name: ro.Name, UID: ro.UID, ResourceVersion: ro.ResourceVersion}}
	for i, result := range results {
		// A condition without when runs on every event, as in Argo
		// Rollouts, whose default triggers have none; the engine alone
		// would read it as false.
		if !result.Triggered && (i >= len(conditions) || conditions[i].When != "") {
			continue
		}
		for _, dest := range to {
			n.sender.Enqueue(&Delivery{
				Object: obj, Regarding: regarding, Namespace: ro.Namespace, Name: ro.Name,
				Trigger: trigger, Templates: result.Templates, Destination: dest,
				EventType: eventType, EventReason: reason,
			})
		}
	}
}

// Destinations are the subscriptions of an object, by trigger: the
// configuration's own (selected by labels) and the object's annotations,
// deduplicated.
func Destinations(cfg api.Config, labels, annotations map[string]string) services.Destinations {
	dests := cfg.GetGlobalDestinations(labels)
	dests.Merge(subscriptions.NewAnnotations(annotations).GetDestinations(cfg.DefaultTriggers, cfg.ServiceDefaultTriggers))
	return dests.Dedup()
}

// Configured keeps the destinations whose service the configuration has;
// unknown is told of each other one. A subscription is anyone's who may
// annotate: one that names no service must not be retried, counted under
// a name of its own, or recorded again and again.
func Configured(notifier api.API, to []services.Destination, unknown func(services.Destination)) []services.Destination {
	have := notifier.GetNotificationServices()
	kept := to[:0:0]
	for _, dest := range to {
		if _, ok := have[dest.Service]; ok {
			kept = append(kept, dest)
		} else if unknown != nil {
			unknown(dest)
		}
	}
	return kept
}

// rolloutObject is a Rollout as its templates see it, with its kind.
func rolloutObject(ro *rolloutsv1alpha1.Rollout) (map[string]any, error) {
	obj, err := Plain(ro)
	if err != nil {
		return nil, err
	}
	obj["apiVersion"], obj["kind"] = rolloutsv1alpha1.SchemeGroupVersion.String(), "Rollout"
	return obj, nil
}

// EventHook wraps the Rollout controller's event recorder: each event
// recorded on a Rollout also runs its trigger with n. A nil n returns rec.
func EventHook(rec recorder.EventRecorder, n *Rollouts) recorder.EventRecorder {
	if n == nil {
		return rec
	}
	return hookedRecorder{EventRecorder: rec, rollouts: n}
}

type hookedRecorder struct {
	recorder.EventRecorder
	rollouts *Rollouts
}

func (r hookedRecorder) Eventf(regarding, related runtime.Object, eventType, reason, action, note string, args ...any) {
	r.EventRecorder.Eventf(regarding, related, eventType, reason, action, note, args...)
	r.notify(regarding, eventType, reason)
}

func (r hookedRecorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string,
	eventType, reason, action, note string, args ...any) {
	r.EventRecorder.AnnotatedEventf(regarding, related, annotations, eventType, reason, action, note, args...)
	r.notify(regarding, eventType, reason)
}

func (r hookedRecorder) notify(regarding runtime.Object, eventType, reason string) {
	if ro, ok := regarding.(*rolloutsv1alpha1.Rollout); ok {
		r.rollouts.Notify(ro, eventType, reason)
	}
}
