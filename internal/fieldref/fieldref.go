// Package fieldref reads the value an analysis argument's
// valueFrom.fieldRef names from an object, with Argo Rollouts' two syntaxes:
// a path under metadata is read as the Downward API reads it
// (metadata.name, metadata.labels['app']), any other path is a JSONPath
// into the object (spec.template.spec.containers[0].image) that must end at
// one plain value.
package fieldref

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/client-go/util/jsonpath"
	"k8s.io/kubectl/pkg/util/fieldpath"
)

// Value returns the value at path in obj, as a string.
func Value(obj any, path string) (string, error) {
	if strings.HasPrefix(path, "metadata") {
		return fieldpath.ExtractFieldPathAsString(obj, path)
	}
	// Read the object as its JSON, so paths use the API's field names.
	data, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	var document any
	if err := json.Unmarshal(data, &document); err != nil {
		return "", err
	}
	query := jsonpath.New("fieldRef")
	if err := query.Parse("{." + path + "}"); err != nil {
		return "", fmt.Errorf("field path %q: %w", path, err)
	}
	results, err := query.FindResults(document)
	if err != nil {
		return "", fmt.Errorf("field path %q: %w", path, err)
	}
	if len(results) != 1 || len(results[0]) != 1 {
		return "", fmt.Errorf("field path %q does not name one field", path)
	}
	switch value := results[0][0].Interface().(type) {
	case nil:
		return "", fmt.Errorf("field path %q is not set", path)
	case map[string]any, []any:
		return "", fmt.Errorf("field path %q must end at a single value, not a list or an object", path)
	default:
		return fmt.Sprint(value), nil
	}
}
