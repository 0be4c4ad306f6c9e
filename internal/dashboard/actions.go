package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/internal/owned"
	"github.com/sluicehq/sluice/internal/plugin"
)

// conflict is an action the Rollout's state does not allow, such as an
// undo with no earlier revision: 409, as the API server answers a write
// that conflicts with an object's state.
type conflict struct{ error }

// errUnknownAction answers an action the dashboard does not have.
var errUnknownAction = errors.New("unknown action")

// rolloutAction sends one of the plugin's patches to a Rollout: the same
// patches `kubectl sluice` and Argo's plugin send.
func (s *Server) rolloutAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	action := r.PathValue("action")
	ro := &rolloutsv1alpha1.Rollout{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}, ro); err != nil {
		writeError(w, err)
		return
	}
	message, err := s.steerRollout(ctx, ro, action)
	if errors.Is(err, errUnknownAction) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("%s: %q", err, action)})
		return
	}
	var c conflict
	if errors.As(err, &c) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": message})
}

// steerRollout carries out action on ro and says what it did, with the
// plugin's own patches and words.
func (s *Server) steerRollout(ctx context.Context, ro *rolloutsv1alpha1.Rollout, action string) (string, error) {
	if action == "undo" {
		return s.undo(ctx, ro)
	}
	steering, ok := plugin.Steerings[action]
	if !ok {
		return "", errUnknownAction
	}
	err := steering.Patches(ro, time.Now()).Send(func(status bool, data []byte) error {
		if status {
			return s.client.Status().Patch(ctx, ro, client.RawPatch(types.MergePatchType, data))
		}
		return s.client.Patch(ctx, ro, client.RawPatch(types.MergePatchType, data))
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("rollout '%s' %s", ro.Name, steering.Done), nil
}

// undo goes back to the revision before the current one, as `kubectl
// sluice undo` does without --to-revision.
func (s *Server) undo(ctx context.Context, ro *rolloutsv1alpha1.Rollout) (string, error) {
	var list appsv1.ReplicaSetList
	if err := s.client.List(ctx, &list, client.InNamespace(ro.Namespace)); err != nil {
		return "", err
	}
	patch, message, err := plugin.Undo(ro, owned.ControlledBy(list.Items, ro), 0)
	if err != nil {
		return "", conflict{err}
	}
	if patch == nil {
		return message, nil
	}
	return message, s.client.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, patch))
}

// applicationRequest is the body of an Application's action.
type applicationRequest struct {
	Prune bool `json:"prune"`
	// Revision is what a rollback goes back to: an ID of the history or a
	// commit of it; empty for the last successful sync of another commit.
	Revision string `json:"revision"`
}

// applicationAction asks an Application to sync, to refresh, or to roll
// back, as the plugin's app commands do.
func (s *Server) applicationAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var body applicationRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading the request: " + err.Error()})
			return
		}
	}
	app := &gitopsv1alpha1.Application{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}, app); err != nil {
		writeError(w, err)
		return
	}
	now := time.Now()
	var patch []byte
	var message string
	switch action := r.PathValue("action"); action {
	case "sync":
		patch = plugin.SyncPatch(plugin.SyncRequest(now), body.Prune)
		message = fmt.Sprintf("application '%s' asked to sync", app.Name)
		if body.Prune {
			message += ", pruning"
		}
	case "refresh":
		patch = plugin.RefreshPatch(now)
		message = fmt.Sprintf("application '%s' asked to refresh", app.Name)
	case "rollback":
		target, err := plugin.RollbackTarget(app.Status.History, body.Revision)
		if err != nil {
			writeJSON(w, http.StatusConflict, map[string]string{"error": fmt.Sprintf("application %s: %s", app.Name, err)})
			return
		}
		patch = plugin.RollbackPatch(plugin.SyncRequest(now), target.Revision, body.Prune)
		message = fmt.Sprintf("application '%s' rolling back to %s; automated sync is off", app.Name, target.Revision)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("%s: %q", errUnknownAction, action)})
		return
	}
	if err := s.client.Patch(ctx, app, client.RawPatch(types.MergePatchType, patch)); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": message})
}
