package traffic

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
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
	// ref is the backendRef as read, for a new backend to copy its
	// group, kind, namespace and port from.
	ref gatewayv1.BackendObjectReference
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

// Destination is a Service besides the canary and the stable one that the
// weighted rules send a share of the traffic to: an experiment template's
// Service.
type Destination struct {
	Service string
	Weight  int32
	// Ports maps a port of the canary's backendRef to the port this
	// Service serves the same container port on; a port it does not map
	// is copied as is.
	Ports map[int32]int32
}

// Weights is what the weighted rules of a route should carry: Canary for
// the canary Service, each Additional destination its weight, the stable
// Service the rest of the maximum weight. The Retired Services (those of
// experiments that no longer take traffic) are taken out of the rules.
type Weights struct {
	Canary     int32
	Additional []Destination
	Retired    []string
}

// stable is the stable Service's weight: what the canary and the
// additional destinations leave of max.
func (w Weights) stable(max int32) int32 {
	stable := max - w.Canary
	for _, d := range w.Additional {
		stable -= d.Weight
	}
	return stable
}

// BackendWeight returns the weight a Service other than the canary and the
// stable one has in the route's weighted rules, and whether it is in them.
// It is an error for some weighted rules to send to it and others not, or
// with different weights.
func (r Route) BackendWeight(canary, stable, service string) (int32, bool, error) {
	var weight int32
	var in, out bool
	for _, i := range r.weightedRules(canary, stable) {
		found := false
		for _, b := range r.Rules[i].Backends {
			if !b.Service || b.Name != service {
				continue
			}
			if found || (in && b.weight() != weight) {
				return 0, false, fmt.Errorf("%s: its rules give %q different weights", r.Key, service)
			}
			found, weight = true, b.weight()
		}
		in, out = in || found, out || !found
	}
	if in && out {
		return 0, false, fmt.Errorf("%s: some of its rules send to %q and some do not", r.Key, service)
	}
	return weight, in, nil
}

// WeightPatch returns the JSON patch that brings every weighted rule of the
// route to w (see Weights), and puts the in-progress label on the route or
// takes it off. A destination a rule lacks is added at its end, as a copy
// of the rule's canary backendRef with the destination's name, port and
// weight; a retired Service's backendRef is removed. Each weight it writes
// and each backend it removes is guarded by a test of the backend's name,
// so a route whose rules changed since it was read is refused rather than
// mis-weighted. Only what differs is written: the patch is empty when the
// route is as asked.
//
// Worked example, maximum 100: canary 0, experiment Services baseline 10
// and canary 10 give the stable Service 80.
func WeightPatch(r Route, s *Settings, w Weights, inProgress bool) []Op {
	want := map[string]int32{s.CanaryService: w.Canary, s.StableService: w.stable(s.MaxWeight)}
	for _, d := range w.Additional {
		want[d.Service] = d.Weight
	}
	var sets, removes, adds []Op
	for _, i := range r.weightedRules(s.CanaryService, s.StableService) {
		backends := fmt.Sprintf("/spec/rules/%d/backendRefs", i)
		present := map[string]bool{}
		var canary *gatewayv1.BackendObjectReference
		var ruleRemoves []Op
		for j, b := range r.Rules[i].Backends {
			if !b.Service {
				continue
			}
			backend := fmt.Sprintf("%s/%d", backends, j)
			if b.Name == s.CanaryService {
				canary = &b.ref
			}
			if wt, ours := want[b.Name]; ours {
				present[b.Name] = true
				if b.Weight == nil || *b.Weight != wt {
					sets = append(sets,
						Op{Op: "test", Path: backend + "/name", Value: b.Name},
						Op{Op: "add", Path: backend + "/weight", Value: wt})
				}
			} else if slices.Contains(w.Retired, b.Name) {
				// Removed from the last to the first, so the indexes of
				// those still to remove hold.
				ruleRemoves = append([]Op{
					{Op: "test", Path: backend + "/name", Value: b.Name},
					{Op: "remove", Path: backend},
				}, ruleRemoves...)
			}
		}
		removes = append(removes, ruleRemoves...)
		for _, d := range w.Additional {
			if present[d.Service] || canary == nil {
				continue
			}
			ref := *canary.DeepCopy()
			ref.Name = gatewayv1.ObjectName(d.Service)
			if ref.Port != nil {
				if port, ok := d.Ports[*ref.Port]; ok {
					ref.Port = new(port)
				}
			}
			adds = append(adds, Op{Op: "add", Path: backends + "/-",
				Value: gatewayv1.BackendRef{BackendObjectReference: ref, Weight: new(d.Weight)}})
		}
	}
	// The weights first, at the indexes read; then the removals, rule by
	// rule from the back; then the additions, at the end of their rules.
	// Removals within a rule only move the backends after them, and
	// additions go after all of them.
	ops := slices.Concat(sets, removes, adds)
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
