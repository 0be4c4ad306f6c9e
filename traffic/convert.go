package traffic

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// FromHTTPRoute is what the router reads of an HTTPRoute. Its backends count
// as the Rollout's Services only when they are core Services in
// serviceNamespace.
func FromHTTPRoute(obj *gatewayv1.HTTPRoute, serviceNamespace string) (Route, error) {
	return fromRules(RouteKey{Kind: HTTPRouteKind, Namespace: obj.Namespace, Name: obj.Name}, obj.ObjectMeta, obj.Spec.Rules,
		func(rule gatewayv1.HTTPRouteRule) (*gatewayv1.SectionName, []gatewayv1.BackendRef) {
			refs := make([]gatewayv1.BackendRef, 0, len(rule.BackendRefs))
			for _, ref := range rule.BackendRefs {
				refs = append(refs, ref.BackendRef)
			}
			return rule.Name, refs
		}, serviceNamespace)
}

// FromGRPCRoute is what the router reads of a GRPCRoute; see FromHTTPRoute.
func FromGRPCRoute(obj *gatewayv1.GRPCRoute, serviceNamespace string) (Route, error) {
	return fromRules(RouteKey{Kind: GRPCRouteKind, Namespace: obj.Namespace, Name: obj.Name}, obj.ObjectMeta, obj.Spec.Rules,
		func(rule gatewayv1.GRPCRouteRule) (*gatewayv1.SectionName, []gatewayv1.BackendRef) {
			refs := make([]gatewayv1.BackendRef, 0, len(rule.BackendRefs))
			for _, ref := range rule.BackendRefs {
				refs = append(refs, ref.BackendRef)
			}
			return rule.Name, refs
		}, serviceNamespace)
}

// fromRules builds a Route from the rules of either kind: each rule's name
// and backends, and the rule as JSON, to build header rules from.
func fromRules[R any](key RouteKey, meta metav1.ObjectMeta, rules []R,
	parts func(R) (*gatewayv1.SectionName, []gatewayv1.BackendRef), serviceNamespace string) (Route, error) {
	route := Route{Key: key, Labels: meta.Labels, Annotations: meta.Annotations}
	for _, rule := range rules {
		name, refs := parts(rule)
		route.Rules = append(route.Rules, ruleOf(name, refs, key.Namespace, serviceNamespace))
		data, err := json.Marshal(rule)
		if err != nil {
			return route, err
		}
		route.raw = append(route.raw, data)
	}
	return route, nil
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
		rule.Backends = append(rule.Backends, Backend{Name: string(ref.Name), Service: service, Weight: ref.Weight, ref: ref.BackendObjectReference})
	}
	return rule
}
