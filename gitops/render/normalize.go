package render

import (
	"encoding/json"
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// Every object that leaves rendering holds JSON-typed values only: string,
// int64, float64, bool, nil, map[string]any and []any, as an object decoded
// from the API server's JSON does. Producers differ: kustomize's
// Resource.Map holds Go ints, sigs.k8s.io/yaml gives float64 for every
// number. Anything else makes unstructured.DeepCopy panic, and the apply
// engine deep-copies each object in a goroutine of its own, where a panic
// cannot be recovered: one tenant's `replicas: 3` would end the manager
// for everyone. So every producer's output goes through normalize, once,
// at the boundary of this package.

// normalize rewrites obj's content as JSON would decode it (integers as
// int64, other numbers as float64), then checks that nothing else is left.
// origin names where the object came from (a file, a kustomization) for
// the error.
func normalize(origin string, obj *unstructured.Unstructured) error {
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return fmt.Errorf("%s: %s %q cannot be written as JSON: %w", origin, obj.GetKind(), obj.GetName(), err)
	}
	content := map[string]any{}
	// apimachinery's decoder turns a number into int64 when it is whole
	// and fits, float64 otherwise, as the API server's own decoding does.
	if err := utiljson.Unmarshal(data, &content); err != nil {
		return fmt.Errorf("%s: %s %q: %w", origin, obj.GetKind(), obj.GetName(), err)
	}
	obj.Object = content
	return CheckJSONTyped(origin, obj)
}

// CheckJSONTyped returns an error naming the field of obj whose value is not
// JSON-typed, or nil. It is cheap enough to run before every apply, so a
// producer that skipped normalize is an error, not a crashed manager.
func CheckJSONTyped(origin string, obj *unstructured.Unstructured) error {
	if field, value, ok := firstNonJSON(obj.Object, ""); ok {
		return fmt.Errorf("%s: %s %q: field %s holds a %T, which is not a JSON value",
			origin, obj.GetKind(), obj.GetName(), field, value)
	}
	return nil
}

// firstNonJSON walks value depth first and returns the path and value of
// the first entry that is not JSON-typed.
func firstNonJSON(value any, path string) (string, any, bool) {
	switch v := value.(type) {
	case nil, string, bool, int64:
		return "", nil, false
	case float64:
		// JSON has no NaN or infinities; the API server would refuse them.
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fieldPath(path), v, true
		}
		return "", nil, false
	case map[string]any:
		for k, item := range v {
			if field, bad, ok := firstNonJSON(item, path+"."+k); ok {
				return field, bad, true
			}
		}
		return "", nil, false
	case []any:
		for i, item := range v {
			if field, bad, ok := firstNonJSON(item, fmt.Sprintf("%s[%d]", path, i)); ok {
				return field, bad, true
			}
		}
		return "", nil, false
	default:
		return fieldPath(path), v, true
	}
}

func fieldPath(path string) string {
	if path == "" {
		return "(the object itself)"
	}
	return path[1:]
}
