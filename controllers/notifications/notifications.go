// Package notifications wires the notifications package into the manager:
// the watches of the configuration, the sender, the hook on the Rollout
// controller's events and the controller that runs Applications' triggers.
package notifications

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/notifications"
)

// The manager reads the two configurations, each a ConfigMap and a Secret
// of its own namespace, by name and nothing else there (its watches select
// by metadata.name, which resourceNames authorises); the chart binds this
// Role there.
//
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch,resourceNames=argo-rollouts-notification-configmap;sluice-notifications-cm,namespace=sluice-system,roleName=sluice-notifications
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch,resourceNames=argo-rollouts-notification-secret;sluice-notifications-secret,namespace=sluice-system,roleName=sluice-notifications

// Options configure notifications.
type Options struct {
	// Namespace holds the ConfigMaps and Secrets of the configuration.
	Namespace string
	// Sender tunes the sending of Rollouts' notifications.
	Sender notifications.SenderOptions
}

// Hub is what the Rollout and Application controllers share of
// notifications. A nil *Hub is notifications turned off.
type Hub struct {
	opts         Options
	mgr          manager.Manager
	clientset    kubernetes.Interface
	rollouts     *notifications.Rollouts
	applications *notifications.Source
}

// New makes the hub of a manager; nothing is watched until a controller
// asks for its part.
func New(mgr manager.Manager, opts Options) (*Hub, error) {
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return nil, err
	}
	metrics.Notifications.Register()
	return &Hub{opts: opts, mgr: mgr, clientset: clientset}, nil
}

// RolloutEvents wraps the Rollout controller's event recorder so that its
// events run Rollouts' triggers (Argo Rollouts' configuration), and starts
// what sends them. On a nil hub it returns rec.
func (h *Hub) RolloutEvents(rec recorder.EventRecorder) (recorder.EventRecorder, error) {
	if h == nil {
		return rec, nil
	}
	if h.rollouts == nil {
		reader := h.mgr.GetClient()
		source := notifications.NewSource(h.clientset, h.opts.Namespace, notifications.RolloutSettings(
			func(namespace, podHash string) []rolloutsv1alpha1.AnalysisRun {
				var runs rolloutsv1alpha1.AnalysisRunList
				if err := reader.List(context.Background(), &runs, client.InNamespace(namespace),
					client.MatchingLabels{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: podHash}); err != nil {
					return nil
				}
				return runs.Items
			}))
		// Its own recorder: a failed send is no event of the Rollout
		// controller's, and rollout_events_total does not count it.
		sender := notifications.NewSender(source, h.mgr.GetEventRecorder("sluice-notifications"), h.opts.Sender)
		if err := h.mgr.Add(sourceRunnable{source}); err != nil {
			return nil, err
		}
		if err := h.mgr.Add(sender); err != nil {
			return nil, err
		}
		h.rollouts = notifications.NewRollouts(ctrl.Log.WithName("notifications"), source, sender)
	}
	return notifications.EventHook(rec, h.rollouts), nil
}

// applicationSource is the configuration of Applications' notifications,
// watched from the first controller that asks for it.
func (h *Hub) applicationSource() (*notifications.Source, error) {
	if h.applications == nil {
		h.applications = notifications.NewSource(h.clientset, h.opts.Namespace, notifications.ApplicationSettings())
		if err := h.mgr.Add(sourceRunnable{h.applications}); err != nil {
			return nil, err
		}
	}
	return h.applications, nil
}

// sourceRunnable runs a configuration's watches on every replica, leader
// or not, so a newly elected leader has its configuration at hand.
type sourceRunnable struct{ *notifications.Source }

func (sourceRunnable) NeedLeaderElection() bool { return false }

func (s sourceRunnable) Start(ctx context.Context) error {
	if err := s.Source.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
