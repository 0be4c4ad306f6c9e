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
