package traffic

import (
	"encoding/json"
	"strings"
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func ref(name string, weight int32) gatewayv1.BackendRef {
	return gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
		Weight:                 ptr.To(weight),
	}
}

func httpRule(name string, refs ...gatewayv1.BackendRef) gatewayv1.HTTPRouteRule {
	rule := gatewayv1.HTTPRouteRule{Name: ptr.To(gatewayv1.SectionName(name))}
	for _, r := range refs {
		rule.BackendRefs = append(rule.BackendRefs, gatewayv1.HTTPBackendRef{BackendRef: r})
	}
	return rule
}

var betaMatch = []rolloutsv1alpha1.HeaderRoutingMatch{{HeaderName: "X-Beta", HeaderValue: &rolloutsv1alpha1.StringMatch{Exact: "yes"}}}

func TestHeaderRoutePatch(t *testing.T) {
	s := &Settings{CanaryService: "canary", StableService: "stable", ServiceNamespace: "shop", MaxWeight: 100, ManagedRoutes: []string{"beta"}}
	api := httpRule("api", ref("stable", 90), ref("canary", 10))
	api.Matches = []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/api")},
		Headers: []gatewayv1.HTTPHeaderMatch{{Name: "X-Env", Value: "prod"}}}}
	api.Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
		RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Add: []gatewayv1.HTTPHeader{{Name: "X-From", Value: "gw"}}}}}
	web := httpRule("web", ref("stable", 90), ref("canary", 10))
	foreign := httpRule("beta-users", ref("canary", 1))
	// What the router writes for api and web, as the API server would store
	// it, with the CRDs' defaults filled in.
	betaAPI := httpRule("beta", ref("canary", 1))
	betaAPI.BackendRefs[0].Group, betaAPI.BackendRefs[0].Kind = ptr.To(gatewayv1.Group("")), ptr.To(gatewayv1.Kind("Service"))
	betaAPI.Matches = []gatewayv1.HTTPRouteMatch{{
		Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/api")},
		Headers: []gatewayv1.HTTPHeaderMatch{{Type: ptr.To(gatewayv1.HeaderMatchExact), Name: "X-Env", Value: "prod"},
			{Type: ptr.To(gatewayv1.HeaderMatchExact), Name: "X-Beta", Value: "yes"}},
	}}
	betaAPI.Filters = api.Filters
	betaWeb := httpRule("beta-1", ref("canary", 1))
	betaWeb.Matches = []gatewayv1.HTTPRouteMatch{{
		Path:    &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/")},
		Headers: []gatewayv1.HTTPHeaderMatch{{Name: "X-Beta", Value: "yes"}},
	}}
	stale := betaWeb.DeepCopy()
	stale.Matches[0].Headers[0].Value = "no"

	tests := []struct {
		name  string
		rules []gatewayv1.HTTPRouteRule
		want  []HeaderRoute
		ops   string // the ops, one per line, values left out
	}{{
		name:  "one rule per weighted rule, named beta and beta-1, at the end",
		rules: []gatewayv1.HTTPRouteRule{api, foreign, web},
		want:  []HeaderRoute{{Name: "beta", Match: betaMatch}},
		ops:   "add /spec/rules/-\nadd /spec/rules/-",
	}, {
		name:  "already there, as the API server stores them: nothing to write",
		rules: []gatewayv1.HTTPRouteRule{api, foreign, web, betaAPI, betaWeb},
		want:  []HeaderRoute{{Name: "beta", Match: betaMatch}},
	}, {
		name:  "one differs: the managed rules are written again, the others stay",
		rules: []gatewayv1.HTTPRouteRule{api, foreign, web, betaAPI, *stale},
		want:  []HeaderRoute{{Name: "beta", Match: betaMatch}},
		ops:   "test /spec/rules/4/name\nremove /spec/rules/4\ntest /spec/rules/3/name\nremove /spec/rules/3\nadd /spec/rules/-\nadd /spec/rules/-",
	}, {
		name:  "none wanted: exactly the managed rules go, from the last",
		rules: []gatewayv1.HTTPRouteRule{api, betaAPI, foreign, web, betaWeb},
		ops:   "test /spec/rules/4/name\nremove /spec/rules/4\ntest /spec/rules/1/name\nremove /spec/rules/1",
	}, {
		name:  "none wanted and none there",
		rules: []gatewayv1.HTTPRouteRule{api, foreign, web},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			route, err := FromHTTPRoute(&gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
				Spec: gatewayv1.HTTPRouteSpec{Rules: tt.rules}}, "shop")
			if err != nil {
				t.Fatal(err)
			}
			ops, err := HeaderRoutePatch(route, s, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, op := range ops {
				got = append(got, op.Op+" "+op.Path)
			}
			if strings.Join(got, "\n") != tt.ops {
				t.Errorf("ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), tt.ops)
			}
		})
	}

	t.Run("the rule built keeps the source's matches and filters and sends only to the canary", func(t *testing.T) {
		route, _ := FromHTTPRoute(&gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{api}}}, "shop")
		ops, _ := HeaderRoutePatch(route, s, []HeaderRoute{{Name: "beta", Match: betaMatch}})
		data, _ := json.Marshal(ops[0].Value)
		var rule gatewayv1.HTTPRouteRule
		if err := json.Unmarshal(data, &rule); err != nil {
			t.Fatal(err)
		}
		if len(rule.BackendRefs) != 1 || rule.BackendRefs[0].Name != "canary" || rule.BackendRefs[0].Weight != nil {
			t.Errorf("backends: %+v", rule.BackendRefs)
		}
		if len(rule.Filters) != 1 || *rule.Matches[0].Path.Value != "/api" || len(rule.Matches[0].Headers) != 2 {
			t.Errorf("rule: %s", data)
		}
	})
}

func TestHeaderRoutePatchGRPC(t *testing.T) {
	s := &Settings{CanaryService: "canary", StableService: "stable", ServiceNamespace: "shop", MaxWeight: 100, ManagedRoutes: []string{"beta"}}
	source := gatewayv1.GRPCRouteRule{
		Matches:     []gatewayv1.GRPCRouteMatch{{Method: &gatewayv1.GRPCMethodMatch{Service: ptr.To("shop.Cart")}}},
		BackendRefs: []gatewayv1.GRPCBackendRef{{BackendRef: ref("stable", 100)}, {BackendRef: ref("canary", 0)}},
	}
	route, err := FromGRPCRoute(&gatewayv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"},
		Spec: gatewayv1.GRPCRouteSpec{Rules: []gatewayv1.GRPCRouteRule{source}}}, "shop")
	if err != nil {
		t.Fatal(err)
	}
	match := []rolloutsv1alpha1.HeaderRoutingMatch{{HeaderName: "x-beta", HeaderValue: &rolloutsv1alpha1.StringMatch{Regex: "y.s"}}}
	ops, err := HeaderRoutePatch(route, s, []HeaderRoute{{Name: "beta", Match: match}})
	if err != nil || len(ops) != 1 {
		t.Fatalf("ops %+v, err %v", ops, err)
	}
	data, _ := json.Marshal(ops[0].Value)
	want := `{"name":"beta","matches":[{"method":{"service":"shop.Cart"},"headers":[{"type":"RegularExpression","name":"x-beta","value":"y.s"}]}],"backendRefs":[{"name":"canary","port":80}]}`
	if string(data) != want {
		t.Errorf("rule:\n got %s\nwant %s", data, want)
	}
}

func TestIsManagedRule(t *testing.T) {
	for rule, want := range map[string]bool{"beta": true, "beta-1": true, "beta-12": true, "beta-users": false, "betas": false, "": false} {
		if got := IsManagedRule(rule, []string{"beta"}); got != want {
			t.Errorf("IsManagedRule(%q) = %v, want %v", rule, got, want)
		}
	}
}
