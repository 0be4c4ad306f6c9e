package instance_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/sluicehq/sluice/internal/instance"
)

func TestScopeSelectorHandlesAndPredicateAgree(t *testing.T) {
	object := func(kv ...string) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{}
		cm.Labels = map[string]string{"app": "web"}
		for i := 0; i < len(kv); i += 2 {
			cm.Labels[kv[i]] = kv[i+1]
		}
		return cm
	}
	const id, shard = instance.Label, instance.ShardLabel

	for _, tc := range []struct {
		why   string
		id    string
		shard string
		obj   *corev1.ConfigMap
		want  bool
	}{
		{"no instance id handles objects without the label", "", "", object(), true},
		{"no instance id leaves every labelled object alone", "", "", object(id, "blue"), false},
		{"an empty label value is still a label: not the unlabelled instance's", "", "", object(id, ""), false},
		{"an instance handles its own label value", "blue", "", object(id, "blue"), true},
		{"an instance leaves another's alone", "blue", "", object(id, "green"), false},
		{"an instance leaves unlabelled objects to the unlabelled instance", "blue", "", object(), false},

		{"no shard selector handles every shard", "", "", object(shard, "a"), true},
		{"a shard handles its own objects", "", shard + "=a", object(shard, "a"), true},
		{"a shard leaves another shard's objects alone", "", shard + "=a", object(shard, "b"), false},
		{"a shard leaves objects in no shard to the main shard", "", shard + "=a", object(), false},
		{"the main shard handles objects in no shard", "", "!" + shard, object(), true},
		{"the main shard leaves every shard's objects alone", "", "!" + shard, object(shard, "a"), false},
		{"a set of keys is one shard", "", shard + " in (a,b)", object(shard, "b"), true},

		{"instance and shard must both match", "blue", shard + "=a", object(id, "blue", shard, "a"), true},
		{"the right shard of another instance is not handled", "blue", shard + "=a", object(id, "green", shard, "a"), false},
		{"the right instance in another shard is not handled", "blue", shard + "=a", object(id, "blue", shard, "b"), false},
		{"the main shard of no instance leaves an instance's objects alone", "", "!" + shard, object(id, "blue"), false},
	} {
		t.Run(tc.why, func(t *testing.T) {
			scope, err := instance.NewScope(tc.id, tc.shard)
			if err != nil {
				t.Fatalf("NewScope(%q, %q): %v", tc.id, tc.shard, err)
			}
			if got := scope.Selector().Matches(labels.Set(tc.obj.Labels)); got != tc.want {
				t.Errorf("Selector() %s matches %v = %v, want %v", scope.Selector(), tc.obj.Labels, got, tc.want)
			}
			if got := scope.Handles(tc.obj); got != tc.want {
				t.Errorf("Handles(%v) = %v, want %v", tc.obj.Labels, got, tc.want)
			}
			if got := scope.Predicate().Create(event.CreateEvent{Object: tc.obj}); got != tc.want {
				t.Errorf("Predicate() lets %v through = %v, want %v", tc.obj.Labels, got, tc.want)
			}
		})
	}
}

func TestInShardNarrowsAChildSelectorToTheShardOnly(t *testing.T) {
	hashed := labels.SelectorFromSet(labels.Set{"rollouts-pod-template-hash": "abc"})
	for _, tc := range []struct {
		why    string
		shard  string
		labels labels.Set
		want   bool
	}{
		{"a child of the shard, without the instance label, is the shard's", instance.ShardLabel + "=a",
			labels.Set{"rollouts-pod-template-hash": "abc", instance.ShardLabel: "a"}, true},
		{"a child of another shard is not", instance.ShardLabel + "=a",
			labels.Set{"rollouts-pod-template-hash": "abc", instance.ShardLabel: "b"}, false},
		{"the child selector still applies", instance.ShardLabel + "=a",
			labels.Set{instance.ShardLabel: "a"}, false},
		{"with no shard the child selector alone decides", "",
			labels.Set{"rollouts-pod-template-hash": "abc", instance.ShardLabel: "b"}, true},
	} {
		t.Run(tc.why, func(t *testing.T) {
			scope, err := instance.NewScope("blue", tc.shard)
			if err != nil {
				t.Fatal(err)
			}
			if got := scope.InShard(hashed).Matches(tc.labels); got != tc.want {
				t.Errorf("InShard(%s) matches %v = %v, want %v", hashed, tc.labels, got, tc.want)
			}
		})
	}
	if got := hashed.String(); got != "rollouts-pod-template-hash=abc" {
		t.Errorf("InShard changed the selector it narrowed: %s", got)
	}
}

func TestNewScopeRefuses(t *testing.T) {
	for _, tc := range []struct {
		why, id, shard, says string
	}{
		{"an id that is no label value", "no spaces", "", "--instance-id"},
		{"an id with a leading dash", "-leading", "", "--instance-id"},
		{"a selector that does not parse", "", "sharding.fluxcd.io/key=(", "--watch-label-selector"},
		{"a selector on another label: children would not carry it", "", "team=a", "only on sharding.fluxcd.io/key"},
		{"a selector on the shard and another label", "", instance.ShardLabel + "=a,team=a", "not on team"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			_, err := instance.NewScope(tc.id, tc.shard)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("NewScope(%q, %q) = %v, want an error saying %q", tc.id, tc.shard, err, tc.says)
			}
		})
	}
	for _, ok := range []string{"", instance.ShardLabel + "=a", "!" + instance.ShardLabel, instance.ShardLabel + " in (a, b)", instance.ShardLabel + "!=a"} {
		if _, err := instance.NewScope("team-a.prod_1", ok); err != nil {
			t.Errorf("NewScope refused %q: %v", ok, err)
		}
	}
}

func TestShardName(t *testing.T) {
	hashOf := func(selector string) string {
		scope, err := instance.NewScope("", selector)
		if err != nil {
			t.Fatal(err)
		}
		return scope.ShardName()
	}
	for selector, want := range map[string]string{
		"":                                  "",
		"!" + instance.ShardLabel:           "",
		instance.ShardLabel + "=a":          "a",
		instance.ShardLabel + "==shard-1":   "shard-1",
		instance.ShardLabel + " in (eu-1)":  "eu-1",
		instance.ShardLabel + "=Upper_Case": hashOf(instance.ShardLabel + "=Upper_Case"),
	} {
		if got := hashOf(selector); got != want {
			t.Errorf("ShardName of %q = %q, want %q", selector, got, want)
		}
	}
	// Keys that are no DNS label, and selectors of several keys, get a
	// name of their own each.
	names := map[string]string{}
	for _, selector := range []string{
		instance.ShardLabel + "=Upper_Case", instance.ShardLabel + "=upper_case",
		instance.ShardLabel + " in (a,b)", instance.ShardLabel + " in (a,c)", instance.ShardLabel + "!=a",
	} {
		name := hashOf(selector)
		if other, taken := names[name]; taken {
			t.Errorf("%q and %q share the shard name %q", selector, other, name)
		}
		if name == "" || name == "a" {
			t.Errorf("ShardName of %q = %q, want a hash", selector, name)
		}
		names[name] = selector
	}
}

func TestValidate(t *testing.T) {
	for id, ok := range map[string]bool{"": true, "blue": true, "team-a.prod_1": true, "no spaces": false, "-leading": false} {
		if err := instance.Validate(id); (err == nil) != ok {
			t.Errorf("Validate(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
