// Package instance decides which objects one manager handles, so that
// Sluice can share a cluster with another controller of Argo Rollouts' API
// (or a second Sluice) without either touching the other's objects, and so
// that a large fleet can be split between several managers, each running
// one shard.
//
// Two rules make up a manager's Scope, and an object must meet both:
//
//   - the instance, Argo's rule: a manager started with --instance-id=X
//     handles only objects labelled
//     argo-rollouts.argoproj.io/controller-instance-id=X, and one started
//     without handles only objects with no such label;
//   - the shard, Flux's rule: a manager started with
//     --watch-label-selector=S handles only objects whose labels match S,
//     a selector on sharding.fluxcd.io/key (sharding.fluxcd.io/key=a for
//     shard a, !sharding.fluxcd.io/key for the objects in no shard), and
//     one started without handles every shard.
//
// Every controller applies the scope in two places: in the manager's cache
// (controllers.CacheSelectors), so objects out of scope are not even held
// in memory, and in its watch predicate, so a controller that reads a kind
// through a cache another controller filled never reconciles an object out
// of scope. What a Rollout, an Experiment, an AnalysisRun or an Application
// creates takes its parent's labels (package inherit), so a manager sees
// the whole tree of each object it handles.
package instance

import (
	"fmt"
	"hash/fnv"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/sluicehq/sluice/internal/instance/inherit"
)

// Label is the label that assigns an object to a controller instance.
const Label = inherit.InstanceLabel

// ShardLabel is the label that assigns an object to a shard.
const ShardLabel = inherit.ShardLabel

// Scope is what one manager handles: an instance id and a shard selector.
// The zero Scope is a manager started with neither flag: objects with no
// instance label, in any shard.
type Scope struct {
	// ID is the instance id (--instance-id); empty: no instance label.
	ID string
	// shard is the parsed --watch-label-selector; empty: every shard.
	shard labels.Requirements
}

// NewScope checks an instance id and a shard selector and makes their
// scope. The id must be a label value, since objects carry it as one. The
// selector is a label selector (Flux's --watch-label-selector) that may
// name only sharding.fluxcd.io/key: that is the one label the objects a
// Rollout or an Application creates inherit, so a selector on any other
// label would hide a shard's ReplicaSets, runs and Jobs from its own
// manager.
func NewScope(id, shardSelector string) (Scope, error) {
	if err := Validate(id); err != nil {
		return Scope{}, fmt.Errorf("--instance-id %q: %w", id, err)
	}
	selector, err := labels.Parse(shardSelector)
	if err != nil {
		return Scope{}, fmt.Errorf("--watch-label-selector %q: %w", shardSelector, err)
	}
	reqs, _ := selector.Requirements()
	for _, req := range reqs {
		if req.Key() != ShardLabel {
			return Scope{}, fmt.Errorf("--watch-label-selector %q: it may select only on %s, the label the objects a Rollout or an Application makes inherit; not on %s",
				shardSelector, ShardLabel, req.Key())
		}
	}
	return Scope{ID: id, shard: reqs}, nil
}

// Sharded reports whether the scope is one shard rather than all of them.
func (s Scope) Sharded() bool { return len(s.shard) > 0 }

// Selector selects the objects the scope handles: those of its instance
// (labelled with the id, or, for an empty id, without the label) and its
// shard.
func (s Scope) Selector() labels.Selector {
	op, values := selection.DoesNotExist, []string(nil)
	if s.ID != "" {
		op, values = selection.Equals, []string{s.ID}
	}
	req, err := labels.NewRequirement(Label, op, values)
	if err != nil {
		// The key is a constant; only an id that is not a valid label
		// value fails, and NewScope refuses such an id.
		panic(err)
	}
	return labels.NewSelector().Add(*req).Add(s.shard...)
}

// InShard narrows a selector to the scope's shard, and leaves out the
// instance: for the children a controller reads through the cache
// (ReplicaSets, Jobs), which carry their parent's shard label but, as in
// Argo Rollouts, not its instance label.
func (s Scope) InShard(selector labels.Selector) labels.Selector {
	return selector.Add(s.shard...)
}

// Handles reports whether the scope handles an object: Selector's rule,
// for one object.
func (s Scope) Handles(obj client.Object) bool {
	return s.Selector().Matches(labels.Set(obj.GetLabels()))
}

// Predicate lets only the scope's objects through a watch.
func (s Scope) Predicate() predicate.Predicate {
	return predicate.NewPredicateFuncs(s.Handles)
}

// ShardName is a short name for the scope's shard, fit for a Kubernetes
// object's name: empty for every shard and for the objects in no shard
// (!sharding.fluxcd.io/key, the main shard), the key for one key
// (sharding.fluxcd.io/key=a), and otherwise a hash of the selector, so
// that two managers of different shards never share a name.
func (s Scope) ShardName() string {
	if len(s.shard) == 0 {
		return ""
	}
	if len(s.shard) == 1 {
		req := s.shard[0]
		switch req.Operator() {
		case selection.DoesNotExist:
			return ""
		case selection.Equals, selection.DoubleEquals, selection.In:
			if values := req.ValuesUnsorted(); len(values) == 1 && len(validation.IsDNS1123Label(values[0])) == 0 {
				return values[0]
			}
		}
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(labels.NewSelector().Add(s.shard...).String()))
	return fmt.Sprintf("%08x", h.Sum32())
}

// Validate says why an id cannot be an instance id: it must be a valid
// label value, since objects carry it as one.
func Validate(id string) error {
	_, err := labels.NewRequirement(Label, selection.Equals, []string{id})
	return err
}
