package traffic

import (
	"encoding/json"
	"reflect"
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/utils/ptr"
)

func rolloutRouting(tr *rolloutsv1alpha1.RolloutTrafficRouting) *rolloutsv1alpha1.Rollout {
	ro := &rolloutsv1alpha1.Rollout{}
	ro.Namespace = "shop"
	ro.Spec.Strategy.Canary = &rolloutsv1alpha1.CanaryStrategy{CanaryService: "canary", StableService: "stable", TrafficRouting: tr}
	return ro
}

func plugin(config string) *rolloutsv1alpha1.RolloutTrafficRouting {
	return &rolloutsv1alpha1.RolloutTrafficRouting{Plugins: map[string]json.RawMessage{GatewayAPIPlugin: json.RawMessage(config)}}
}

func TestSettingsOf(t *testing.T) {
	defaults := func(routes []RouteKey, header []RouteKey) *Settings {
		return &Settings{Routes: routes, HeaderRoutes: header, CanaryService: "canary", StableService: "stable", ServiceNamespace: "shop",
			MaxWeight: 100, LabelKey: DefaultInProgressLabelKey, LabelValue: DefaultInProgressLabelValue}
	}
	http := func(ns, name string) RouteKey { return RouteKey{Kind: HTTPRouteKind, Namespace: ns, Name: name} }
	grpc := func(ns, name string) RouteKey { return RouteKey{Kind: GRPCRouteKind, Namespace: ns, Name: name} }
	tests := []struct {
		name    string
		tr      *rolloutsv1alpha1.RolloutTrafficRouting
		want    *Settings
		wantErr string
	}{{
		name: "the seed's form: one httpRoute, which also takes header routes",
		tr:   plugin(`{"httpRoute":"web","namespace":"shop"}`),
		want: defaults([]RouteKey{http("shop", "web")}, []RouteKey{http("shop", "web")}),
	}, {
		name: "lists of routes of both kinds, in the Rollout's namespace by default; an old configMap key ignored",
		tr:   plugin(`{"httpRoutes":[{"name":"a"},{"name":"b","useHeaderRoutes":true}],"grpcRoutes":[{"name":"g"}],"configMap":"old"}`),
		want: defaults([]RouteKey{http("shop", "a"), http("shop", "b"), grpc("shop", "g")}, []RouteKey{http("shop", "b")}),
	}, {
		name: "maxTrafficWeight and a label of one's own",
		tr: func() *rolloutsv1alpha1.RolloutTrafficRouting {
			tr := plugin(`{"httpRoute":"web","inProgressLabelKey":"example.com/canary","inProgressLabelValue":"yes"}`)
			tr.MaxTrafficWeight = ptr.To[int32](1000)
			return tr
		}(),
		want: &Settings{Routes: []RouteKey{http("shop", "web")}, HeaderRoutes: []RouteKey{http("shop", "web")},
			CanaryService: "canary", StableService: "stable", ServiceNamespace: "shop", MaxWeight: 1000, LabelKey: "example.com/canary", LabelValue: "yes"},
	}, {
		name: "the label disabled",
		tr:   plugin(`{"httpRoute":"web","disableInProgressLabel":true}`),
		want: &Settings{Routes: []RouteKey{http("shop", "web")}, HeaderRoutes: []RouteKey{http("shop", "web")},
			CanaryService: "canary", StableService: "stable", ServiceNamespace: "shop", MaxWeight: 100},
	}, {
		name:    "another plugin",
		tr:      &rolloutsv1alpha1.RolloutTrafficRouting{Plugins: map[string]json.RawMessage{"acme/mesh": json.RawMessage(`{}`)}},
		wantErr: `trafficRouting.plugins["acme/mesh"]: Sluice routes traffic with Gateway API only: configure plugins["argoproj-labs/gatewayAPI"]`,
	}, {
		name:    "a built-in router of Argo's",
		tr:      &rolloutsv1alpha1.RolloutTrafficRouting{Nginx: &rolloutsv1alpha1.NginxTrafficRouting{StableIngress: "web"}},
		wantErr: `trafficRouting.nginx: Sluice routes traffic with Gateway API only: configure plugins["argoproj-labs/gatewayAPI"]`,
	}, {
		name:    "no route named",
		tr:      plugin(`{"namespace":"shop"}`),
		wantErr: `trafficRouting.plugins["argoproj-labs/gatewayAPI"]: names no route: set httpRoute, httpRoutes, grpcRoute or grpcRoutes`,
	}, {
		name:    "TCP routes",
		tr:      plugin(`{"tcpRoute":"db"}`),
		wantErr: `trafficRouting.plugins["argoproj-labs/gatewayAPI"].tcpRoutes: not supported yet: name HTTPRoutes or GRPCRoutes`,
	}, {
		name:    "not JSON of the plugin's shape",
		tr:      plugin(`{"httpRoutes":"web"}`),
		wantErr: `trafficRouting.plugins["argoproj-labs/gatewayAPI"]: not valid configuration: json: cannot unmarshal string into Go struct field Config.httpRoutes of type []traffic.RouteRef`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SettingsOf(rolloutRouting(tt.tr))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SettingsOf:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("no traffic routing", func(t *testing.T) {
		if s, err := SettingsOf(rolloutRouting(nil)); s != nil || err != nil {
			t.Fatalf("SettingsOf = %v, %v; want nil, nil", s, err)
		}
	})
	t.Run("traffic routing needs both Services", func(t *testing.T) {
		ro := rolloutRouting(plugin(`{"httpRoute":"web"}`))
		ro.Spec.Strategy.Canary.StableService = ""
		if _, err := SettingsOf(ro); err == nil || err.Field != "canaryService" {
			t.Fatalf("err = %v, want one on canaryService", err)
		}
	})
}
