package traffic

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Route is what the router reads of an HTTPRoute or a GRPCRoute: both have
// the same shape where weights live.
type Route struct {
	Key         RouteKey
	Labels      map[string]string
	Annotations map[string]string
	Rules       []Rule
	// raw holds each rule as the API server returned it, to build header
	// rules from (FromHTTPRoute and FromGRPCRoute fill it).
	raw []json.RawMessage
}

// Rule is one of a route's rules.
type Rule struct {
	Name     string
	Backends []Backend
}

// Backend is one backendRef of a rule. Weight nil means Gateway API's
// default, 1.
type Backend struct {
	Name string
	// Service is false for a backendRef of another kind than a core
	// Service: the router never touches those.
	Service bool
	Weight  *int32
}

func (b Backend) weight() int32 {
	if b.Weight == nil {
		return 1
	}
	return *b.Weight
}

// weightedRules lists the rules whose weights the router sets: those that
// send to both the canary and the stable Service. A rule that sends to only
// one of them, such as a header rule to the canary or a rule someone else
// wrote, is left alone.
func (r Route) weightedRules(canary, stable string) []int {
	var out []int
	for i, rule := range r.Rules {
		var hasCanary, hasStable bool
		for _, b := range rule.Backends {
			hasCanary = hasCanary || (b.Service && b.Name == canary)
			hasStable = hasStable || (b.Service && b.Name == stable)
		}
		if hasCanary && hasStable {
			out = append(out, i)
		}
	}
	return out
}

// rulesTo lists the rules with a backend to the Service.
func (r Route) rulesTo(service string) []int {
	var out []int
	for i, rule := range r.Rules {
		for _, b := range rule.Backends {
			if b.Service && b.Name == service && !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out
}

// SendsTo reports whether some rule of the route sends to the Service.
func (r Route) SendsTo(service string) bool { return len(r.rulesTo(service)) > 0 }

// Serves reports whether some rule of the route sends to both Services.
func (r Route) Serves(canary, stable string) bool {
	return len(r.weightedRules(canary, stable)) > 0
}

// Weights returns the canary and stable weights the route carries. Every
// weighted rule must carry the same; a route with no weighted rule, or
// whose rules disagree, is an error naming it.
func (r Route) Weights(canary, stable string) (canaryWeight, stableWeight int32, err error) {
	rules := r.weightedRules(canary, stable)
	if len(rules) == 0 {
		return 0, 0, fmt.Errorf("%s has no rule with both the canary Service %q and the stable Service %q as backends", r.Key, canary, stable)
	}
	first := true
	for _, i := range rules {
		for _, b := range r.Rules[i].Backends {
			if !b.Service || (b.Name != canary && b.Name != stable) {
				continue
			}
			w := &stableWeight
			if b.Name == canary {
				w = &canaryWeight
			}
			if !first && *w != b.weight() {
				return 0, 0, fmt.Errorf("%s: its rules give %q different weights", r.Key, b.Name)
			}
			*w = b.weight()
		}
		first = false
	}
	return canaryWeight, stableWeight, nil
}

// Op is one JSON patch operation (RFC 6902).
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// WeightPatch returns the JSON patch that gives the canary canaryWeight and
// the stable Service the rest of s.MaxWeight, in every weighted rule, and
// puts the in-progress label on the route or takes it off. Each weight it
// writes is guarded by a test of the backend's name, so a route whose rules
// changed since it was read is refused rather than mis-weighted. Only what
// differs is written: the patch is empty when the route is as asked.
func WeightPatch(r Route, s *Settings, canaryWeight int32, inProgress bool) []Op {
	var ops []Op
	want := map[string]int32{s.CanaryService: canaryWeight, s.StableService: s.MaxWeight - canaryWeight}
	for _, i := range r.weightedRules(s.CanaryService, s.StableService) {
		for j, b := range r.Rules[i].Backends {
			w, ours := want[b.Name]
			if !b.Service || !ours || (b.Weight != nil && *b.Weight == w) {
				continue
			}
			backend := fmt.Sprintf("/spec/rules/%d/backendRefs/%d", i, j)
			ops = append(ops,
				Op{Op: "test", Path: backend + "/name", Value: b.Name},
				Op{Op: "add", Path: backend + "/weight", Value: w})
		}
	}
	return append(ops, labelOps(r, s, inProgress)...)
}

// labelOps puts the in-progress label on a route or takes it off, when it
// is not already so; nothing when the label is disabled.
func labelOps(r Route, s *Settings, inProgress bool) []Op {
	if s.LabelKey == "" {
		return nil
	}
	ops := metadataOps("labels", r.Labels, s.LabelKey, s.LabelValue, inProgress)
	if s.LabelKey != DefaultInProgressLabelKey {
		// Sluice's Applications know the default label; a label of the
		// Rollout's own choosing they learn from this annotation.
		ops = append(ops, metadataOps("annotations", r.Annotations, InProgressAnnotation, "true", inProgress)...)
	}
	return ops
}

// metadataOps sets key to value in the route's labels or annotations
// (field), or removes it, when it is not already so.
func metadataOps(field string, present map[string]string, key, value string, set bool) []Op {
	got, has := present[key]
	switch {
	case set && len(present) == 0:
		return []Op{{Op: "add", Path: "/metadata/" + field, Value: map[string]string{key: value}}}
	case set && got != value:
		return []Op{{Op: "add", Path: "/metadata/" + field + "/" + escape(key), Value: value}}
	case !set && has:
		return []Op{{Op: "remove", Path: "/metadata/" + field + "/" + escape(key)}}
	}
	return nil
}

// escape makes a map key a JSON pointer segment.
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
