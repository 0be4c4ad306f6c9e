package gitops

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeepRolloutOwned(t *testing.T) {
	cases := []struct {
		name, reason        string
		live, desired, want string
	}{{
		name:   "managed service",
		reason: "the selector a Rollout pins, and the annotation that says so, stay as they are live",
		live: `{apiVersion: v1, kind: Service, metadata: {name: web-canary, resourceVersion: "7",
  annotations: {argo-rollouts.argoproj.io/managed-by-rollouts: web}},
spec: {selector: {app: web, rollouts-pod-template-hash: 5d8f}, ports: [{port: 80}]}}`,
		desired: `{apiVersion: v1, kind: Service, metadata: {name: web-canary}, spec: {selector: {app: web}, ports: [{port: 8080}]}}`,
		want: `{apiVersion: v1, kind: Service, metadata: {name: web-canary,
  annotations: {argo-rollouts.argoproj.io/managed-by-rollouts: web}},
spec: {selector: {app: web, rollouts-pod-template-hash: 5d8f}, ports: [{port: 8080}]}}`,
	}, {
		name:    "unmanaged service",
		reason:  "a Service no Rollout manages is replaced as Git has it",
		live:    `{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: old}}}`,
		desired: `{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}}}`,
		want:    `{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}}}`,
	}, {
		name:   "route in progress",
		reason: "a route's rules hold the canary's weights while the in-progress label is on it",
		live: `{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: {name: web, labels: {rollouts.argoproj.io/gatewayapi-canary: in-progress}},
spec: {rules: [{backendRefs: [{name: stable, weight: 80}, {name: canary, weight: 20}]}]}}`,
		desired: `{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: {name: web},
spec: {rules: [{backendRefs: [{name: stable, weight: 100}, {name: canary, weight: 0}]}]}}`,
		want: `{apiVersion: gateway.networking.k8s.io/v1, kind: HTTPRoute, metadata: {name: web, labels: {rollouts.argoproj.io/gatewayapi-canary: in-progress}},
spec: {rules: [{backendRefs: [{name: stable, weight: 80}, {name: canary, weight: 20}]}]}}`,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := keepRolloutOwned(fromYAML(t, c.live), fromYAML(t, c.desired))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fromYAML(t, c.want).Object, got.Object); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.reason, diff)
			}
		})
	}
}
