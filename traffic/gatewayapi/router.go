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

// SetWeight brings the weighted rules of every route of s to weights (the
// canary's, the experiment Services', the stable Service the rest), and
// puts the in-progress label on or takes it off. Routes already as asked
// are not written.
func (r Router) SetWeight(ctx context.Context, s *traffic.Settings, weights traffic.Weights, inProgress bool) error {
	for _, key := range s.Routes {
		route, err := r.read(ctx, key, s.ServiceNamespace)
		if err != nil {
			return fmt.Errorf("reading %s: %w", key, err)
		}
		if err := r.patch(ctx, key, traffic.WeightPatch(route, s, weights, inProgress)); err != nil {
			return fmt.Errorf("setting weights on %s: %w", key, err)
		}
	}
	return nil
}

// SetManagedRoutes makes the managed rules of every route that takes header
// (and mirror) routes exactly the rules of want. Routes already so are not
// written.
func (r Router) SetManagedRoutes(ctx context.Context, s *traffic.Settings, want traffic.ManagedRules) error {
	for _, key := range s.HeaderRoutes {
		route, err := r.read(ctx, key, s.ServiceNamespace)
		if err != nil {
			return fmt.Errorf("reading %s: %w", key, err)
		}
		ops, err := traffic.ManagedRulesPatch(route, s, want)
		if err != nil {
			return err
		}
		if err := r.patch(ctx, key, ops); err != nil {
			return fmt.Errorf("setting managed routes on %s: %w", key, err)
		}
	}
	return nil
}

func (r Router) patch(ctx context.Context, key traffic.RouteKey, ops []traffic.Op) error {
	if len(ops) == 0 {
		return nil
	}
	data, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	return r.Client.Patch(ctx, emptyRoute(key), client.RawPatch(types.JSONPatchType, data))
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

// read reads a route.
func (r Router) read(ctx context.Context, key traffic.RouteKey, serviceNamespace string) (traffic.Route, error) {
	name := client.ObjectKey{Namespace: key.Namespace, Name: key.Name}
	if key.Kind == traffic.GRPCRouteKind {
		var obj gatewayv1.GRPCRoute
		if err := r.Client.Get(ctx, name, &obj); err != nil {
			return traffic.Route{Key: key}, err
		}
		return traffic.FromGRPCRoute(&obj, serviceNamespace)
	}
	var obj gatewayv1.HTTPRoute
	if err := r.Client.Get(ctx, name, &obj); err != nil {
		return traffic.Route{Key: key}, err
	}
	return traffic.FromHTTPRoute(&obj, serviceNamespace)
}
