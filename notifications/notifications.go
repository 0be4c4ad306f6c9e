// Package notifications sends the notifications people subscribe to on
// Rollouts and Applications, with Argo's notifications engine
// (github.com/argoproj/notifications-engine) and the configuration Argo's
// users already have: the ConfigMap and Secret of services, templates and
// triggers, and the notifications.argoproj.io/subscribe.<trigger>.<service>
// annotations.
//
// Two kinds of triggers, as in Argo:
//   - A Rollout's triggers run when the Rollout controller records the
//     event of the same name (RolloutCompleted runs on-rollout-completed),
//     as Argo Rollouts does; the Rollout's status is the record of what
//     happened, so a restart records, and sends, nothing twice.
//   - An Application's triggers are conditions on the Application (Argo
//     CD's): each is evaluated whenever the Application changes, and what
//     was sent is kept in the notified.notifications.argoproj.io annotation,
//     as the engine keeps it, so a condition that stays true is sent once.
//
// Sending never happens on a reconcile's path: deliveries are queued and
// sent by workers of their own, retried with backoff when a send fails.
package notifications

import (
	"regexp"
	"strings"
)

// The ConfigMaps and Secrets the configuration is read from, in the
// manager's namespace. A Rollout's are Argo Rollouts' own names, so an
// installation's configuration carries over unchanged.
const (
	RolloutConfigMap     = "argo-rollouts-notification-configmap"
	RolloutSecret        = "argo-rollouts-notification-secret" //nolint:gosec // a name, not a credential
	ApplicationConfigMap = "sluice-notifications-cm"
	ApplicationSecret    = "sluice-notifications-secret" //nolint:gosec // a name, not a credential
)

// DefaultNamespace is where the configuration is read from when the
// manager runs outside a pod and no namespace is given: Argo Rollouts'.
const DefaultNamespace = "argo-rollouts"

var (
	firstCapital = regexp.MustCompile("(.)([A-Z][a-z]+)")
	lowerUpper   = regexp.MustCompile("([a-z0-9])([A-Z])")
)

// TriggerOf is the trigger an event reason runs, by Argo Rollouts' rule:
// on- and the reason in kebab case (RolloutStepCompleted runs
// on-rollout-step-completed, ScalingReplicaSet on-scaling-replica-set).
func TriggerOf(reason string) string {
	kebab := firstCapital.ReplaceAllString(reason, "${1}-${2}")
	kebab = lowerUpper.ReplaceAllString(kebab, "${1}-${2}")
	return "on-" + strings.ToLower(kebab)
}
