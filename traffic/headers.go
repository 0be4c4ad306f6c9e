package traffic

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// HeaderRoute is a setHeaderRoute the rollout holds: requests whose headers
// match go to the canary, whatever the weights.
type HeaderRoute struct {
	Name  string
	Match []rolloutsv1alpha1.HeaderRoutingMatch
}

// IsManagedRule reports whether a rule is one the router wrote for a
// managed route: named after it, or after it with "-<n>" for the second
// and later rules built from one route. Rules by any other name are never
// changed or removed.
func IsManagedRule(rule string, managed []string) bool {
	for _, name := range managed {
		if rule == name {
			return true
		}
		if rest, ok := strings.CutPrefix(rule, name+"-"); ok {
			if _, err := strconv.Atoi(rest); err == nil {
				return true
			}
		}
	}
	return false
}

// ManagedRules are the rules the router writes for trafficRouting's
// managedRoutes: the setHeaderRoute and setMirrorRoute steps the rollout
// holds.
type ManagedRules struct {
	Headers []HeaderRoute
	Mirrors []MirrorRoute
}

// Empty reports whether there is no managed rule to carry.
func (m ManagedRules) Empty() bool { return len(m.Headers) == 0 && len(m.Mirrors) == 0 }

// HeaderRoutePatch is ManagedRulesPatch for header routes alone.
func HeaderRoutePatch(route Route, s *Settings, want []HeaderRoute) ([]Op, error) {
	return ManagedRulesPatch(route, s, ManagedRules{Headers: want})
}

// ManagedRulesPatch returns the JSON patch that makes a route's managed
// rules exactly the rules of want, or nothing when they already are. For
// each header route it builds one rule per rule that sends to both the
// canary and the stable Service, as Argo's Gateway API plugin does: the
// source rule's matches with the header matches added, its filters, and the
// canary Service as the only backend. Mirror rules are built from the same
// source rules (see httpMirrorRule), on HTTPRoutes only. Managed rules that
// differ are removed and added again at the end of the rules; rules of
// others stay where they are.
func ManagedRulesPatch(route Route, s *Settings, want ManagedRules) ([]Op, error) {
	ops, err := managedRuleOps(route, s, want)
	if err != nil || s.Preview == nil {
		return ops, err
	}
	// A preview rule is the only thing a blue-green Rollout writes to the
	// route, so the in-progress label comes and goes with it: a GitOps sync
	// leaves the route's rules alone while it is there.
	return append(ops, labelOps(route, s, !want.Empty())...), nil
}

// managedRuleOps is the part of ManagedRulesPatch that changes rules.
func managedRuleOps(route Route, s *Settings, want ManagedRules) ([]Op, error) {
	var present []json.RawMessage
	var presentAt []int
	for i, rule := range route.Rules {
		if IsManagedRule(rule.Name, s.ManagedRoutes) {
			presentAt = append(presentAt, i)
			present = append(present, route.raw[i])
		}
	}
	desired, err := buildHeaderRules(route, s, want.Headers)
	if err != nil {
		return nil, err
	}
	mirrors, err := buildMirrorRules(route, s, want.Mirrors)
	if err != nil {
		return nil, err
	}
	desired = append(desired, mirrors...)
	if sameRules(route.Key.Kind, present, desired) {
		return nil, nil
	}
	var ops []Op
	for i := len(presentAt) - 1; i >= 0; i-- { // from the end, so indexes hold
		at := fmt.Sprintf("/spec/rules/%d", presentAt[i])
		ops = append(ops, Op{Op: "test", Path: at + "/name", Value: route.Rules[presentAt[i]].Name}, Op{Op: "remove", Path: at})
	}
	for _, rule := range desired {
		ops = append(ops, Op{Op: "add", Path: "/spec/rules/-", Value: rule})
	}
	return ops, nil
}

// sourceRules are the rules managed rules are built from: those that send
// to both the canary and the stable Service (or, for a preview route, to
// the active Service), except the managed rules themselves.
func sourceRules(route Route, s *Settings) (rules []int, from string) {
	rules, from = route.weightedRules(s.CanaryService, s.StableService), s.CanaryService
	if s.HeaderSource != "" {
		rules, from = route.rulesTo(s.HeaderSource), s.HeaderSource
	}
	return slices.DeleteFunc(rules, func(i int) bool { return IsManagedRule(route.Rules[i].Name, s.ManagedRoutes) }), from
}

// managedRuleName names the rule built for a managed route from its n-th
// source rule: the route's name, then "<name>-1", "<name>-2", ...
func managedRuleName(name string, n int) string {
	if n == 0 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, n)
}

// buildHeaderRules builds the managed rules of want, as JSON.
func buildHeaderRules(route Route, s *Settings, want []HeaderRoute) ([]json.RawMessage, error) {
	var out []json.RawMessage
	sources, from := sourceRules(route, s)
	for _, hr := range want {
		for n, i := range sources {
			name := managedRuleName(hr.Name, n)
			var rule any
			var err error
			switch route.Key.Kind {
			case GRPCRouteKind:
				rule, err = grpcHeaderRule(route.raw[i], name, from, s.CanaryService, hr.Match)
			default:
				rule, err = httpHeaderRule(route.raw[i], name, from, s.CanaryService, hr.Match)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: header route %q: %w", route.Key, hr.Name, err)
			}
			data, err := json.Marshal(rule)
			if err != nil {
				return nil, err
			}
			out = append(out, data)
		}
	}
	return out, nil
}

// httpHeaderRule builds a header rule from a source rule: its matches with
// the header matches added, its filters, and as the only backend the
// source's backend to the Service from, sent to the Service to.
func httpHeaderRule(source json.RawMessage, name, from, to string, match []rolloutsv1alpha1.HeaderRoutingMatch) (*gatewayv1.HTTPRouteRule, error) {
	var src gatewayv1.HTTPRouteRule
	if err := json.Unmarshal(source, &src); err != nil {
		return nil, err
	}
	var headers []gatewayv1.HTTPHeaderMatch
	for _, m := range match {
		kind, value, err := HeaderMatchValue(m)
		if err != nil {
			return nil, err
		}
		t := gatewayv1.HeaderMatchExact
		if kind != "Exact" {
			t = gatewayv1.HeaderMatchRegularExpression
		}
		headers = append(headers, gatewayv1.HTTPHeaderMatch{Type: &t, Name: gatewayv1.HTTPHeaderName(m.HeaderName), Value: value})
	}
	rule := &gatewayv1.HTTPRouteRule{Name: ptr.To(gatewayv1.SectionName(name)), Filters: src.Filters}
	matches := src.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	for _, sm := range matches {
		rule.Matches = append(rule.Matches, gatewayv1.HTTPRouteMatch{
			Path: sm.Path, QueryParams: sm.QueryParams, Method: sm.Method,
			Headers: append(append([]gatewayv1.HTTPHeaderMatch(nil), sm.Headers...), headers...),
		})
	}
	for _, b := range src.BackendRefs {
		if b.Name == gatewayv1.ObjectName(from) {
			rule.BackendRefs = []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: retarget(b.BackendObjectReference, to)}}}
			break
		}
	}
	return rule, nil
}

func grpcHeaderRule(source json.RawMessage, name, from, to string, match []rolloutsv1alpha1.HeaderRoutingMatch) (*gatewayv1.GRPCRouteRule, error) {
	var src gatewayv1.GRPCRouteRule
	if err := json.Unmarshal(source, &src); err != nil {
		return nil, err
	}
	var headers []gatewayv1.GRPCHeaderMatch
	for _, m := range match {
		kind, value, err := HeaderMatchValue(m)
		if err != nil {
			return nil, err
		}
		t := gatewayv1.GRPCHeaderMatchExact
		if kind != "Exact" {
			t = gatewayv1.GRPCHeaderMatchRegularExpression
		}
		headers = append(headers, gatewayv1.GRPCHeaderMatch{Type: &t, Name: gatewayv1.GRPCHeaderName(m.HeaderName), Value: value})
	}
	rule := &gatewayv1.GRPCRouteRule{Name: ptr.To(gatewayv1.SectionName(name)), Filters: src.Filters}
	matches := src.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.GRPCRouteMatch{{}}
	}
	for _, sm := range matches {
		rule.Matches = append(rule.Matches, gatewayv1.GRPCRouteMatch{
			Method:  sm.Method,
			Headers: append(append([]gatewayv1.GRPCHeaderMatch(nil), sm.Headers...), headers...),
		})
	}
	for _, b := range src.BackendRefs {
		if b.Name == gatewayv1.ObjectName(from) {
			rule.BackendRefs = []gatewayv1.GRPCBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: retarget(b.BackendObjectReference, to)}}}
			break
		}
	}
	return rule, nil
}

// retarget is a backend reference sent to another Service, on the same port.
func retarget(ref gatewayv1.BackendObjectReference, service string) gatewayv1.BackendObjectReference {
	ref.Name = gatewayv1.ObjectName(service)
	return ref
}

// HeaderMatchValue translates Argo's header value to Gateway API's match: exact
// stays exact; a prefix and a regex become regular expressions (a prefix
// quoted, so its characters match themselves).
func HeaderMatchValue(m rolloutsv1alpha1.HeaderRoutingMatch) (kind, value string, err error) {
	v := m.HeaderValue
	switch {
	case m.HeaderName == "":
		return "", "", fmt.Errorf("a match needs a headerName")
	case v == nil:
		return "", "", fmt.Errorf("header %q: a match needs a headerValue", m.HeaderName)
	case v.Exact != "":
		return "Exact", v.Exact, nil
	case v.Prefix != "":
		return "RegularExpression", regexp.QuoteMeta(v.Prefix) + ".*", nil
	case v.Regex != "":
		return "RegularExpression", v.Regex, nil
	}
	return "", "", fmt.Errorf("header %q: set one of exact, prefix or regex", m.HeaderName)
}

// sameRules compares managed rules as the API server stores them with the
// rules wanted, after filling in the defaults the Gateway API CRDs apply.
func sameRules(kind string, present, desired []json.RawMessage) bool {
	if len(present) != len(desired) {
		return false
	}
	for i := range present {
		var a, b any
		var err1, err2 error
		if kind == GRPCRouteKind {
			a, err1 = defaultedGRPC(present[i])
			b, err2 = defaultedGRPC(desired[i])
		} else {
			a, err1 = defaultedHTTP(present[i])
			b, err2 = defaultedHTTP(desired[i])
		}
		if err1 != nil || err2 != nil || !apiequality.Semantic.DeepEqual(a, b) {
			return false
		}
	}
	return true
}

func defaultedHTTP(data json.RawMessage) (*gatewayv1.HTTPRouteRule, error) {
	var rule gatewayv1.HTTPRouteRule
	if err := json.Unmarshal(data, &rule); err != nil {
		return nil, err
	}
	if len(rule.Matches) == 0 {
		rule.Matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	for i := range rule.Matches {
		m := &rule.Matches[i]
		if m.Path == nil {
			m.Path = &gatewayv1.HTTPPathMatch{}
		}
		if m.Path.Type == nil {
			m.Path.Type = ptr.To(gatewayv1.PathMatchPathPrefix)
		}
		if m.Path.Value == nil {
			m.Path.Value = ptr.To("/")
		}
		for j := range m.Headers {
			if m.Headers[j].Type == nil {
				m.Headers[j].Type = ptr.To(gatewayv1.HeaderMatchExact)
			}
		}
		for j := range m.QueryParams {
			if m.QueryParams[j].Type == nil {
				m.QueryParams[j].Type = ptr.To(gatewayv1.QueryParamMatchExact)
			}
		}
	}
	for i := range rule.BackendRefs {
		defaultBackend(&rule.BackendRefs[i].BackendRef)
	}
	for i := range rule.Filters {
		if mirror := rule.Filters[i].RequestMirror; mirror != nil {
			defaultObjectReference(&mirror.BackendRef)
		}
	}
	return &rule, nil
}

func defaultedGRPC(data json.RawMessage) (*gatewayv1.GRPCRouteRule, error) {
	var rule gatewayv1.GRPCRouteRule
	if err := json.Unmarshal(data, &rule); err != nil {
		return nil, err
	}
	if len(rule.Matches) == 0 {
		rule.Matches = []gatewayv1.GRPCRouteMatch{{}}
	}
	for i := range rule.Matches {
		m := &rule.Matches[i]
		if m.Method != nil && m.Method.Type == nil {
			m.Method.Type = ptr.To(gatewayv1.GRPCMethodMatchExact)
		}
		for j := range m.Headers {
			if m.Headers[j].Type == nil {
				m.Headers[j].Type = ptr.To(gatewayv1.GRPCHeaderMatchExact)
			}
		}
	}
	for i := range rule.BackendRefs {
		defaultBackend(&rule.BackendRefs[i].BackendRef)
	}
	return &rule, nil
}

func defaultBackend(b *gatewayv1.BackendRef) {
	defaultObjectReference(&b.BackendObjectReference)
	if b.Weight == nil {
		b.Weight = ptr.To[int32](1)
	}
}

func defaultObjectReference(b *gatewayv1.BackendObjectReference) {
	if b.Group == nil {
		b.Group = ptr.To(gatewayv1.Group(""))
	}
	if b.Kind == nil {
		b.Kind = ptr.To(gatewayv1.Kind("Service"))
	}
}
