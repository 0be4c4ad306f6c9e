package traffic

import (
	"encoding/json"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// FromHTTPRoute is what the router reads of an HTTPRoute. Its backends count
// as the Rollout's Services only when they are core Services in
// serviceNamespace.
func FromHTTPRoute(obj *gatewayv1.HTTPRoute, serviceNamespace string) (Route, error) {
	route := Route{Key: RouteKey{Kind: HTTPRouteKind, Namespace: obj.Namespace, Name: obj.Name}, Labels: obj.Labels}
	for _, rule := range obj.Spec.Rules {
		refs := make([]gatewayv1.BackendRef, 0, len(rule.BackendRefs))
		for _, ref := range rule.BackendRefs {
			refs = append(refs, ref.BackendRef)
		}
		route.Rules = append(route.Rules, ruleOf(rule.Name, refs, obj.Namespace, serviceNamespace))
	}
	return withRaw(route, obj.Spec.Rules)
}

// FromGRPCRoute is what the router reads of a GRPCRoute; see FromHTTPRoute.
func FromGRPCRoute(obj *gatewayv1.GRPCRoute, serviceNamespace string) (Route, error) {
	route := Route{Key: RouteKey{Kind: GRPCRouteKind, Namespace: obj.Namespace, Name: obj.Name}, Labels: obj.Labels}
	for _, rule := range obj.Spec.Rules {
		refs := make([]gatewayv1.BackendRef, 0, len(rule.BackendRefs))
		for _, ref := range rule.BackendRefs {
			refs = append(refs, ref.BackendRef)
		}
		route.Rules = append(route.Rules, ruleOf(rule.Name, refs, obj.Namespace, serviceNamespace))
	}
	return withRaw(route, obj.Spec.Rules)
}

func ruleOf(name *gatewayv1.SectionName, refs []gatewayv1.BackendRef, routeNamespace, serviceNamespace string) Rule {
	rule := Rule{}
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
		rule.Backends = append(rule.Backends, Backend{Name: string(ref.Name), Service: service, Weight: ref.Weight})
	}
	return rule
}

// withRaw attaches a route's rules as JSON, to build header rules from.
func withRaw[R any](route Route, rules []R) (Route, error) {
	raw := make([]json.RawMessage, 0, len(rules))
	for _, rule := range rules {
		data, err := json.Marshal(rule)
		if err != nil {
			return route, err
		}
		raw = append(raw, data)
	}
	route.raw = raw
	return route, nil
}
