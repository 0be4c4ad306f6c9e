package gitops

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fluxcd/pkg/ssa/jsondiff"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// IgnoreRules are an Application's spec.ignoreDifferences, compiled: for
// each object, the JSON pointers of the fields that never count as drift.
// The zero value and nil ignore nothing.
type IgnoreRules struct {
	entries []ignoreEntry
}

// ignoreEntry is one spec.ignoreDifferences entry.
type ignoreEntry struct {
	group, kind     string // glob patterns
	name, namespace string // exact; empty matches any
	pointers        []string
	expressions     []*jqPath
	managers        []string
}

// CompileIgnoreDifferences checks and compiles spec.ignoreDifferences. An
// error names the entry and field at fault: a glob or jq expression that
// does not compile, or a JSON pointer that is not one.
func CompileIgnoreDifferences(spec []gitopsv1alpha1.ResourceIgnoreDifferences) (*IgnoreRules, error) {
	rules := &IgnoreRules{}
	for i, d := range spec {
		field := fmt.Sprintf("spec.ignoreDifferences[%d]", i)
		if d.Kind == "" {
			return nil, fmt.Errorf("%s.kind: required", field)
		}
		for name, pattern := range map[string]string{"group": d.Group, "kind": d.Kind} {
			if _, err := path.Match(pattern, ""); err != nil {
				return nil, fmt.Errorf("%s.%s: %q is not a glob: %w", field, name, pattern, err)
			}
		}
		e := ignoreEntry{group: d.Group, kind: d.Kind, name: d.Name, namespace: d.Namespace, managers: d.ManagedFieldsManagers}
		for j, p := range d.JSONPointers {
			if err := checkPointer(p); err != nil {
				return nil, fmt.Errorf("%s.jsonPointers[%d]: %w", field, j, err)
			}
			e.pointers = append(e.pointers, p)
		}
		for j, x := range d.JQPathExpressions {
			compiled, err := compileJQPath(x)
			if err != nil {
				return nil, fmt.Errorf("%s.jqPathExpressions[%d]: %w", field, j, err)
			}
			e.expressions = append(e.expressions, compiled)
		}
		rules.entries = append(rules.entries, e)
	}
	return rules, nil
}

// Empty reports whether the rules ignore nothing.
func (r *IgnoreRules) Empty() bool { return r == nil || len(r.entries) == 0 }

// matching returns the entries that apply to an object.
func (r *IgnoreRules) matching(o *unstructured.Unstructured) []*ignoreEntry {
	if r == nil {
		return nil
	}
	gvk := o.GroupVersionKind()
	var out []*ignoreEntry
	for i := range r.entries {
		e := &r.entries[i]
		if globMatch(e.group, gvk.Group) && globMatch(e.kind, gvk.Kind) &&
			(e.name == "" || e.name == o.GetName()) && (e.namespace == "" || e.namespace == o.GetNamespace()) {
			out = append(out, e)
		}
	}
	return out
}

// NeedsLive reports whether the ignored fields of an object depend on its
// live state (a jq expression or a field manager names them), so the
// caller reads it first. JSON pointers alone do not.
func (r *IgnoreRules) NeedsLive(o *unstructured.Unstructured) bool {
	for _, e := range r.matching(o) {
		if len(e.expressions) > 0 || len(e.managers) > 0 {
			return true
		}
	}
	return false
}

// Pointers returns the JSON pointers of an object's ignored fields, given
// Git's object and its live state (nil when it does not exist yet): the
// entries' jsonPointers, the paths their jq expressions select in either
// object, and the fields their managers own in the live object. Positions
// in lists are the live object's, which server-side apply keeps. The
// pointers are ordered so that removing them one after another removes
// what each named: deeper ones and later list items first.
//
// An expression that selects nothing in an object, or fails on it (a
// [] over a field the object lacks), ignores nothing there, as in Argo CD;
// one that exceeds its budget is an error, rather than a field reverted
// that the Application asked to leave alone.
func (r *IgnoreRules) Pointers(desired, live *unstructured.Unstructured) ([]string, error) {
	entries := r.matching(desired)
	if len(entries) == 0 {
		return nil, nil
	}
	set := map[string]bool{}
	for i, e := range entries {
		for _, p := range e.pointers {
			set[p] = true
		}
		for _, x := range e.expressions {
			for _, o := range []*unstructured.Unstructured{live, desired} {
				if o == nil {
					continue
				}
				paths, err := x.paths(o.Object)
				if err != nil {
					return nil, fmt.Errorf("ignoreDifferences entry %d (%s): %w", i, x.source, err)
				}
				for _, p := range paths {
					set[p] = true
				}
			}
		}
		if live != nil && len(e.managers) > 0 {
			for _, p := range managedPointers(live, e.managers) {
				set[p] = true
			}
		}
	}
	return orderPointers(set), nil
}

// Rule is the ssa ignore rule for one object: its pointers, selecting that
// object alone.
func (r *IgnoreRules) Rule(desired, live *unstructured.Unstructured) (*jsondiff.IgnoreRule, error) {
	pointers, err := r.Pointers(desired, live)
	if err != nil || len(pointers) == 0 {
		return nil, err
	}
	gvk := desired.GroupVersionKind()
	return &jsondiff.IgnoreRule{Paths: pointers, Selector: &jsondiff.Selector{
		Group: exactly(gvk.Group), Version: exactly(gvk.Version), Kind: exactly(gvk.Kind),
		Namespace: exactly(desired.GetNamespace()), Name: exactly(desired.GetName()),
	}}, nil
}

// exactly is a selector regular expression that matches s alone; ssa
// anchors it, and reads an empty one as any, so an empty s is "()".
func exactly(s string) string {
	if s == "" {
		return "()"
	}
	return regexp.QuoteMeta(s)
}

// globMatch matches Argo CD's group and kind patterns: * and ? wildcards;
// a pattern that does not compile was refused when compiled.
func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// checkPointer refuses what is not an RFC 6901 pointer to a field: it
// starts with / and escapes ~ as ~0 or ~1.
func checkPointer(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q is not a JSON pointer: it starts with /", p)
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || (p[i+1] != '0' && p[i+1] != '1')) {
			return fmt.Errorf("%q is not a JSON pointer: ~ is written ~0, and / within a name ~1", p)
		}
	}
	return nil
}

// pointerOf turns a path of names and list positions into a JSON pointer.
func pointerOf(segments []any) (string, bool) {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		switch s := s.(type) {
		case string:
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
		case int:
			if s < 0 {
				return "", false
			}
			b.WriteString(strconv.Itoa(s))
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

// orderPointers sorts pointers for removal one after another: a pointer
// under another is dropped (removing the outer one removes it), and of
// two items of one list the later one goes first, so removing it does not
// move the other.
func orderPointers(set map[string]bool) []string {
	all := make([]string, 0, len(set))
	for p := range set {
		all = append(all, p)
	}
	slices.SortFunc(all, comparePointers)
	var out []string
	for _, p := range all {
		if len(out) > 0 && under(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	slices.Reverse(out)
	return out
}

// under reports whether pointer p is inside pointer parent.
func under(p, parent string) bool {
	return strings.HasPrefix(p, parent+"/")
}

// comparePointers orders pointers segment by segment, list positions by
// number, so a pointer's descendants follow it directly.
func comparePointers(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		an, aerr := strconv.Atoi(as[i])
		bn, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			return an - bn
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}

// managedPointers returns the pointers, in the live object, of the fields
// that the named managers own, as its metadata.managedFields records them.
func managedPointers(live *unstructured.Unstructured, managers []string) []string {
	var out []string
	for _, entry := range live.GetManagedFields() {
		if !slices.Contains(managers, entry.Manager) || entry.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(entry.FieldsV1.GetRawReader()); err != nil {
			continue // not a field set this version of Kubernetes writes
		}
		set.Iterate(func(p fieldpath.Path) {
			if segments, ok := resolve(live.Object, p); ok {
				if pointer, ok := pointerOf(segments); ok {
					out = append(out, pointer)
				}
			}
		})
	}
	return out
}

// resolve finds a field path in an object: names as they are, list items
// (by key, by value or by position) as their positions. A path the object
// does not hold is not found.
func resolve(object map[string]any, p fieldpath.Path) ([]any, bool) {
	var current any = object
	segments := make([]any, 0, len(p))
	for _, element := range p {
		switch {
		case element.FieldName != nil:
			m, ok := current.(map[string]any)
			if !ok {
				return nil, false
			}
			if current, ok = m[*element.FieldName]; !ok {
				return nil, false
			}
			segments = append(segments, *element.FieldName)
		default:
			items, ok := current.([]any)
			if !ok {
				return nil, false
			}
			i := -1
			if element.Index != nil {
				if *element.Index < len(items) {
					i = *element.Index
				}
			} else {
				i = slices.IndexFunc(items, func(item any) bool { return itemMatches(item, element) })
			}
			if i < 0 {
				return nil, false
			}
			current = items[i]
			segments = append(segments, i)
		}
	}
	return segments, len(segments) > 0
}

// itemMatches reports whether a list item is the one a path element names.
func itemMatches(item any, element fieldpath.PathElement) bool {
	switch {
	case element.Key != nil:
		m, ok := item.(map[string]any)
		if !ok {
			return false
		}
		for _, field := range *element.Key {
			v, ok := m[field.Name]
			if !ok || !value.Equals(value.NewValueInterface(v), field.Value) {
				return false
			}
		}
		return true
	case element.Value != nil:
		return value.Equals(value.NewValueInterface(item), *element.Value)
	}
	return false
}
