package traffic

import (
	"encoding/json"
	"testing"

	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func backend(name string, weight ...int32) Backend {
	b := Backend{Name: name, Service: true}
	if len(weight) > 0 {
		b.Weight = ptr.To(weight[0])
	}
	return b
}

func TestWeightPatch(t *testing.T) {
	settings := &Settings{CanaryService: "canary", StableService: "stable", MaxWeight: 100,
		LabelKey: DefaultInProgressLabelKey, LabelValue: DefaultInProgressLabelValue}
	key := RouteKey{Kind: HTTPRouteKind, Namespace: "shop", Name: "web"}
	label := map[string]string{DefaultInProgressLabelKey: DefaultInProgressLabelValue}
	tests := []struct {
		name       string
		route      Route
		settings   *Settings
		weight     int32
		additional []Destination
		retired    []string
		inProgress bool
		want       string
	}{{
		name:   "one rule: both weights written, the label added",
		route:  Route{Key: key, Rules: []Rule{{Backends: []Backend{backend("stable", 100), backend("canary", 0)}}}},
		weight: 20, inProgress: true,
		want: `[{"op":"test","path":"/spec/rules/0/backendRefs/0/name","value":"stable"},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/0/weight","value":80},` +
			`{"op":"test","path":"/spec/rules/0/backendRefs/1/name","value":"canary"},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/1/weight","value":20},` +
			`{"op":"add","path":"/metadata/labels","value":{"rollouts.argoproj.io/gatewayapi-canary":"in-progress"}}]`,
	}, {
		name: "weights already right and labelled: nothing to write",
		route: Route{Key: key, Labels: label,
			Rules: []Rule{{Backends: []Backend{backend("stable", 80), backend("canary", 20)}}}},
		weight: 20, inProgress: true, want: `null`,
	}, {
		name: "several rules: each weighted rule written, a header rule and a foreign rule left alone",
		route: Route{Key: key, Labels: label, Rules: []Rule{
			{Name: "api", Backends: []Backend{backend("stable", 100), backend("canary", 0)}},
			{Name: "header-canary", Backends: []Backend{backend("canary")}},
			{Name: "static", Backends: []Backend{backend("assets", 1), backend("stable", 3)}},
			{Name: "web", Backends: []Backend{backend("canary", 50), backend("stable", 50)}},
		}},
		weight: 50, inProgress: true,
		want: `[{"op":"test","path":"/spec/rules/0/backendRefs/0/name","value":"stable"},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/0/weight","value":50},` +
			`{"op":"test","path":"/spec/rules/0/backendRefs/1/name","value":"canary"},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/1/weight","value":50}]`,
	}, {
		name: "a backend of another kind with the Service's name is not touched",
		route: Route{Key: key, Labels: label, Rules: []Rule{{Backends: []Backend{
			backend("stable", 100), backend("canary", 0), {Name: "canary", Weight: ptr.To[int32](7)},
		}}}},
		weight: 0, inProgress: true,
		want: `null`,
	}, {
		name:     "maxTrafficWeight: the stable Service gets the rest of it",
		route:    Route{Key: key, Labels: label, Rules: []Rule{{Backends: []Backend{backend("stable"), backend("canary")}}}},
		settings: &Settings{CanaryService: "canary", StableService: "stable", MaxWeight: 1000, LabelKey: DefaultInProgressLabelKey, LabelValue: DefaultInProgressLabelValue},
		weight:   5, inProgress: true,
		want: `[{"op":"test","path":"/spec/rules/0/backendRefs/0/name","value":"stable"},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/0/weight","value":995},` +
			`{"op":"test","path":"/spec/rules/0/backendRefs/1/name","value":"canary"},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/1/weight","value":5}]`,
	}, {
		name: "back to 0: the label comes off, other labels stay",
		route: Route{Key: key, Labels: map[string]string{"app": "web", DefaultInProgressLabelKey: "in-progress"},
			Rules: []Rule{{Backends: []Backend{backend("stable", 100), backend("canary", 0)}}}},
		weight: 0, inProgress: false,
		want: `[{"op":"remove","path":"/metadata/labels/rollouts.argoproj.io~1gatewayapi-canary"}]`,
	}, {
		name:     "the label disabled: never added",
		route:    Route{Key: key, Rules: []Rule{{Backends: []Backend{backend("stable", 90), backend("canary", 10)}}}},
		settings: &Settings{CanaryService: "canary", StableService: "stable", MaxWeight: 100},
		weight:   10, inProgress: true, want: `null`,
	}, {
		name:  "a label of the Rollout's own choosing: the annotation Sluice's Applications read comes with it",
		route: Route{Key: key, Labels: map[string]string{"app": "web"}, Rules: []Rule{{Backends: []Backend{backend("stable", 90), backend("canary", 10)}}}},
		settings: &Settings{CanaryService: "canary", StableService: "stable", MaxWeight: 100,
			LabelKey: "team/canary", LabelValue: "on"},
		weight: 10, inProgress: true,
		want: `[{"op":"add","path":"/metadata/labels/team~1canary","value":"on"},` +
			`{"op":"add","path":"/metadata/annotations","value":{"rollouts.sluice.dev/in-progress":"true"}}]`,
	}, {
		name: "a label of the Rollout's own choosing, back to 0: both go",
		route: Route{Key: key, Labels: map[string]string{"team/canary": "on"},
			Annotations: map[string]string{InProgressAnnotation: "true", "note": "kept"},
			Rules:       []Rule{{Backends: []Backend{backend("stable", 100), backend("canary", 0)}}}},
		settings: &Settings{CanaryService: "canary", StableService: "stable", MaxWeight: 100,
			LabelKey: "team/canary", LabelValue: "on"},
		weight: 0, inProgress: false,
		want: `[{"op":"remove","path":"/metadata/labels/team~1canary"},` +
			`{"op":"remove","path":"/metadata/annotations/rollouts.sluice.dev~1in-progress"}]`,
	}, {
		name:   "labels present without ours: ours is added beside them",
		route:  Route{Key: key, Labels: map[string]string{"app": "web"}, Rules: []Rule{{Backends: []Backend{backend("stable", 90), backend("canary", 10)}}}},
		weight: 10, inProgress: true,
		want: `[{"op":"add","path":"/metadata/labels/rollouts.argoproj.io~1gatewayapi-canary","value":"in-progress"}]`,
	}, {
		name: "an experiment starts: its Services are added as copies of the canary's backendRef, the stable Service gives up their weight",
		route: withRefs(Route{Key: key, Labels: label, Rules: []Rule{
			{Name: "web", Backends: []Backend{backend("stable", 100), backend("canary", 0)}},
			{Name: "header-canary", Backends: []Backend{backend("canary")}},
		}}, map[string]int32{"canary": 80, "stable": 80}),
		weight: 0, inProgress: true,
		additional: []Destination{
			{Service: "web-exp-baseline", Weight: 10, Ports: map[int32]int32{80: 8080}},
			{Service: "web-exp-canary", Weight: 10},
		},
		want: `[{"op":"test","path":"/spec/rules/0/backendRefs/0/name","value":"stable"},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/0/weight","value":80},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/-","value":{"name":"web-exp-baseline","port":8080,"weight":10}},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/-","value":{"name":"web-exp-canary","port":80,"weight":10}}]`,
	}, {
		name: "an experiment under way, the route as asked: nothing to write",
		route: Route{Key: key, Labels: label, Rules: []Rule{{Backends: []Backend{
			backend("stable", 70), backend("canary", 10), backend("web-exp-baseline", 10), backend("web-exp-canary", 10),
		}}}},
		weight: 10, inProgress: true,
		additional: []Destination{{Service: "web-exp-baseline", Weight: 10}, {Service: "web-exp-canary", Weight: 10}},
		retired:    []string{"web-exp-baseline", "web-exp-canary"},
		want:       `null`,
	}, {
		name: "the experiment ends: its backends are removed, last first, and the stable Service gets its weight back",
		route: Route{Key: key, Labels: label, Rules: []Rule{
			{Backends: []Backend{backend("stable", 80), backend("web-exp-baseline", 10), backend("canary", 0), backend("web-exp-canary", 10)}},
			{Backends: []Backend{backend("stable", 80), backend("canary", 0), backend("web-exp-baseline", 10), backend("web-exp-canary", 10)}},
		}},
		weight: 0, inProgress: false,
		retired: []string{"web-exp-baseline", "web-exp-canary", "web-exp-gone"},
		want: `[{"op":"test","path":"/spec/rules/0/backendRefs/0/name","value":"stable"},` +
			`{"op":"add","path":"/spec/rules/0/backendRefs/0/weight","value":100},` +
			`{"op":"test","path":"/spec/rules/1/backendRefs/0/name","value":"stable"},` +
			`{"op":"add","path":"/spec/rules/1/backendRefs/0/weight","value":100},` +
			`{"op":"test","path":"/spec/rules/0/backendRefs/3/name","value":"web-exp-canary"},` +
			`{"op":"remove","path":"/spec/rules/0/backendRefs/3"},` +
			`{"op":"test","path":"/spec/rules/0/backendRefs/1/name","value":"web-exp-baseline"},` +
			`{"op":"remove","path":"/spec/rules/0/backendRefs/1"},` +
			`{"op":"test","path":"/spec/rules/1/backendRefs/3/name","value":"web-exp-canary"},` +
			`{"op":"remove","path":"/spec/rules/1/backendRefs/3"},` +
			`{"op":"test","path":"/spec/rules/1/backendRefs/2/name","value":"web-exp-baseline"},` +
			`{"op":"remove","path":"/spec/rules/1/backendRefs/2"},` +
			`{"op":"remove","path":"/metadata/labels/rollouts.argoproj.io~1gatewayapi-canary"}]`,
	}, {
		name: "a backend someone else added to the rule is neither weighted nor removed",
		route: Route{Key: key, Labels: label, Rules: []Rule{{Backends: []Backend{
			backend("stable", 90), backend("canary", 10), backend("legacy", 5),
		}}}},
		weight: 10, inProgress: true, retired: []string{"web-exp-canary"},
		want: `null`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.settings
			if s == nil {
				s = settings
			}
			got, err := json.Marshal(WeightPatch(tt.route, s, Weights{Canary: tt.weight, Additional: tt.additional, Retired: tt.retired}, tt.inProgress))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("WeightPatch:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// withRefs gives the named backends of a route's rules a backendRef with
// a port, as FromHTTPRoute reads them.
func withRefs(r Route, ports map[string]int32) Route {
	for i := range r.Rules {
		for j, b := range r.Rules[i].Backends {
			if port, ok := ports[b.Name]; ok {
				r.Rules[i].Backends[j].ref = gatewayv1.BackendObjectReference{
					Name: gatewayv1.ObjectName(b.Name), Port: new(port),
				}
			}
		}
	}
	return r
}

func TestBackendWeight(t *testing.T) {
	key := RouteKey{Kind: HTTPRouteKind, Namespace: "shop", Name: "web"}
	tests := []struct {
		name       string
		rules      []Rule
		wantWeight int32
		wantIn     bool
		wantErr    string
	}{
		{name: "in every weighted rule", rules: []Rule{
			{Backends: []Backend{backend("stable", 80), backend("canary", 10), backend("exp", 10)}},
			{Backends: []Backend{backend("canary")}},
		}, wantWeight: 10, wantIn: true},
		{name: "in none", rules: []Rule{{Backends: []Backend{backend("stable", 100), backend("canary", 0)}}}},
		{name: "only in a rule that is not weighted", rules: []Rule{
			{Backends: []Backend{backend("stable", 100), backend("canary", 0)}},
			{Backends: []Backend{backend("exp", 3)}},
		}},
		{name: "in some weighted rules only", rules: []Rule{
			{Backends: []Backend{backend("stable", 90), backend("canary", 0), backend("exp", 10)}},
			{Backends: []Backend{backend("stable", 100), backend("canary", 0)}},
		}, wantErr: `HTTPRoute shop/web: some of its rules send to "exp" and some do not`},
		{name: "different weights", rules: []Rule{
			{Backends: []Backend{backend("stable", 90), backend("canary", 0), backend("exp", 10)}},
			{Backends: []Backend{backend("stable", 95), backend("canary", 0), backend("exp", 5)}},
		}, wantErr: `HTTPRoute shop/web: its rules give "exp" different weights`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, in, err := Route{Key: key, Rules: tt.rules}.BackendWeight("canary", "stable", "exp")
			switch {
			case tt.wantErr != "":
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case w != tt.wantWeight || in != tt.wantIn:
				t.Errorf("BackendWeight = %d, %t; want %d, %t", w, in, tt.wantWeight, tt.wantIn)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	key := RouteKey{Kind: HTTPRouteKind, Namespace: "shop", Name: "web"}
	tests := []struct {
		name                   string
		rules                  []Rule
		wantCanary, wantStable int32
		wantErr                string
	}{
		{name: "one rule", rules: []Rule{{Backends: []Backend{backend("stable", 70), backend("canary", 30)}}}, wantCanary: 30, wantStable: 70},
		{name: "unset weights are Gateway API's 1", rules: []Rule{{Backends: []Backend{backend("stable"), backend("canary")}}}, wantCanary: 1, wantStable: 1},
		{name: "a header rule to the canary does not count", rules: []Rule{
			{Backends: []Backend{backend("stable", 100), backend("canary", 0)}},
			{Name: "header", Backends: []Backend{backend("canary")}},
		}, wantCanary: 0, wantStable: 100},
		{name: "rules that disagree", rules: []Rule{
			{Backends: []Backend{backend("stable", 100), backend("canary", 0)}},
			{Backends: []Backend{backend("stable", 50), backend("canary", 50)}},
		}, wantErr: `HTTPRoute shop/web: its rules give "stable" different weights`},
		{name: "no rule with both", rules: []Rule{{Backends: []Backend{backend("stable")}}},
			wantErr: `HTTPRoute shop/web has no rule with both the canary Service "canary" and the stable Service "stable" as backends`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, err := Route{Key: key, Rules: tt.rules}.Weights("canary", "stable")
			switch {
			case tt.wantErr != "":
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case c != tt.wantCanary || s != tt.wantStable:
				t.Errorf("Weights = %d, %d; want %d, %d", c, s, tt.wantCanary, tt.wantStable)
			}
		})
	}
}
