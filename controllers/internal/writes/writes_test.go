package writes

import (
	"encoding/json"
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/google/go-cmp/cmp"
)

func TestScaleDownDeadline(t *testing.T) {
	cases := map[string]struct {
		deadline string
		want     map[string]any
	}{
		"a deadline sets the annotation": {"2026-01-02T03:04:05Z", map[string]any{"metadata": map[string]any{
			"annotations": map[string]any{rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey: "2026-01-02T03:04:05Z"}}}},
		"none removes it": {"", map[string]any{"metadata": map[string]any{
			"annotations": map[string]any{rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey: nil}}}},
	}
	for name, tc := range cases {
		var got map[string]any
		if err := json.Unmarshal([]byte(ScaleDownDeadline(tc.deadline)), &got); err != nil {
			t.Fatalf("%s: not JSON: %v", name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestLabelsPatch(t *testing.T) {
	const id, shard = "argo-rollouts.argoproj.io/controller-instance-id", "sharding.fluxcd.io/key"
	cases := map[string]struct {
		have, want map[string]string
		patch      map[string]any // nil: no patch
	}{
		"labels already equal need no patch": {map[string]string{shard: "a", "app": "web"}, map[string]string{shard: "a"}, nil},
		"neither has the labels: no patch":   {map[string]string{"app": "web"}, nil, nil},
		"a missing label is set": {nil, map[string]string{shard: "a", id: "blue"},
			map[string]any{shard: "a", id: "blue"}},
		"a different value is replaced": {map[string]string{shard: "b", id: "blue"}, map[string]string{shard: "a", id: "blue"},
			map[string]any{shard: "a"}},
		"a label the parent has not is removed": {map[string]string{shard: "b"}, map[string]string{},
			map[string]any{shard: nil}},
		"other labels are left alone": {map[string]string{"app": "web"}, map[string]string{"app": "api", shard: "a"},
			map[string]any{shard: "a"}},
	}
	for name, tc := range cases {
		patch := LabelsPatch(tc.have, tc.want, id, shard)
		if tc.patch == nil {
			if patch != "" {
				t.Errorf("%s: patch %s, want none", name, patch)
			}
			continue
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(patch), &got); err != nil {
			t.Fatalf("%s: not JSON: %q: %v", name, patch, err)
		}
		if diff := cmp.Diff(map[string]any{"metadata": map[string]any{"labels": tc.patch}}, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
