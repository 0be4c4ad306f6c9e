package framework

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// hashLabel is the label that names a Rollout's revision on its
// ReplicaSets and pins a Service to one.
const hashLabel = rolloutsv1alpha1.DefaultRolloutUniqueLabelKey

// DuplicateRevisions lists every revision that had more than one ReplicaSet
// over a history: two ReplicaSets (two UIDs, side by side or one after the
// other) with the same rollouts-pod-template-hash label, or with the same
// pod template once that label is set aside. A revision's ReplicaSet is
// made once; a second one means two controllers acted at once, or one
// acted on a view that missed the first.
func DuplicateRevisions(records []Record) []string {
	byHash := map[string]map[types.UID]string{}
	byTemplate := map[string]map[types.UID]string{}
	for _, r := range records {
		rs, ok := r.Object.(*appsv1.ReplicaSet)
		if !ok || r.Deleted {
			continue
		}
		hash, ok := rs.Labels[hashLabel]
		if !ok {
			continue // not a Rollout's
		}
		remember(byHash, hash, rs)
		remember(byTemplate, templateOf(rs), rs)
	}
	var out []string
	for hash, names := range byHash {
		if len(names) > 1 {
			out = append(out, fmt.Sprintf("revision %s has ReplicaSets %v", hash, sortedNames(names)))
		}
	}
	for _, names := range byTemplate {
		if len(names) > 1 {
			out = append(out, fmt.Sprintf("ReplicaSets %v have the same pod template", sortedNames(names)))
		}
	}
	sort.Strings(out)
	return out
}

func remember(seen map[string]map[types.UID]string, key string, rs *appsv1.ReplicaSet) {
	if seen[key] == nil {
		seen[key] = map[types.UID]string{}
	}
	seen[key][rs.UID] = rs.Name
}

// templateOf is a ReplicaSet's pod template without the revision label, as
// a comparable string.
func templateOf(rs *appsv1.ReplicaSet) string {
	template := rs.Spec.Template.DeepCopy()
	delete(template.Labels, hashLabel)
	data, err := json.Marshal(template)
	if err != nil {
		panic(err) // a pod template always marshals
	}
	return string(data)
}

func sortedNames(names map[types.UID]string) []string {
	var out []string
	for uid, name := range names {
		out = append(out, fmt.Sprintf("%s (%s)", name, uid))
	}
	slices.Sort(out)
	return out
}

// ServiceViolations lists where, in a history, a Service a Rollout pinned
// selected a revision whose ReplicaSet had fewer than minAvailable available
// pods (or none at all), or stopped pinning a revision. It holds from the
// first version that pins one: before, the Service selects every pod of
// the app, as its author wrote it. Consecutive records with the same
// violation are reported once.
func ServiceViolations(records []Record, service string, minAvailable int32) []string {
	var (
		out    []string
		pinned bool
		last   string
	)
	Replay(records, func(s State, r Record) {
		problem := ""
		svc := s.Services[service]
		switch hash, pins := "", false; {
		case svc == nil && pinned:
			problem = "is gone"
		case svc == nil:
		default:
			hash, pins = svc.Spec.Selector[hashLabel]
			switch {
			case pins:
				pinned = true
				rs := replicaSetOf(s, hash)
				switch {
				case rs == nil:
					problem = fmt.Sprintf("selects revision %s, which has no ReplicaSet", hash)
				case rs.Status.AvailableReplicas < minAvailable:
					problem = fmt.Sprintf("selects %s with %d available pods (spec.replicas %d), fewer than %d",
						rs.Name, rs.Status.AvailableReplicas, replicasOf(rs), minAvailable)
				}
			case pinned:
				problem = "no longer pins a revision"
			}
		}
		if problem != "" && problem != last {
			out = append(out, fmt.Sprintf("at version %d: Service %s %s", r.Version, service, problem))
		}
		last = problem
	})
	return out
}

// Selection is a revision a Service pinned, from a version of the history on.
type Selection struct {
	Hash    string
	Version uint64
	// Received is when the recording saw the Service switch.
	Received time.Time
}

// Selections lists, in order, the revisions a Service pinned over a
// history, each from the version that switched it.
func Selections(records []Record, service string) []Selection {
	var out []Selection
	for _, r := range records {
		svc, ok := r.Object.(*corev1.Service)
		if !ok || svc.Name != service || r.Deleted {
			continue
		}
		hash, pins := svc.Spec.Selector[hashLabel]
		if pins && (len(out) == 0 || out[len(out)-1].Hash != hash) {
			out = append(out, Selection{Hash: hash, Version: r.Version, Received: r.Received})
		}
	}
	return out
}

func replicaSetOf(s State, hash string) *appsv1.ReplicaSet {
	for _, rs := range s.ReplicaSets {
		if rs.Labels[hashLabel] == hash {
			return rs
		}
	}
	return nil
}

func replicasOf(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}
