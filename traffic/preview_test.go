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

func previewRollout(annotation string) *rolloutsv1alpha1.Rollout {
	ro := &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web",
		Annotations: map[string]string{PreviewHeaderRouteAnnotation: annotation}}}
	ro.Spec.Strategy.BlueGreen = &rolloutsv1alpha1.BlueGreenStrategy{ActiveService: "web", PreviewService: "web-preview"}
	return ro
}

func TestPreviewSettingsOf(t *testing.T) {
	for _, tt := range []struct {
		name, annotation string
		route            RouteKey
		rule             string
		err              string
	}{
		{name: "YAML, defaults", annotation: "httpRoute: web\nmatch:\n- headerName: X-Preview\n  headerValue: {exact: \"yes\"}\n",
			route: RouteKey{Kind: HTTPRouteKind, Namespace: "shop", Name: "web"}, rule: "sluice-preview"},
		{name: "JSON, a GRPCRoute elsewhere, a rule name",
			annotation: `{"grpcRoute":"api","namespace":"edge","name":"try","match":[{"headerName":"x-preview","headerValue":{"prefix":"y"}}]}`,
			route:      RouteKey{Kind: GRPCRouteKind, Namespace: "edge", Name: "api"}, rule: "try"},
		{name: "two routes", annotation: `{"httpRoute":"a","grpcRoute":"b","match":[{"headerName":"x","headerValue":{"exact":"1"}}]}`, err: "name one route"},
		{name: "a match without a value", annotation: `{"httpRoute":"a","match":[{"headerName":"x"}]}`, err: "needs a headerValue"},
		{name: "not YAML", annotation: "httpRoute: [", err: "not valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := PreviewSettingsOf(previewRollout(tt.annotation))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Routes[0] != tt.route || s.HeaderRoutes[0] != tt.route || s.Preview.Name != tt.rule ||
				s.CanaryService != "web-preview" || s.HeaderSource != "web" {
				t.Errorf("settings: %+v", s)
			}
		})
	}

	t.Run("a Rollout without the annotation has none", func(t *testing.T) {
		ro := previewRollout("")
		delete(ro.Annotations, PreviewHeaderRouteAnnotation)
		if s, err := PreviewSettingsOf(ro); s != nil || err != nil {
			t.Errorf("got %+v, %v", s, err)
		}
	})
}

func TestPreviewHeaderRoutePatch(t *testing.T) {
	s, err := PreviewSettingsOf(previewRollout("httpRoute: web\nmatch:\n- headerName: X-Preview\n  headerValue: {exact: \"yes\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	app := httpRule("app", ref("web", 1))
	app.Matches = []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Value: ptr.To("/api")}}}
	route, err := FromHTTPRoute(&gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{app, httpRule("docs", ref("docs", 1))}}}, "shop")
	if err != nil {
		t.Fatal(err)
	}

	ops, err := HeaderRoutePatch(route, s, []HeaderRoute{*s.Preview})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, op := range ops {
		paths = append(paths, op.Op+" "+op.Path)
	}
	if got := strings.Join(paths, "\n"); got != "add /spec/rules/-\nadd /metadata/labels" {
		t.Fatalf("ops:\n%s", got)
	}
	data, _ := json.Marshal(ops[0].Value)
	var rule gatewayv1.HTTPRouteRule
	if err := json.Unmarshal(data, &rule); err != nil {
		t.Fatal(err)
	}
	if len(rule.BackendRefs) != 1 || rule.BackendRefs[0].Name != "web-preview" || *rule.BackendRefs[0].Port != 80 {
		t.Errorf("the rule sends to %+v, want only web-preview on the active backend's port", rule.BackendRefs)
	}
	if *rule.Matches[0].Path.Value != "/api" || len(rule.Matches[0].Headers) != 1 {
		t.Errorf("the rule matches %s, want the active rule's path and the header", data)
	}

	if ops, _ := HeaderRoutePatch(route, s, nil); len(ops) != 0 {
		t.Errorf("nothing to remove, yet %v", ops)
	}
}
