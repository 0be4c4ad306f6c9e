package traffic

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// MirrorRoute is a setMirrorRoute the rollout holds: requests that match
// are served as before, and a copy of Percentage of them (all when nil) is
// sent to the canary, whose answers are dropped.
type MirrorRoute struct {
	Name       string
	Match      []rolloutsv1alpha1.RouteMatch
	Percentage *int32
}

// buildMirrorRules builds the managed rules of want, as JSON: on an
// HTTPRoute, one rule per source rule (see httpMirrorRule); a GRPCRoute
// takes no mirror rule, since Argo's matches are HTTP methods and paths.
func buildMirrorRules(route Route, s *Settings, want []MirrorRoute) ([]json.RawMessage, error) {
	if route.Key.Kind != HTTPRouteKind {
		return nil, nil
	}
	var out []json.RawMessage
	sources, _ := sourceRules(route, s)
	for _, mr := range want {
		for n, i := range sources {
			rule, err := httpMirrorRule(route.raw[i], managedRuleName(mr.Name, n), s.CanaryService, mr)
			if err != nil {
				return nil, fmt.Errorf("%s: mirror route %q: %w", route.Key, mr.Name, err)
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

// httpMirrorRule builds a mirror rule from a source rule that sends to both
// the canary and the stable Service. Requests it matches are served exactly
// as the source serves them (its backends, whose weights the router keeps
// with the source's, and its filters) and copied to the canary Service by a
// RequestMirror filter. Its matches are the source's narrowed by the step's:
// each of the source's matches with each of the step's, the step's path and
// method taking the place of the source's, its headers added. Keeping the
// source's matches keeps the rule within the requests the source serves;
// being narrower, it takes precedence over the source in Gateway API.
func httpMirrorRule(source json.RawMessage, name, canary string, mirror MirrorRoute) (*gatewayv1.HTTPRouteRule, error) {
	var src gatewayv1.HTTPRouteRule
	if err := json.Unmarshal(source, &src); err != nil {
		return nil, err
	}
	var target *gatewayv1.BackendObjectReference
	for _, b := range src.BackendRefs {
		if b.Name == gatewayv1.ObjectName(canary) {
			target = ptr.To(b.BackendObjectReference)
			break
		}
	}
	if target == nil {
		return nil, fmt.Errorf("its source rule has no backend to the canary Service %q", canary)
	}
	filters := append(slices.Clone(src.Filters), gatewayv1.HTTPRouteFilter{
		Type:          gatewayv1.HTTPRouteFilterRequestMirror,
		RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: *target, Percent: mirror.Percentage},
	})
	rule := &gatewayv1.HTTPRouteRule{Name: ptr.To(gatewayv1.SectionName(name)), Filters: filters, BackendRefs: src.BackendRefs}
	sourceMatches := src.Matches
	if len(sourceMatches) == 0 {
		sourceMatches = []gatewayv1.HTTPRouteMatch{{}}
	}
	for _, sm := range sourceMatches {
		for _, m := range mirror.Match {
			narrowed, err := narrowMatch(sm, m)
			if err != nil {
				return nil, err
			}
			rule.Matches = append(rule.Matches, narrowed)
		}
	}
	return rule, nil
}

// narrowMatch is a source rule's match narrowed by a setMirrorRoute match.
func narrowMatch(source gatewayv1.HTTPRouteMatch, m rolloutsv1alpha1.RouteMatch) (gatewayv1.HTTPRouteMatch, error) {
	out := gatewayv1.HTTPRouteMatch{
		Path: source.Path, Method: source.Method, QueryParams: source.QueryParams,
		Headers: slices.Clone(source.Headers),
	}
	if m.Path != nil {
		path, err := MirrorPathMatch(*m.Path)
		if err != nil {
			return out, err
		}
		out.Path = &path
	}
	if m.Method != nil {
		method, err := MirrorMethodMatch(*m.Method)
		if err != nil {
			return out, err
		}
		out.Method = &method
	}
	for _, name := range sortedKeys(m.Headers) {
		header, err := mirrorHeaderMatch(name, m.Headers[name])
		if err != nil {
			return out, err
		}
		out.Headers = append(out.Headers, header)
	}
	return out, nil
}

// httpMethods are the methods Gateway API's HTTPRouteMatch accepts.
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// MirrorMethodMatch translates Argo's method match: Gateway API matches a
// method exactly, and only one of the methods HTTP defines.
func MirrorMethodMatch(m rolloutsv1alpha1.StringMatch) (gatewayv1.HTTPMethod, error) {
	kind, value, err := oneOf(m)
	switch {
	case err != nil:
		return "", err
	case kind != "exact":
		return "", errors.New("a method is matched exactly in Gateway API: use exact")
	case !slices.Contains(httpMethods, value):
		return "", fmt.Errorf("method %q: must be one of %s", value, strings.Join(httpMethods, ", "))
	}
	return gatewayv1.HTTPMethod(value), nil
}

// MirrorPathMatch translates Argo's path match: exact to Exact, prefix to
// PathPrefix (which Gateway API matches by whole path segments: "/api"
// matches "/api/v1", not "/apiary"), regex to RegularExpression. An exact
// or prefix path must begin with "/", as Gateway API requires.
func MirrorPathMatch(m rolloutsv1alpha1.StringMatch) (gatewayv1.HTTPPathMatch, error) {
	kind, value, err := oneOf(m)
	if err != nil {
		return gatewayv1.HTTPPathMatch{}, err
	}
	t := map[string]gatewayv1.PathMatchType{
		"exact": gatewayv1.PathMatchExact, "prefix": gatewayv1.PathMatchPathPrefix, "regex": gatewayv1.PathMatchRegularExpression,
	}[kind]
	if kind != "regex" && !strings.HasPrefix(value, "/") {
		return gatewayv1.HTTPPathMatch{}, fmt.Errorf("path %q: must begin with \"/\"", value)
	}
	return gatewayv1.HTTPPathMatch{Type: &t, Value: &value}, nil
}

// headerNamePattern is the pattern of Gateway API's HTTPHeaderName.
var headerNamePattern = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$")

// mirrorHeaderMatch translates one of Argo's header matches, as a
// setHeaderRoute's: a prefix becomes a regular expression of the prefix
// quoted, followed by ".*".
func mirrorHeaderMatch(name string, m rolloutsv1alpha1.StringMatch) (gatewayv1.HTTPHeaderMatch, error) {
	if !headerNamePattern.MatchString(name) {
		return gatewayv1.HTTPHeaderMatch{}, fmt.Errorf("header %q: not a header name", name)
	}
	if _, _, err := oneOf(m); err != nil {
		return gatewayv1.HTTPHeaderMatch{}, fmt.Errorf("header %q: %w", name, err)
	}
	kind, value, err := HeaderMatchValue(rolloutsv1alpha1.HeaderRoutingMatch{HeaderName: name, HeaderValue: &m})
	if err != nil {
		return gatewayv1.HTTPHeaderMatch{}, err
	}
	t := gatewayv1.HeaderMatchExact
	if kind != "Exact" {
		t = gatewayv1.HeaderMatchRegularExpression
	}
	return gatewayv1.HTTPHeaderMatch{Type: &t, Name: gatewayv1.HTTPHeaderName(name), Value: value}, nil
}

// oneOf is the one kind of match a StringMatch sets, and its value.
func oneOf(m rolloutsv1alpha1.StringMatch) (kind, value string, err error) {
	set := 0
	for _, v := range []string{m.Exact, m.Prefix, m.Regex} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return "", "", errors.New("set exactly one of exact, prefix or regex")
	}
	switch {
	case m.Exact != "":
		return "exact", m.Exact, nil
	case m.Prefix != "":
		return "prefix", m.Prefix, nil
	}
	return "regex", m.Regex, nil
}

// ValidateMirrorMatch checks that a setMirrorRoute match translates to
// Gateway API.
func ValidateMirrorMatch(m rolloutsv1alpha1.RouteMatch) error {
	_, err := narrowMatch(gatewayv1.HTTPRouteMatch{}, m)
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
