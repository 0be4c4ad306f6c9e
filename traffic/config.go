// Package traffic is Sluice's built-in Gateway API traffic router. It is
// configured exactly as Argo Rollouts' Gateway API plugin is, under
// spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"],
// so manifests written for the plugin move over unchanged.
//
// The rollout planner decides which weight the canary gets; this package
// only reads routes (what weight do they carry?) and writes them (set this
// weight), touching nothing but the weights and the in-progress label.
package traffic

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// GatewayAPIPlugin is the plugin name a Rollout configures the router under.
const GatewayAPIPlugin = "argoproj-labs/gatewayAPI"

// The in-progress label the plugin puts on a route while a canary holds
// traffic, so a GitOps tool can leave the route's weights alone.
const (
	DefaultInProgressLabelKey   = "rollouts.argoproj.io/gatewayapi-canary"
	DefaultInProgressLabelValue = "in-progress"
)

// InProgressAnnotation marks, beside a label key of the Rollout's own
// choosing (inProgressLabelKey), a route whose rules Sluice holds, so
// Sluice's Applications leave them alone whatever the label is called.
const InProgressAnnotation = "rollouts.sluice.dev/in-progress"

// Route kinds the router weights.
const (
	HTTPRouteKind = "HTTPRoute"
	GRPCRouteKind = "GRPCRoute"
)

// Config is the plugin's configuration, with the plugin's field names.
// Keys the plugin no longer reads (configMap) are ignored, as it ignores
// them.
type Config struct {
	HTTPRoute  string     `json:"httpRoute,omitempty"`
	HTTPRoutes []RouteRef `json:"httpRoutes,omitempty"`
	GRPCRoute  string     `json:"grpcRoute,omitempty"`
	GRPCRoutes []RouteRef `json:"grpcRoutes,omitempty"`
	// Namespace holds the routes; the Rollout's namespace by default.
	Namespace              string `json:"namespace,omitempty"`
	InProgressLabelKey     string `json:"inProgressLabelKey,omitempty"`
	InProgressLabelValue   string `json:"inProgressLabelValue,omitempty"`
	DisableInProgressLabel bool   `json:"disableInProgressLabel,omitempty"`

	// Read only to refuse them clearly.
	TCPRoute          string          `json:"tcpRoute,omitempty"`
	TCPRoutes         []RouteRef      `json:"tcpRoutes,omitempty"`
	TLSRoute          string          `json:"tlsRoute,omitempty"`
	TLSRoutes         []RouteRef      `json:"tlsRoutes,omitempty"`
	HTTPRouteSelector json.RawMessage `json:"httpRouteSelector,omitempty"`
	GRPCRouteSelector json.RawMessage `json:"grpcRouteSelector,omitempty"`
	TCPRouteSelector  json.RawMessage `json:"tcpRouteSelector,omitempty"`
	TLSRouteSelector  json.RawMessage `json:"tlsRouteSelector,omitempty"`
}

// RouteRef names one route.
type RouteRef struct {
	Name string `json:"name"`
	// UseHeaderRoutes lets setHeaderRoute steps add their rules to it.
	UseHeaderRoutes bool `json:"useHeaderRoutes,omitempty"`
}

// RouteKey identifies a route.
type RouteKey struct {
	Kind, Namespace, Name string
}

func (k RouteKey) String() string { return k.Kind + " " + k.Namespace + "/" + k.Name }

// Settings is a Rollout's traffic routing, resolved: which routes, which
// Services, which weights.
type Settings struct {
	Routes []RouteKey
	// HeaderRoutes are the routes setHeaderRoute steps write to.
	HeaderRoutes                 []RouteKey
	CanaryService, StableService string
	// ServiceNamespace holds the Services: the Rollout's namespace.
	ServiceNamespace string
	// MaxWeight is maxTrafficWeight: the total of the weights.
	MaxWeight int32
	// Label is the in-progress label, or an empty key when disabled.
	LabelKey, LabelValue string
	// ManagedRoutes are the names of trafficRouting.managedRoutes: the
	// header rules the router may write and remove.
	ManagedRoutes []string
	// HeaderSource, when set, is the Service whose rules header rules are
	// built from; otherwise they are built from the rules that send to both
	// the canary and the stable Service. A blue-green preview route builds
	// them from the active Service's rules.
	HeaderSource string
	// Preview is a blue-green Rollout's preview header route.
	Preview *HeaderRoute
}

// SettingsOf resolves a Rollout's traffic routing. It returns nil without
// error for a Rollout that routes no traffic, and an error saying what is
// wrong, and where, for one Sluice cannot route.
func SettingsOf(ro *rolloutsv1alpha1.Rollout) (*Settings, *FieldError) {
	if ro.Spec.Strategy.BlueGreen != nil {
		s, err := PreviewSettingsOf(ro)
		if err != nil {
			return nil, &FieldError{Field: "metadata.annotations[" + PreviewHeaderRouteAnnotation + "]", Message: err.Error()}
		}
		return s, nil
	}
	canary := ro.Spec.Strategy.Canary
	if canary == nil || canary.TrafficRouting == nil {
		return nil, nil
	}
	tr := canary.TrafficRouting
	if other := otherRouters(tr); len(other) > 0 {
		return nil, &FieldError{Field: "trafficRouting." + other[0],
			Message: "Sluice routes traffic with Gateway API only: configure plugins[\"" + GatewayAPIPlugin + "\"]"}
	}
	raw, ok := tr.Plugins[GatewayAPIPlugin]
	if !ok {
		return nil, &FieldError{Field: "trafficRouting.plugins",
			Message: "Sluice serves one traffic router, \"" + GatewayAPIPlugin + "\"; configure it under that name"}
	}
	field := `trafficRouting.plugins["` + GatewayAPIPlugin + `"]`
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, &FieldError{Field: field, Message: "not valid configuration: " + err.Error()}
	}
	if unsupported := cfg.unsupported(); unsupported != "" {
		return nil, &FieldError{Field: field + "." + unsupported, Message: "not supported yet: name HTTPRoutes or GRPCRoutes"}
	}
	if canary.CanaryService == "" || canary.StableService == "" {
		return nil, &FieldError{Field: "canaryService", Message: "traffic routing needs canaryService and stableService"}
	}
	s := &Settings{
		CanaryService: canary.CanaryService, StableService: canary.StableService, ServiceNamespace: ro.Namespace,
		MaxWeight: 100, LabelKey: DefaultInProgressLabelKey, LabelValue: DefaultInProgressLabelValue,
	}
	if tr.MaxTrafficWeight != nil {
		if *tr.MaxTrafficWeight <= 0 {
			return nil, &FieldError{Field: "trafficRouting.maxTrafficWeight", Message: "must be positive"}
		}
		s.MaxWeight = *tr.MaxTrafficWeight
	}
	if cfg.InProgressLabelKey != "" {
		s.LabelKey = cfg.InProgressLabelKey
	}
	if cfg.InProgressLabelValue != "" {
		s.LabelValue = cfg.InProgressLabelValue
	}
	for _, m := range tr.ManagedRoutes {
		s.ManagedRoutes = append(s.ManagedRoutes, m.Name)
	}
	if cfg.DisableInProgressLabel {
		s.LabelKey, s.LabelValue = "", ""
	}
	namespace := cfg.Namespace
	if namespace == "" {
		namespace = ro.Namespace
	}
	add := func(kind string, single string, list []RouteRef) *FieldError {
		refs := list
		if single != "" {
			// The single form, as in the plugin, also takes header routes.
			refs = append(refs, RouteRef{Name: single, UseHeaderRoutes: true})
		}
		for _, ref := range refs {
			if ref.Name == "" {
				return &FieldError{Field: field, Message: "a " + kind + " needs a name"}
			}
			key := RouteKey{Kind: kind, Namespace: namespace, Name: ref.Name}
			if slices.Contains(s.Routes, key) {
				continue
			}
			s.Routes = append(s.Routes, key)
			if ref.UseHeaderRoutes {
				s.HeaderRoutes = append(s.HeaderRoutes, key)
			}
		}
		return nil
	}
	if err := add(HTTPRouteKind, cfg.HTTPRoute, cfg.HTTPRoutes); err != nil {
		return nil, err
	}
	if err := add(GRPCRouteKind, cfg.GRPCRoute, cfg.GRPCRoutes); err != nil {
		return nil, err
	}
	if len(s.Routes) == 0 {
		return nil, &FieldError{Field: field, Message: "names no route: set httpRoute, httpRoutes, grpcRoute or grpcRoutes"}
	}
	return s, nil
}

// FieldError is a problem with a field under spec.strategy.canary (or,
// for a blue-green preview route, with its annotation).
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// otherRouters lists the routers set besides the Gateway API plugin.
func otherRouters(tr *rolloutsv1alpha1.RolloutTrafficRouting) []string {
	var set []string
	for name, on := range map[string]bool{
		"istio": tr.Istio != nil, "nginx": tr.Nginx != nil, "alb": tr.ALB != nil, "smi": tr.SMI != nil,
		"ambassador": tr.Ambassador != nil, "appMesh": tr.AppMesh != nil, "traefik": tr.Traefik != nil,
		"apisix": tr.Apisix != nil,
	} {
		if on {
			set = append(set, name)
		}
	}
	for name := range tr.Plugins {
		if name != GatewayAPIPlugin {
			set = append(set, fmt.Sprintf("plugins[%q]", name))
		}
	}
	sort.Strings(set)
	return set
}

func (c Config) unsupported() string {
	switch {
	case c.TCPRoute != "" || len(c.TCPRoutes) > 0:
		return "tcpRoutes"
	case c.TLSRoute != "" || len(c.TLSRoutes) > 0:
		return "tlsRoutes"
	}
	for name, raw := range map[string]json.RawMessage{
		"httpRouteSelector": c.HTTPRouteSelector, "grpcRouteSelector": c.GRPCRouteSelector,
		"tcpRouteSelector": c.TCPRouteSelector, "tlsRouteSelector": c.TLSRouteSelector,
	} {
		if len(raw) > 0 && strings.TrimSpace(string(raw)) != "null" {
			return name
		}
	}
	return ""
}
