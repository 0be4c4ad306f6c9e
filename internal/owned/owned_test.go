package owned

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestControlledBy(t *testing.T) {
	owner := &metav1.ObjectMeta{Name: "web", UID: "uid-now"}
	rs := func(name string, refs ...metav1.OwnerReference) appsv1.ReplicaSet {
		return appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: refs}}
	}
	ref := func(uid types.UID, controller bool) metav1.OwnerReference {
		return metav1.OwnerReference{Name: "web", UID: uid, Controller: ptr.To(controller)}
	}
	items := []appsv1.ReplicaSet{
		rs("first", ref("uid-now", true)),
		rs("unowned"),
		rs("predecessor", ref("uid-before", true)), // same name, an earlier owner
		rs("owned-not-controlled", ref("uid-now", false)),
		rs("second", ref("uid-now", true)),
	}
	got := ControlledBy(items, owner)
	var names []string
	for _, rs := range got {
		names = append(names, rs.Name)
	}
	if diff := cmp.Diff([]string{"first", "second"}, names); diff != "" {
		t.Errorf("controlled items (-want +got):\n%s", diff)
	}
	if got[0] != &items[0] {
		t.Error("the result points into the list rather than at a copy")
	}
	if ControlledBy([]appsv1.ReplicaSet{rs("unowned")}, owner) != nil {
		t.Error("none controlled: want nil")
	}
}

func TestControllerName(t *testing.T) {
	kind := schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}
	index := ControllerName(kind)
	controller := func(apiVersion, kind string, controller bool) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{
			{APIVersion: apiVersion, Kind: kind, Name: "web", Controller: ptr.To(controller)},
		}}}
	}
	cases := map[string]struct {
		obj  *appsv1.ReplicaSet
		want []string
	}{
		"controlled by a Rollout":    {controller("argoproj.io/v1alpha1", "Rollout", true), []string{"web"}},
		"owned, not controlled":      {controller("argoproj.io/v1alpha1", "Rollout", false), nil},
		"controlled by another kind": {controller("argoproj.io/v1alpha1", "Experiment", true), nil},
		"a Rollout of another group": {controller("example.com/v1", "Rollout", true), nil},
		"no owner at all":            {&appsv1.ReplicaSet{}, nil},
	}
	for name, tc := range cases {
		if diff := cmp.Diff(tc.want, index(tc.obj)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
