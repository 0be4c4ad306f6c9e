package traffic

import (
	"encoding/json"
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzSettingsOf feeds a Rollout's Gateway API plugin configuration, or a
// blue-green Rollout's preview header route, as a tenant writes them, to
// SettingsOf: settings or a field error, never a
// panic, and a field error always names a field.
func FuzzSettingsOf(f *testing.F) {
	f.Add([]byte(`{"httpRoute":"web","namespace":"shop"}`), "canary", "stable", "")
	f.Add([]byte(`{"httpRoutes":[{"name":"a","useHeaderRoutes":true},{"name":"b"}],"grpcRoutes":[{"name":"g"}]}`), "c", "s", "")
	f.Add([]byte(`{"tcpRoute":"x"}`), "c", "s", "")
	f.Add([]byte(`null`), "", "", "")
	f.Add([]byte(`{"httpRoute":"web"}`), "c", "s", `{"name":"preview","header":"X-Preview","value":"1"}`)
	f.Fuzz(func(t *testing.T, config []byte, canaryService, stableService, preview string) {
		ro := &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
		ro.Spec.Strategy.Canary = &rolloutsv1alpha1.CanaryStrategy{
			CanaryService: canaryService, StableService: stableService,
			TrafficRouting: &rolloutsv1alpha1.RolloutTrafficRouting{Plugins: map[string]json.RawMessage{GatewayAPIPlugin: config}},
		}
		if preview != "" {
			// A blue-green Rollout's preview header route instead.
			ro.Spec.Strategy = rolloutsv1alpha1.RolloutStrategy{BlueGreen: &rolloutsv1alpha1.BlueGreenStrategy{
				ActiveService: stableService, PreviewService: canaryService}}
			ro.Annotations = map[string]string{PreviewHeaderRouteAnnotation: preview}
		}
		if _, err := SettingsOf(ro); err != nil && err.Field == "" {
			t.Fatalf("an error naming no field: %v", err)
		}
	})
}
