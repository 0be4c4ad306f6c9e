package application

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/traffic"
)

func TestUpdateOf(t *testing.T) {
	deployment := func(generation int64, labels, annotations map[string]string) client.Object {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: generation,
			Labels: labels, Annotations: annotations}}
	}
	deleting := deployment(1, nil, nil)
	now := metav1.NewTime(time.Unix(1700000000, 0))
	deleting.SetDeletionTimestamp(&now)
	owned := map[string]string{"app.kubernetes.io/instance": "shop"}

	cases := []struct {
		name         string
		old, updated client.Object
		want         update
	}{
		{"a status change leaves everything else as it was", deployment(1, owned, nil), deployment(1, owned, nil), update{}},
		{"a new generation is a spec change", deployment(1, owned, nil), deployment(2, owned, nil), update{spec: true}},
		{"a kind without generations has no status: any update may have changed its data",
			deployment(0, owned, nil), deployment(0, owned, nil), update{spec: true}},
		{"a deletion that begins may need the object put back", deployment(1, nil, nil), deleting, update{spec: true}},
		{"the deployment controller's revision annotation, written with its first status, names that annotation",
			deployment(1, owned, nil), deployment(1, owned, map[string]string{"deployment.kubernetes.io/revision": "1"}),
			update{metadata: []metadataKey{{annotation: true, key: "deployment.kubernetes.io/revision"}}}},
		{"labels added, changed and removed, then annotations, each named once",
			deployment(1, map[string]string{"a": "1", "b": "1"}, map[string]string{"note": "x"}),
			deployment(1, map[string]string{"a": "2", "c": "1"}, nil),
			update{metadata: []metadataKey{{key: "a"}, {key: "c"}, {key: "b"}, {annotation: true, key: "note"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, updateOf(c.old, c.updated), cmp.AllowUnexported(update{}, metadataKey{})); diff != "" {
				t.Errorf("updateOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRelabelled(t *testing.T) {
	rendered := &unstructured.Unstructured{}
	rendered.SetLabels(map[string]string{"tier": "web"})
	rendered.SetAnnotations(map[string]string{"team": "shop"})
	const key = "apps/Deployment/shop/web"

	cases := []struct {
		name    string
		changed []metadataKey
		anyKey  bool
		want    bool
	}{
		{"nothing changed", nil, false, false},
		{"nothing changed, on an object written whole", nil, true, false},
		{"an annotation Git does not set is another manager's",
			[]metadataKey{{annotation: true, key: "deployment.kubernetes.io/revision"}}, false, false},
		{"a label Git does not set is another manager's", []metadataKey{{key: "added-by-hand"}}, false, false},
		{"an annotation Git sets may have drifted", []metadataKey{{annotation: true, key: "team"}}, false, true},
		{"a label Git sets may have drifted", []metadataKey{{key: "tier"}}, false, true},
		{"a label's key as an annotation is not the label", []metadataKey{{annotation: true, key: "tier"}}, false, false},
		{"the rollout controller's mark on a route, gone, gives Git's rules back",
			[]metadataKey{{annotation: true, key: traffic.InProgressAnnotation}}, false, true},
		{"the route's in-progress label, likewise", []metadataKey{{key: traffic.DefaultInProgressLabelKey}}, false, true},
		{"another manager's key, on an object written whole or read by an ignoreDifferences expression",
			[]metadataKey{{annotation: true, key: "deployment.kubernetes.io/revision"}}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			taken := noChanges()
			for _, m := range c.changed {
				if taken.metadata[key] == nil {
					taken.metadata[key] = map[metadataKey]bool{}
				}
				taken.metadata[key][m] = true
			}
			if got := taken.relabelled(key, rendered, c.anyKey); got != c.want {
				t.Errorf("relabelled = %v, want %v", got, c.want)
			}
			if got := taken.relabelled("apps/Deployment/shop/other", rendered, c.anyKey); got {
				t.Error("another object's changes count for this one")
			}
		})
	}
}
