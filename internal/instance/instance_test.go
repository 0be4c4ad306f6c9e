package instance_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sluicehq/sluice/internal/instance"
)

func TestSelectorHandlesAndPredicateAgree(t *testing.T) {
	labelled := func(value string) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{}
		cm.Labels = map[string]string{"app": "web", instance.Label: value}
		return cm
	}
	unlabelled := &corev1.ConfigMap{}
	unlabelled.Labels = map[string]string{"app": "web"}

	for _, tc := range []struct {
		why  string
		id   string
		obj  *corev1.ConfigMap
		want bool
	}{
		{"no instance id handles objects without the label", "", unlabelled, true},
		{"no instance id leaves every labelled object alone", "", labelled("blue"), false},
		{"an empty label value is still a label: not the unlabelled instance's", "", labelled(""), false},
		{"an instance handles its own label value", "blue", labelled("blue"), true},
		{"an instance leaves another's alone", "blue", labelled("green"), false},
		{"an instance leaves unlabelled objects to the unlabelled instance", "blue", unlabelled, false},
	} {
		t.Run(tc.why, func(t *testing.T) {
			if got := instance.Selector(tc.id).Matches(labels.Set(tc.obj.Labels)); got != tc.want {
				t.Errorf("Selector(%q) matches %v = %v, want %v", tc.id, tc.obj.Labels, got, tc.want)
			}
			if got := instance.Handles(tc.id, tc.obj); got != tc.want {
				t.Errorf("Handles(%q, %v) = %v, want %v", tc.id, tc.obj.Labels, got, tc.want)
			}
			if got := instance.Predicate(tc.id).Create(event.CreateEvent{Object: tc.obj}); got != tc.want {
				t.Errorf("Predicate(%q) lets %v through = %v, want %v", tc.id, tc.obj.Labels, got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for id, ok := range map[string]bool{"": true, "blue": true, "team-a.prod_1": true, "no spaces": false, "-leading": false} {
		if err := instance.Validate(id); (err == nil) != ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
