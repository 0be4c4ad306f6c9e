// Package gatewayapi reads and writes the Gateway API routes of a Rollout:
// HTTPRoutes and GRPCRoutes. It decides nothing; the rollout planner does.
package gatewayapi

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/traffic"
)

// Router reads routes through the manager's cache and writes them with
// JSON patches that touch only backend weights and the in-progress label:
// a route's rules are one atomic list to server-side apply, so applying
// them would take every rule from whoever wrote the route.
type Router struct {
	Client client.Client
}

// Read returns the routes s names, and those it names that do not exist.
func (r Router) Read(ctx context.Context, s *traffic.Settings) ([]traffic.Route, []traffic.RouteKey, error) {
	var routes []traffic.Route
	var missing []traffic.RouteKey
	for _, key := range s.Routes {
		route, err := r.read(ctx, key, s.ServiceNamespace)
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, key)
		case err != nil:
			return nil, nil, fmt.Errorf("reading %s: %w", key, err)
		default:
			routes = append(routes, route)
		}
	}
	return routes, missing, nil
}

// SetWeight gives the canary weight in every route of s, and puts the
// in-progress label on or takes it off. Routes already as asked are not
// written.
func (r Router) SetWeight(ctx context.Context, s *traffic.Settings, weight int32, inProgress bool) error {
	for _, key := range s.Routes {
		route, err := r.read(ctx, key, s.ServiceNamespace)
		if err != nil {
			return fmt.Errorf("reading %s: %w", key, err)
		}
		ops := traffic.WeightPatch(route, s, weight, inProgress)
		if len(ops) == 0 {
			continue
		}
		data, err := json.Marshal(ops)
		if err != nil {
			return err
		}
		if err := r.Client.Patch(ctx, emptyRoute(key), client.RawPatch(types.JSONPatchType, data)); err != nil {
			return fmt.Errorf("setting weights on %s: %w", key, err)
		}
	}
	return nil
}

func emptyRoute(key traffic.RouteKey) client.Object {
	var obj client.Object = &gatewayv1.HTTPRoute{}
	if key.Kind == traffic.GRPCRouteKind {
		obj = &gatewayv1.GRPCRoute{}
	}
	obj.SetNamespace(key.Namespace)
	obj.SetName(key.Name)
	return obj
}

// read reads a route. Its backends count as the Rollout's Services only when
// they are core Services in serviceNamespace.
func (r Router) read(ctx context.Context, key traffic.RouteKey, serviceNamespace string) (traffic.Route, error) {
	name := client.ObjectKey{Namespace: key.Namespace, Name: key.Name}
	route := traffic.Route{Key: key}
	switch key.Kind {
	case traffic.GRPCRouteKind:
		var obj gatewayv1.GRPCRoute
		if err := r.Client.Get(ctx, name, &obj); err != nil {
			return route, err
		}
		route.Labels = obj.Labels
		for _, rule := range obj.Spec.Rules {
			var refs []gatewayv1.BackendRef
			for _, ref := range rule.BackendRefs {
				refs = append(refs, ref.BackendRef)
			}
			route.Rules = append(route.Rules, ruleOf(rule.Name, refs, key.Namespace, serviceNamespace))
		}
	default:
		var obj gatewayv1.HTTPRoute
		if err := r.Client.Get(ctx, name, &obj); err != nil {
			return route, err
		}
		route.Labels = obj.Labels
		for _, rule := range obj.Spec.Rules {
			var refs []gatewayv1.BackendRef
			for _, ref := range rule.BackendRefs {
				refs = append(refs, ref.BackendRef)
			}
			route.Rules = append(route.Rules, ruleOf(rule.Name, refs, key.Namespace, serviceNamespace))
		}
	}
	return route, nil
}

func ruleOf(name *gatewayv1.SectionName, refs []gatewayv1.BackendRef, routeNamespace, serviceNamespace string) traffic.Rule {
	rule := traffic.Rule{}
	if name != nil {
		rule.Name = string(*name)
	}
	for _, ref := range refs {
		namespace := routeNamespace
		if ref.Namespace != nil {
			namespace = string(*ref.Namespace)
		}
		service := (ref.Group == nil || *ref.Group == "") && (ref.Kind == nil || *ref.Kind == "Service") &&
			namespace == serviceNamespace
		rule.Backends = append(rule.Backends, traffic.Backend{Name: string(ref.Name), Service: service, Weight: ref.Weight})
	}
	return rule
}
