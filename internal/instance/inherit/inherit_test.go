package inherit_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/instance/inherit"
)

func TestInheritance(t *testing.T) {
	sharded := map[string]string{inherit.ShardLabel: "a", inherit.InstanceLabel: "blue", "team": "shop"}
	plain := map[string]string{"team": "shop"}
	for _, tc := range []struct {
		why    string
		rule   func(parent, child map[string]string) map[string]string
		parent map[string]string
		child  map[string]string
		want   map[string]string
	}{
		{"a child takes its parent's shard", inherit.Shard, sharded, map[string]string{"app": "web"},
			map[string]string{"app": "web", inherit.ShardLabel: "a"}},
		{"a child with no labels gets a map", inherit.Shard, sharded, nil,
			map[string]string{inherit.ShardLabel: "a"}},
		{"a parent's shard wins over the child's own", inherit.Shard, sharded, map[string]string{inherit.ShardLabel: "b"},
			map[string]string{inherit.ShardLabel: "a"}},
		{"a child of a parent in no shard is in no shard", inherit.Shard, plain, map[string]string{inherit.ShardLabel: "b", "app": "web"},
			map[string]string{"app": "web"}},
		{"a child with no labels of a parent in no shard stays without", inherit.Shard, plain, nil, nil},
		{"the instance label follows the same rule", inherit.Instance, sharded, map[string]string{"app": "web"},
			map[string]string{"app": "web", inherit.InstanceLabel: "blue"}},
		{"an applied object takes its Application's shard", inherit.ShardAdded, sharded, map[string]string{inherit.ShardLabel: "b"},
			map[string]string{inherit.ShardLabel: "a"}},
		{"an Application in no shard adds nothing and takes nothing away", inherit.ShardAdded, plain,
			map[string]string{inherit.ShardLabel: "b"}, map[string]string{inherit.ShardLabel: "b"}},
		{"an Application in no shard leaves an unlabelled object unlabelled", inherit.ShardAdded, plain, nil, nil},
	} {
		t.Run(tc.why, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.rule(tc.parent, tc.child)); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}
