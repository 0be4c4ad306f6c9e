package plugin

import (
	"fmt"
	"strconv"
	"strings"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// RollbackTarget picks the sync of an Application's history that
// kubectl sluice app rollback returns to. revision is an index of the
// history as `kubectl sluice app history` numbers it (0 the newest, as
// Argo CD's `argocd app rollback APP ID` takes an ID of its history), a
// commit of the history (its full SHA or a prefix of at least four
// digits), or empty: the newest successful sync of a commit other than
// the one deployed now (the newest successful sync's).
func RollbackTarget(history []gitopsv1alpha1.SyncHistory, revision string) (gitopsv1alpha1.SyncHistory, error) {
	revision = strings.TrimSpace(revision)
	switch {
	case revision == "":
		deployed := ""
		for _, h := range history {
			if h.Result != "Succeeded" || h.Revision == "" {
				continue
			}
			if deployed == "" {
				deployed = h.Revision
				continue
			}
			if h.Revision != deployed {
				return h, nil
			}
		}
		if deployed == "" {
			return gitopsv1alpha1.SyncHistory{}, fmt.Errorf("the history holds no successful sync")
		}
		return gitopsv1alpha1.SyncHistory{}, fmt.Errorf("the history holds no successful sync of a commit before %s", deployed)
	case isIndex(revision):
		i, _ := strconv.Atoi(revision)
		if i >= len(history) {
			return gitopsv1alpha1.SyncHistory{}, fmt.Errorf("the history has %d entries: no entry %d", len(history), i)
		}
		if history[i].Revision == "" {
			return gitopsv1alpha1.SyncHistory{}, fmt.Errorf("entry %d of the history names no commit", i)
		}
		return history[i], nil
	}
	if len(revision) < 4 {
		return gitopsv1alpha1.SyncHistory{}, fmt.Errorf("%q is too short for a commit: give at least four digits", revision)
	}
	var found []gitopsv1alpha1.SyncHistory
	for _, h := range history {
		if h.Revision != "" && strings.HasPrefix(h.Revision, strings.ToLower(revision)) &&
			!containsRevision(found, h.Revision) {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 0:
		return gitopsv1alpha1.SyncHistory{}, fmt.Errorf("no commit %s in the history (kubectl sluice app history lists it)", revision)
	case 1:
		return found[0], nil
	}
	return gitopsv1alpha1.SyncHistory{}, fmt.Errorf("%s names more than one commit of the history: give more digits", revision)
}

// isIndex reports whether a revision is a history index rather than a
// commit: a history holds at most ten entries, and a commit prefix has at
// least four digits.
func isIndex(revision string) bool {
	_, err := strconv.Atoi(revision)
	return err == nil && len(revision) < 4 && !strings.HasPrefix(revision, "-")
}

func containsRevision(entries []gitopsv1alpha1.SyncHistory, revision string) bool {
	for _, e := range entries {
		if e.Revision == revision {
			return true
		}
	}
	return false
}
