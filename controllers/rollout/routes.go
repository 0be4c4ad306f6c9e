package rollout

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/traffic"
)

// routeIndex indexes Rollouts by the routes their traffic routing names, as
// "<kind>/<namespace>/<name>".
const routeIndex = ".spec.strategy.canary.trafficRouting.routes"

func routeIndexKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

func indexRoutes(ctx context.Context, mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &rolloutsv1alpha1.Rollout{}, routeIndex, func(obj client.Object) []string {
		settings, err := traffic.SettingsOf(obj.(*rolloutsv1alpha1.Rollout))
		if err != nil || settings == nil {
			return nil
		}
		keys := make([]string, 0, len(settings.Routes))
		for _, r := range settings.Routes {
			keys = append(keys, routeIndexKey(r.Kind, r.Namespace, r.Name))
		}
		return keys
	})
}

// rolloutsRouting maps a route of a kind to the Rollouts, in any namespace,
// whose traffic routing names it.
func (r *Reconciler) rolloutsRouting(kind string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list rolloutsv1alpha1.RolloutList
		if err := r.Client.List(ctx, &list,
			client.MatchingFields{routeIndex: routeIndexKey(kind, obj.GetNamespace(), obj.GetName())}); err != nil {
			log.FromContext(ctx).Error(err, "listing the Rollouts that route through a route")
			return nil
		}
		requests := make([]reconcile.Request, 0, len(list.Items))
		for _, ro := range list.Items {
			requests = append(requests, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
		}
		return requests
	}
}

// routesPollInterval is how often a manager started before Gateway API's
// CRDs looks for them again.
const routesPollInterval = 10 * time.Second

// watchRoutes starts the controller's watches on Gateway API routes once the
// cluster serves them. When it does at start-up they are set up here, before
// any worker runs, so no Rollout is reconciled as if routes could not
// exist; otherwise a routeWatcher keeps looking, so CRDs installed later
// need no restart. Until then, a Rollout that routes traffic is told its
// routes are not found (InvalidSpec), and goes on once they are.
func watchRoutes(mgr ctrl.Manager, c controller.Controller, r *Reconciler) error {
	if servesRoutes(mgr) {
		return addRouteWatches(mgr, c, r)
	}
	return mgr.Add(&routeWatcher{mgr: mgr, controller: c, reconciler: r})
}

// addRouteWatches marks the routes as served, then watches them: a route's
// first event must find the flag set.
func addRouteWatches(mgr ctrl.Manager, c controller.Controller, r *Reconciler) error {
	r.gatewayAPI.Store(true)
	for kind, route := range map[string]client.Object{traffic.HTTPRouteKind: &gatewayv1.HTTPRoute{}, traffic.GRPCRouteKind: &gatewayv1.GRPCRoute{}} {
		if err := c.Watch(source.Kind(mgr.GetCache(), route,
			handler.EnqueueRequestsFromMapFunc(r.rolloutsRouting(kind)))); err != nil {
			return fmt.Errorf("watching %s: %w", kind, err)
		}
	}
	return nil
}

// routeWatcher looks for Gateway API's CRDs until the cluster serves them,
// then adds the route watches.
type routeWatcher struct {
	mgr        ctrl.Manager
	controller controller.Controller
	reconciler *Reconciler
}

// NeedLeaderElection is false: every replica looks for the CRDs. The
// watches it adds start with the controller, so on the leader only, from
// the moment it takes the Lease (controller-runtime holds a source added
// before then until the controller starts).
func (w *routeWatcher) NeedLeaderElection() bool { return false }

func (w *routeWatcher) Start(ctx context.Context) error {
	log := ctrl.Log.WithName(Name)
	log.Info("Gateway API's HTTPRoute and GRPCRoute are not served; Rollouts that route traffic wait until they are")
	for !servesRoutes(w.mgr) {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(routesPollInterval):
		}
	}
	if err := addRouteWatches(w.mgr, w.controller, w.reconciler); err != nil {
		return err
	}
	log.Info("Gateway API's routes are served now; watching them")
	<-ctx.Done()
	return nil
}

// servesRoutes reports whether the cluster has Gateway API's HTTPRoute and
// GRPCRoute CRDs, which watching them needs. A cluster without them can
// still run every Rollout that routes no traffic.
func servesRoutes(mgr ctrl.Manager) bool {
	for _, kind := range []string{traffic.HTTPRouteKind, traffic.GRPCRouteKind} {
		gk := schema.GroupKind{Group: gatewayv1.GroupName, Kind: kind}
		if _, err := mgr.GetRESTMapper().RESTMapping(gk, gatewayv1.GroupVersion.Version); err != nil {
			return false
		}
	}
	return true
}
