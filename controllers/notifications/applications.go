package notifications

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/argoproj/notifications-engine/pkg/controller"
	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/argoproj/notifications-engine/pkg/subscriptions"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/notifications"
)

// ApplicationOptions tune the controller of an Application kind's
// notifications.
type ApplicationOptions struct {
	// Name is the controller's name in logs and metrics.
	Name string
	// Kind is the Application kind: Sluice's or Argo CD's.
	Kind schema.GroupVersionKind
	// Object is an empty object of the kind as the manager's cache holds
	// it: typed for Sluice's, unstructured for Argo CD's, so the
	// controller shares the Application controller's informer.
	Object func() client.Object
	// RetryBase and RetryMax bound the backoff of a failed send (defaults
	// 1s and 5m).
	RetryBase, RetryMax time.Duration
}

// WatchApplications runs Argo CD's triggers on an Application kind: each
// time an Application changes, every trigger it is subscribed to is
// evaluated, and a condition that became true is sent once. On a nil hub
// it does nothing.
func (h *Hub) WatchApplications(opts ApplicationOptions) error {
	if h == nil {
		return nil
	}
	source, err := h.applicationSource()
	if err != nil {
		return err
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	r := &applicationNotifier{
		client:   h.mgr.GetClient(),
		reader:   h.mgr.GetAPIReader(),
		source:   source,
		kind:     opts.Kind,
		recorder: h.mgr.GetEventRecorder("sluice-notifications"),
	}
	r.newObject = opts.Object
	return ctrl.NewControllerManagedBy(h.mgr).
		Named(opts.Name).
		For(opts.Object()).
		WithOptions(crcontroller.Options{
			MaxConcurrentReconciles: 4,
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](
				opts.RetryBase, opts.RetryMax),
		}).
		Complete(r)
}

// applicationNotifier is the engine's notification controller, for one
// Application kind, with a failed send retried with backoff (the engine
// waits for the object's next change).
type applicationNotifier struct {
	client client.Client
	// reader reads around the cache, when a send is about to be made: the
	// cache may not show yet the record the last reconcile wrote.
	reader    client.Reader
	source    *notifications.Source
	kind      schema.GroupVersionKind
	newObject func() client.Object
	recorder  recorder.EventRecorder
}

func (r *applicationNotifier) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.newObject()
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.source.Synced() {
		// The configuration is not read yet (the manager is starting):
		// evaluating now would find no trigger and forget nothing, but
		// would send nothing either.
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	notifier, err := r.source.GetAPI()
	if err != nil {
		return ctrl.Result{}, errors.New(r.source.Redact(err.Error()))
	}
	cfg := notifier.GetConfig()
	subscribed := notifications.Destinations(cfg, obj.GetLabels(), obj.GetAnnotations())
	if len(subscribed) == 0 {
		return ctrl.Result{}, nil
	}
	app, err := r.unstructured(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	state := controller.NewStateFromRes(app)
	sent := r.alreadySent(ctx, app)
	var failed []error
	for trigger, to := range subscribed {
		if _, configured := cfg.Triggers[trigger]; !configured {
			continue
		}
		to = notifications.Configured(notifier, to, func(dest services.Destination) {
			log.FromContext(ctx).Info("subscribed to a service the configuration does not have",
				"trigger", trigger, "service", dest.Service)
		})
		results, err := notifier.RunTrigger(trigger, app.Object)
		if err != nil {
			log.FromContext(ctx).Info("trigger not evaluated", "trigger", trigger, "error", r.source.Redact(err.Error()))
			continue
		}
		for _, result := range results {
			for _, dest := range to {
				// The engine's record: a condition is sent once while it
				// holds (once per value of oncePer), and again after it
				// stopped holding.
				if !state.SetAlreadyNotified(false, "", trigger, result, dest, result.Triggered) || !result.Triggered {
					continue
				}
				key := controller.StateItemKey(false, "", trigger, result, dest)
				if at, ok := sent()[key]; ok {
					state[key] = at // recorded by a reconcile the cache does not show yet
					continue
				}
				start := time.Now()
				err := notifier.Send(app.Object, result.Templates, dest)
				metrics.Notifications.Delivered(app.GetNamespace(), app.GetName(), trigger, dest.Service, "", "", err == nil, time.Since(start))
				if err != nil {
					// Not sent: no record, so the retry sends it (the
					// engine's own undo keeps a oncePer condition's).
					delete(state, key)
					why := r.source.Redact(err.Error())
					r.recorder.Eventf(app, nil, corev1.EventTypeWarning, "NotificationFailed", "Notify",
						"Notification %s to %s failed, retrying: %s", trigger, notifications.DestinationName(dest.Service, dest.Recipient), why)
					failed = append(failed, errors.New(why))
				}
			}
		}
	}
	if err := r.persist(ctx, app, state); err != nil {
		return ctrl.Result{}, err
	}
	// A failed send is retried with the queue's backoff; what was sent is
	// recorded already and is not sent again.
	return ctrl.Result{}, errors.Join(failed...)
}

// alreadySent reads, once and only when asked (a send is about to be
// made), the record of what was sent from the API server: the cache may
// lag behind the record the last reconcile wrote, and a send it shows as
// not made yet would be made twice.
func (r *applicationNotifier) alreadySent(ctx context.Context, app *unstructured.Unstructured) func() controller.NotificationsState {
	var fresh controller.NotificationsState
	return func() controller.NotificationsState {
		if fresh == nil {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(r.kind)
			if err := r.reader.Get(ctx, client.ObjectKeyFromObject(app), live); err != nil {
				fresh = controller.NotificationsState{}
			} else {
				fresh = controller.NewStateFromRes(live)
			}
		}
		return fresh
	}
}

// unstructured is an Application as triggers and templates read it, with
// its kind.
func (r *applicationNotifier) unstructured(obj client.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	data, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: data}
	u.SetGroupVersionKind(r.kind)
	return u, nil
}

// persist writes the record of what was sent into the Application's
// notified.notifications.argoproj.io annotation, when it changed.
func (r *applicationNotifier) persist(ctx context.Context, app *unstructured.Unstructured, state controller.NotificationsState) error {
	key := subscriptions.NotifiedAnnotationKey()
	annotations, err := state.Persist(app)
	if err != nil {
		return err
	}
	value, has := annotations[key]
	if old, had := app.GetAnnotations()[key]; had == has && old == value {
		return nil
	}
	var patched any
	if has {
		patched = value
	}
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: patched}}})
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(r.client.Patch(ctx, app, client.RawPatch(types.MergePatchType, data)))
}
