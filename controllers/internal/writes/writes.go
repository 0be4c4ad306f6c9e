// Package writes holds the writes the Rollout and Experiment controllers
// make alike when they carry out a plan: narrow merge patches, deletes
// that accept an object already gone, and a plan's events.
package writes

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// Terminate is the merge patch that asks an AnalysisRun or an Experiment
// to end: spec.terminate, as Argo sets it.
const Terminate = `{"spec":{"terminate":true}}`

// MergePatch sends a JSON merge patch to the object of obj's kind with
// that namespace and name. The patch names only the fields an action
// changes, so other owners' fields are left alone.
func MergePatch(ctx context.Context, c client.Writer, obj client.Object, namespace, name, patch string) error {
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)))
}

// Delete deletes the object of obj's kind with that namespace and name; one
// already gone is what was wanted.
func Delete(ctx context.Context, c client.Writer, obj client.Object, namespace, name string) error {
	obj.SetNamespace(namespace)
	obj.SetName(name)
	return client.IgnoreNotFound(c.Delete(ctx, obj))
}

// ScaleDownDeadline is the merge patch that sets the time, in RFC 3339, at
// which a ReplicaSet is to be scaled down, in the annotation Argo uses; ""
// removes the annotation.
func ScaleDownDeadline(deadline string) string {
	value := "null"
	if deadline != "" {
		value = strconv.Quote(deadline)
	}
	return fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, value)
}

// LabelsPatch is the merge patch that gives an object's labels (have) the
// values of keys in want, removing a key want has not, or "" when they are
// already so. It moves a child to its parent's instance or shard.
func LabelsPatch(have, want map[string]string, keys ...string) string {
	changes := map[string]any{}
	for _, key := range keys {
		value, wanted := want[key]
		current, present := have[key]
		switch {
		case wanted && (!present || current != value):
			changes[key] = value
		case !wanted && present:
			changes[key] = nil // removes the label
		}
	}
	if len(changes) == 0 {
		return ""
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": changes}})
	return string(patch)
}

// Event records one of a plan's events on obj, a Warning or a Normal one,
// its reason also standing as the action.
func Event(rec recorder.EventRecorder, obj runtime.Object, warning bool, reason, message string) {
	eventType := corev1.EventTypeNormal
	if warning {
		eventType = corev1.EventTypeWarning
	}
	rec.Eventf(obj, nil, eventType, reason, reason, "%s", message)
}
