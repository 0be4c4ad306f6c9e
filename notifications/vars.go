package notifications

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// revisionAnnotation is the revision of the pod template a Rollout, its
// ReplicaSets and its AnalysisRuns carry.
const revisionAnnotation = "rollout.argoproj.io/revision"

// AnalysisRunsOf lists the AnalysisRuns of a Rollout's namespace labelled
// with a pod-template hash; nil when none can be read.
type AnalysisRunsOf func(namespace, podHash string) []rolloutsv1alpha1.AnalysisRun

// RolloutSettings are Argo Rollouts' settings: its ConfigMap and Secret,
// and the variables its templates see: rollout, analysisRuns (the runs of
// the Rollout's current revision, newest first), time and secrets.
func RolloutSettings(runs AnalysisRunsOf) api.Settings {
	return quiet(api.Settings{
		ConfigMapName: RolloutConfigMap,
		SecretName:    RolloutSecret,
		InitGetVars: func(_ *api.Config, _ *corev1.ConfigMap, secret *corev1.Secret) (api.GetVars, error) {
			return func(obj map[string]any, _ services.Destination) map[string]any {
				return map[string]any{
					"rollout":      obj,
					"analysisRuns": analysisRunsOfRevision(obj, runs),
					"time":         timeFunctions,
					"secrets":      secret.Data,
				}
			}, nil
		},
	})
}

// analysisRunsOfRevision are the runs of the Rollout's current pod hash
// and revision, newest first, as plain maps; nil when there are none.
func analysisRunsOfRevision(obj map[string]any, runsOf AnalysisRunsOf) any {
	if runsOf == nil {
		return nil
	}
	u := unstructured.Unstructured{Object: obj}
	hash, _, _ := unstructured.NestedString(obj, "status", "currentPodHash")
	if hash == "" {
		return nil
	}
	revision := u.GetAnnotations()[revisionAnnotation]
	var kept []rolloutsv1alpha1.AnalysisRun
	for _, run := range runsOf(u.GetNamespace(), hash) {
		if run.Annotations[revisionAnnotation] == revision {
			kept = append(kept, run)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	sort.SliceStable(kept, func(i, j int) bool {
		return kept[j].CreationTimestamp.Before(&kept[i].CreationTimestamp)
	})
	return plain(kept)
}

// ApplicationSettings are the settings of Applications: Sluice's ConfigMap
// and Secret, and Argo CD's variables: app (the Application, in Argo CD's
// shape), context (the ConfigMap's context key, with notificationType),
// secrets, time and strings.
func ApplicationSettings() api.Settings {
	return quiet(api.Settings{
		ConfigMapName: ApplicationConfigMap,
		SecretName:    ApplicationSecret,
		InitGetVars: func(_ *api.Config, cm *corev1.ConfigMap, secret *corev1.Secret) (api.GetVars, error) {
			context := map[string]string{}
			if raw, ok := cm.Data["context"]; ok {
				if err := yaml.Unmarshal([]byte(raw), &context); err != nil {
					return nil, err
				}
			}
			return func(obj map[string]any, dest services.Destination) map[string]any {
				ctx := make(map[string]any, len(context)+1)
				for k, v := range context {
					ctx[k] = v
				}
				ctx["notificationType"] = dest.Service
				return map[string]any{
					"app":     argoCDView(obj),
					"context": ctx,
					"secrets": secret.Data,
					"time":    timeFunctions,
					"strings": stringFunctions,
				}
			}, nil
		},
	})
}

// argoCDView is an Application as Argo CD's templates and triggers read it.
// Sluice's status records the revision of a sync in operationState.revision;
// Argo CD's in operationState.syncResult.revision (with the source synced),
// which its catalogue's on-deployed trigger and templates read, so both are
// there. The object given is not changed.
func argoCDView(obj map[string]any) map[string]any {
	state, found, _ := unstructured.NestedMap(obj, "status", "operationState")
	if !found {
		return obj
	}
	if _, has := state["syncResult"]; has {
		return obj
	}
	view := unstructured.Unstructured{Object: obj}
	view = *view.DeepCopy()
	result := map[string]any{}
	if revision, ok := state["revision"]; ok {
		result["revision"] = revision
	}
	if source, ok, _ := unstructured.NestedMap(obj, "spec", "source"); ok {
		result["source"] = source
	}
	_ = unstructured.SetNestedField(view.Object, result, "status", "operationState", "syncResult")
	return view.Object
}

// timeFunctions are Argo's time helpers: time.Now() and
// time.Parse(rfc3339). A timestamp that does not parse fails the
// expression or template, as in Argo (whose Parse panics), rather than
// reading as the year 1 and making "older than" conditions hold.
var timeFunctions = map[string]any{
	"Now": time.Now,
	"Parse": func(timestamp string) (time.Time, error) {
		return time.Parse(time.RFC3339, timestamp)
	},
}

// stringFunctions are Argo CD's string helpers.
var stringFunctions = map[string]any{
	"ReplaceAll": strings.ReplaceAll,
	"ToUpper":    strings.ToUpper,
	"ToLower":    strings.ToLower,
}

// plain turns a typed value into the maps and slices templates and
// expressions walk, through its JSON form.
func plain(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil
	}
	return out
}

// Plain is an object as templates and triggers see it.
func Plain(obj any) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = json.Unmarshal(data, &out)
	return out, err
}
