package traffic

import (
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"sigs.k8s.io/yaml"
)

// PreviewHeaderRouteAnnotation is the annotation by which a blue-green
// Rollout asks for a rule on the production route that sends requests with
// matching headers to the preview Service while a new revision waits for
// promotion, so it can be tried through the real entry point before it
// takes the active Service.
// Its value, in YAML or JSON:
//
//	httpRoute: my-app        # or grpcRoute; namespace: defaults to the Rollout's
//	name: preview            # the rule's name; "sluice-preview" by default
//	match:                   # as a setHeaderRoute step's match
//	- headerName: X-Preview
//	  headerValue: {exact: "true"}
//
// The rule is built from each rule of the route that sends to the active
// Service: its matches with the header matches added, its filters, and the
// preview Service (on the active backend's port) as the only backend.
const PreviewHeaderRouteAnnotation = "rollouts.sluice.dev/preview-header-route"

// defaultPreviewRule names the preview rule when the annotation does not.
const defaultPreviewRule = "sluice-preview"

// PreviewHeaderRoute is the annotation's value.
type PreviewHeaderRoute struct {
	HTTPRoute string                                `json:"httpRoute,omitempty"`
	GRPCRoute string                                `json:"grpcRoute,omitempty"`
	Namespace string                                `json:"namespace,omitempty"`
	Name      string                                `json:"name,omitempty"`
	Match     []rolloutsv1alpha1.HeaderRoutingMatch `json:"match"`
}

// PreviewSettingsOf resolves a blue-green Rollout's preview header route:
// nil without error when it asks for none, and an error saying what is
// wrong with the annotation otherwise. The settings' canary Service is the
// preview Service, the header rules' target, and HeaderSource the active
// Service, whose rules they copy.
func PreviewSettingsOf(ro *rolloutsv1alpha1.Rollout) (*Settings, error) {
	bg := ro.Spec.Strategy.BlueGreen
	raw, ok := ro.Annotations[PreviewHeaderRouteAnnotation]
	if bg == nil || !ok {
		return nil, nil
	}
	var cfg PreviewHeaderRoute
	if err := yaml.UnmarshalStrict([]byte(raw), &cfg); err != nil {
		return nil, fmt.Errorf("not valid: %w", err)
	}
	if bg.PreviewService == "" {
		return nil, fmt.Errorf("needs spec.strategy.blueGreen.previewService, the Service its rule sends to")
	}
	key := RouteKey{Kind: HTTPRouteKind, Namespace: cfg.Namespace, Name: cfg.HTTPRoute}
	if cfg.GRPCRoute != "" {
		key.Kind, key.Name = GRPCRouteKind, cfg.GRPCRoute
	}
	if (cfg.HTTPRoute == "") == (cfg.GRPCRoute == "") {
		return nil, fmt.Errorf("name one route: httpRoute or grpcRoute")
	}
	if key.Namespace == "" {
		key.Namespace = ro.Namespace
	}
	if len(cfg.Match) == 0 {
		return nil, fmt.Errorf("needs at least one match")
	}
	for _, m := range cfg.Match {
		if _, _, err := HeaderMatchValue(m); err != nil {
			return nil, err
		}
	}
	if cfg.Name == "" {
		cfg.Name = defaultPreviewRule
	}
	return &Settings{
		Routes: []RouteKey{key}, HeaderRoutes: []RouteKey{key},
		CanaryService: bg.PreviewService, HeaderSource: bg.ActiveService, ServiceNamespace: ro.Namespace,
		ManagedRoutes: []string{cfg.Name},
		LabelKey:      DefaultInProgressLabelKey, LabelValue: DefaultInProgressLabelValue,
		Preview: &HeaderRoute{Name: cfg.Name, Match: cfg.Match},
	}, nil
}
