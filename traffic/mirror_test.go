package traffic

import (
	"encoding/json"
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestHTTPMirrorRule(t *testing.T) {
	source := httpRule("api", ref("stable", 80), ref("canary", 20))
	source.Matches = []gatewayv1.HTTPRouteMatch{{
		Path:    &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/api")},
		Headers: []gatewayv1.HTTPHeaderMatch{{Name: "X-Env", Value: "prod"}},
	}}
	source.Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
		RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Add: []gatewayv1.HTTPHeader{{Name: "X-From", Value: "gw"}}}}}
	raw, err := json.Marshal(source)
	if err != nil {
		t.Fatal(err)
	}
	mirrorTo := func(percent *int32) gatewayv1.HTTPRouteFilter {
		return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{
			BackendRef: ref("canary", 0).BackendObjectReference, Percent: percent}}
	}
	exact, prefix, regex := gatewayv1.PathMatchExact, gatewayv1.PathMatchPathPrefix, gatewayv1.PathMatchRegularExpression
	headerExact, headerRegex := gatewayv1.HeaderMatchExact, gatewayv1.HeaderMatchRegularExpression
	sourceHeader := gatewayv1.HTTPHeaderMatch{Name: "X-Env", Value: "prod"}

	tests := []struct {
		name    string
		mirror  MirrorRoute
		matches []gatewayv1.HTTPRouteMatch
		percent *int32
		err     string
	}{
		{
			name:   "a method: the source's path and headers kept",
			mirror: MirrorRoute{Match: []rolloutsv1alpha1.RouteMatch{{Method: &rolloutsv1alpha1.StringMatch{Exact: "GET"}}}},
			matches: []gatewayv1.HTTPRouteMatch{{Path: source.Matches[0].Path, Method: ptr.To(gatewayv1.HTTPMethodGet),
				Headers: []gatewayv1.HTTPHeaderMatch{sourceHeader}}},
		},
		{
			name: "paths of each kind, with a percentage",
			mirror: MirrorRoute{Percentage: ptr.To[int32](25), Match: []rolloutsv1alpha1.RouteMatch{
				{Path: &rolloutsv1alpha1.StringMatch{Exact: "/api/orders"}},
				{Path: &rolloutsv1alpha1.StringMatch{Prefix: "/api/v2"}},
				{Path: &rolloutsv1alpha1.StringMatch{Regex: "/api/[0-9]+"}},
			}},
			matches: []gatewayv1.HTTPRouteMatch{
				{Path: &gatewayv1.HTTPPathMatch{Type: &exact, Value: ptr.To("/api/orders")}, Headers: []gatewayv1.HTTPHeaderMatch{sourceHeader}},
				{Path: &gatewayv1.HTTPPathMatch{Type: &prefix, Value: ptr.To("/api/v2")}, Headers: []gatewayv1.HTTPHeaderMatch{sourceHeader}},
				{Path: &gatewayv1.HTTPPathMatch{Type: &regex, Value: ptr.To("/api/[0-9]+")}, Headers: []gatewayv1.HTTPHeaderMatch{sourceHeader}},
			},
			percent: ptr.To[int32](25),
		},
		{
			name: "headers of each kind, added to the source's in name order",
			mirror: MirrorRoute{Match: []rolloutsv1alpha1.RouteMatch{{Headers: map[string]rolloutsv1alpha1.StringMatch{
				"X-Team": {Regex: "a|b"}, "X-Beta": {Exact: "yes"}, "X-Client": {Prefix: "v1."},
			}}}},
			matches: []gatewayv1.HTTPRouteMatch{{Path: source.Matches[0].Path, Headers: []gatewayv1.HTTPHeaderMatch{
				sourceHeader,
				{Type: &headerExact, Name: "X-Beta", Value: "yes"},
				{Type: &headerRegex, Name: "X-Client", Value: `v1\..*`},
				{Type: &headerRegex, Name: "X-Team", Value: "a|b"},
			}}},
		},
		{name: "a method prefix", mirror: MirrorRoute{Match: []rolloutsv1alpha1.RouteMatch{{Method: &rolloutsv1alpha1.StringMatch{Prefix: "G"}}}},
			err: "a method is matched exactly in Gateway API: use exact"},
		{name: "an unknown method", mirror: MirrorRoute{Match: []rolloutsv1alpha1.RouteMatch{{Method: &rolloutsv1alpha1.StringMatch{Exact: "get"}}}},
			err: `method "get": must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH`},
		{name: "a relative path", mirror: MirrorRoute{Match: []rolloutsv1alpha1.RouteMatch{{Path: &rolloutsv1alpha1.StringMatch{Prefix: "api"}}}},
			err: `path "api": must begin with "/"`},
		{name: "two kinds in one match", mirror: MirrorRoute{Match: []rolloutsv1alpha1.RouteMatch{{Path: &rolloutsv1alpha1.StringMatch{Exact: "/a", Prefix: "/b"}}}},
			err: "set exactly one of exact, prefix or regex"},
		{name: "a header with no value", mirror: MirrorRoute{Match: []rolloutsv1alpha1.RouteMatch{{Headers: map[string]rolloutsv1alpha1.StringMatch{"X-Beta": {}}}}},
			err: `header "X-Beta": set exactly one of exact, prefix or regex`},
		{name: "a header name with a space", mirror: MirrorRoute{Match: []rolloutsv1alpha1.RouteMatch{{Headers: map[string]rolloutsv1alpha1.StringMatch{"X Beta": {Exact: "1"}}}}},
			err: `header "X Beta": not a header name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule, err := httpMirrorRule(raw, "mirror", "canary", tt.mirror)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *rule.Name != "mirror" {
				t.Errorf("name %q", *rule.Name)
			}
			if !apiequality.Semantic.DeepEqual(rule.BackendRefs, source.BackendRefs) {
				t.Errorf("backends %+v: matching requests must be served as the source serves them", rule.BackendRefs)
			}
			wantFilters := []gatewayv1.HTTPRouteFilter{source.Filters[0], mirrorTo(tt.percent)}
			if !apiequality.Semantic.DeepEqual(rule.Filters, wantFilters) {
				t.Errorf("filters %+v, want %+v", rule.Filters, wantFilters)
			}
			if !apiequality.Semantic.DeepEqual(rule.Matches, tt.matches) {
				got, _ := json.Marshal(rule.Matches)
				want, _ := json.Marshal(tt.matches)
				t.Errorf("matches\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestManagedRulesPatchWithMirrors(t *testing.T) {
	s := &Settings{CanaryService: "canary", StableService: "stable", ServiceNamespace: "shop", MaxWeight: 100,
		ManagedRoutes: []string{"beta", "copy"}, HeaderRoutes: []RouteKey{{Kind: HTTPRouteKind, Namespace: "shop", Name: "web"}}}
	route := func(rules ...gatewayv1.HTTPRouteRule) Route {
		r, err := FromHTTPRoute(&gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: rules}}, "shop")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	app := httpRule("app", ref("stable", 90), ref("canary", 10))
	copyAll := MirrorRoute{Name: "copy", Match: []rolloutsv1alpha1.RouteMatch{{Method: &rolloutsv1alpha1.StringMatch{Exact: "GET"}}}}
	want := ManagedRules{Headers: []HeaderRoute{{Name: "beta", Match: betaMatch}}, Mirrors: []MirrorRoute{copyAll}}

	ops, err := ManagedRulesPatch(route(app), s, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 || ops[0].Path != "/spec/rules/-" || ops[1].Path != "/spec/rules/-" {
		t.Fatalf("want the header rule, then the mirror rule, added: %+v", ops)
	}
	var rules []gatewayv1.HTTPRouteRule
	rules = append(rules, app)
	for _, op := range ops {
		data, _ := json.Marshal(op.Value)
		var rule gatewayv1.HTTPRouteRule
		if err := json.Unmarshal(data, &rule); err != nil {
			t.Fatal(err)
		}
		rules = append(rules, rule)
	}
	written := route(rules...)
	if ops, _ := ManagedRulesPatch(written, s, want); len(ops) != 0 {
		t.Errorf("rules already right are written again: %+v", ops)
	}
	if got := written.weightedRules("canary", "stable"); len(got) != 2 {
		t.Errorf("the mirror rule's weights follow the source's: weighted rules %v", got)
	}
	if c, st, err := written.Weights("canary", "stable"); err != nil || c != 10 || st != 90 {
		t.Errorf("weights %d/%d, %v", c, st, err)
	}
	weightOps := 0
	for _, op := range WeightPatch(written, s, Weights{Canary: 30}, true) {
		if op.Op == "add" && op.Path != "/metadata/labels" {
			weightOps++
		}
	}
	if weightOps != 4 {
		t.Errorf("a new weight is written to the source and the mirror rule, both backends each: %d weights", weightOps)
	}

	ops, err = ManagedRulesPatch(written, s, ManagedRules{Headers: want.Headers})
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, op := range ops {
		if op.Op == "remove" {
			removed++
		}
	}
	if removed != 2 {
		t.Errorf("a changed set removes the managed rules and adds them again: %+v", ops)
	}

	grpc := Route{Key: RouteKey{Kind: GRPCRouteKind, Namespace: "shop", Name: "web-grpc"}}
	if rules, err := buildMirrorRules(grpc, s, want.Mirrors); err != nil || len(rules) != 0 {
		t.Errorf("a GRPCRoute takes no mirror rule: %v, %v", rules, err)
	}
}
