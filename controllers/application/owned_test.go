package application

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/internal/instance"
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

// The watches' notes of one Deployment of the Application shop/web, event
// by event and read by read: what the next reconcile takes, and which
// events wake it.
func TestOwnedWatchesNotes(t *testing.T) {
	app := types.NamespacedName{Namespace: "shop", Name: "web"}
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	ref := gitopsv1alpha1.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop-dest", Name: "web"}
	key := refKey(ref)
	at := func(version string, annotations map[string]string) client.Object {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "shop-dest", Name: "web", Generation: 1,
			ResourceVersion: version, Annotations: annotations,
			Labels: map[string]string{gitops.ApplicationOwner.NameLabel(): "web", gitops.ApplicationOwner.NamespaceLabel(): "shop"}}}
	}
	status := update{}
	revision := update{metadata: []metadataKey{{annotation: true, key: "deployment.kubernetes.io/revision"}}}

	type step struct {
		event  client.Object // an update event, or nil
		change update
		read   string // a reconcile's health read at this version, or ""
		wakes  bool   // the event wakes the Application
	}
	cases := []struct {
		name      string
		steps     []step
		wantTaken changes
	}{
		{"a status change is noted with its version, and wakes the Application",
			[]step{{event: at("2", nil), change: status, wakes: true}},
			changes{woken: true, dirty: map[string]bool{}, status: map[string]string{key: "2"}, metadata: map[string]map[metadataKey]bool{}}},
		{"a status change read since it was noted is not read again, though it woke the Application",
			[]step{{event: at("2", nil), change: status, wakes: true}, {read: "2"}},
			changes{woken: true, dirty: map[string]bool{}, status: map[string]string{}, metadata: map[string]map[metadataKey]bool{}}},
		{"a status change whose event comes after the read that saw it wakes nothing",
			[]step{{read: "2"}, {event: at("2", nil), change: status}},
			noChanges()},
		{"a later change than the read is noted",
			[]step{{read: "2"}, {event: at("3", nil), change: status, wakes: true}},
			changes{woken: true, dirty: map[string]bool{}, status: map[string]string{key: "3"}, metadata: map[string]map[metadataKey]bool{}}},
		{"a read older than the change noted leaves it",
			[]step{{event: at("3", nil), change: status, wakes: true}, {read: "2"}},
			changes{woken: true, dirty: map[string]bool{}, status: map[string]string{key: "3"}, metadata: map[string]map[metadataKey]bool{}}},
		{"a read newer than the change noted covers it, and the newer change's event, still to come, too",
			[]step{{event: at("2", nil), change: status, wakes: true}, {read: "3"}, {event: at("3", nil), change: status}},
			changes{woken: true, dirty: map[string]bool{}, status: map[string]string{}, metadata: map[string]map[metadataKey]bool{}}},
		{"versions compare as integers, not as text",
			[]step{{event: at("9", nil), change: status, wakes: true}, {read: "10"}},
			changes{woken: true, dirty: map[string]bool{}, status: map[string]string{}, metadata: map[string]map[metadataKey]bool{}}},
		{"a read covers what it saw: the event of the next change is noted",
			[]step{{read: "2"}, {event: at("2", nil), change: status}, {event: at("3", nil), change: status, wakes: true}},
			changes{woken: true, dirty: map[string]bool{}, status: map[string]string{key: "3"}, metadata: map[string]map[metadataKey]bool{}}},
		{"an annotation that changed is noted with the status, and a read does not drop it, since whether it drifted is still to tell",
			[]step{{event: at("2", map[string]string{"deployment.kubernetes.io/revision": "1"}), change: revision, wakes: true}, {read: "2"}},
			changes{woken: true, dirty: map[string]bool{}, status: map[string]string{key: "2"},
				metadata: map[string]map[metadataKey]bool{key: {{annotation: true, key: "deployment.kubernetes.io/revision"}: true}}}},
		{"a spec change is dirty, whatever was read",
			[]step{{read: "2"}, {event: at("2", nil), change: update{spec: true}, wakes: true}},
			changes{woken: true, dirty: map[string]bool{key: true}, status: map[string]string{}, metadata: map[string]map[metadataKey]bool{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newOwned(nil, nil, gitops.ApplicationOwner, instance.Scope{})
			for i, s := range c.steps {
				if s.read != "" {
					w.seen(app, ref, s.read)
					continue
				}
				woke, wakes := w.noteChange(gvk, s.event, s.change)
				if wakes != s.wakes || wakes && woke != app {
					t.Errorf("step %d: wakes %v %v, want %v", i, woke, wakes, s.wakes)
				}
			}
			if diff := cmp.Diff(c.wantTaken, w.take(app), cmp.AllowUnexported(changes{}, metadataKey{})); diff != "" {
				t.Errorf("taken (-want +got):\n%s", diff)
			}
		})
	}
}
