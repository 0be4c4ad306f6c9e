// Package hooks reads how an object takes part in a sync from its
// annotations, Argo CD's and Helm's: whether it is a hook, of which phases,
// deleted when, and in which wave. It is pure, so both the Application
// controller's planner and kubectl sluice app diff (which leaves hooks out)
// read objects alike.
package hooks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// The annotations that make an object a hook or put it in a wave, Argo
// CD's and Helm's: a chart's hooks run as Argo CD runs them.
const (
	HookAnnotation             = "argocd.argoproj.io/hook"
	HookDeletePolicyAnnotation = "argocd.argoproj.io/hook-delete-policy"
	SyncWaveAnnotation         = "argocd.argoproj.io/sync-wave"
	HelmHookAnnotation         = "helm.sh/hook"
	HelmHookDeletePolicy       = "helm.sh/hook-delete-policy"
	HelmHookWeightAnnotation   = "helm.sh/hook-weight"
)

// DeletePolicy says when a hook is deleted.
type DeletePolicy string

// The hook delete policies, with Argo CD's names.
const (
	// BeforeHookCreation deletes the previous run's hook before the next
	// is created; it is the policy of a hook that names none.
	BeforeHookCreation DeletePolicy = "BeforeHookCreation"
	HookSucceeded      DeletePolicy = "HookSucceeded"
	HookFailed         DeletePolicy = "HookFailed"
)

// Hook is what makes an object a hook.
type Hook struct {
	// Phases are the sync phases it runs in.
	Phases []gitopsv1alpha1.SyncPhase
	// DeletePolicies say when it is deleted.
	DeletePolicies []DeletePolicy
}

// In reports whether the hook runs in phase.
func (h *Hook) In(phase gitopsv1alpha1.SyncPhase) bool {
	return h != nil && slices.Contains(h.Phases, phase)
}

// Deletes reports whether the hook is deleted under policy.
func (h *Hook) Deletes(policy DeletePolicy) bool {
	return h != nil && slices.Contains(h.DeletePolicies, policy)
}

// helmPhases maps Helm's hook events to sync phases, as Argo CD maps them;
// the others (deletion, rollback, test) never run in a sync.
var helmPhases = map[string]gitopsv1alpha1.SyncPhase{
	"pre-install":  gitopsv1alpha1.SyncPhasePreSync,
	"pre-upgrade":  gitopsv1alpha1.SyncPhasePreSync,
	"post-install": gitopsv1alpha1.SyncPhasePostSync,
	"post-upgrade": gitopsv1alpha1.SyncPhasePostSync,
}

var helmDeletePolicies = map[string]DeletePolicy{
	"before-hook-creation": BeforeHookCreation,
	"hook-succeeded":       HookSucceeded,
	"hook-failed":          HookFailed,
}

// Role is how an object takes part in a sync, read from its annotations.
type Role struct {
	// Skip leaves the object out of every sync (hook "Skip"), and a Helm
	// hook of an event a sync never has (pre-delete, test...) likewise.
	Skip bool
	// Hook is set for a hook.
	Hook *Hook
	Wave int32
}

// RoleOf reads an object's annotations. Argo CD's hook annotation wins
// over Helm's; an object with neither is a resource of the Sync phase. A
// malformed wave or an unknown phase is an error naming the annotation:
// guessing would run the object at the wrong time.
func RoleOf(annotations map[string]string) (Role, error) {
	var role Role
	if v, ok := annotations[SyncWaveAnnotation]; ok {
		wave, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return role, fmt.Errorf("annotation %s: %q is not a whole number", SyncWaveAnnotation, v)
		}
		role.Wave = int32(wave)
	}
	if v, ok := annotations[HookAnnotation]; ok {
		hook := &Hook{}
		for _, p := range splitList(v) {
			switch phase := gitopsv1alpha1.SyncPhase(p); phase {
			case gitopsv1alpha1.SyncPhasePreSync, gitopsv1alpha1.SyncPhaseSync, gitopsv1alpha1.SyncPhasePostSync, gitopsv1alpha1.SyncPhaseSyncFail:
				hook.Phases = append(hook.Phases, phase)
			case "Skip":
				return Role{Skip: true}, nil
			case "PostDelete":
				// Runs when the Application is deleted, which syncs do
				// not: left out of them.
				return Role{Skip: true}, nil
			default:
				return role, fmt.Errorf("annotation %s: unknown hook %q (PreSync, Sync, PostSync, SyncFail or Skip)", HookAnnotation, p)
			}
		}
		for _, p := range splitList(annotations[HookDeletePolicyAnnotation]) {
			switch policy := DeletePolicy(p); policy {
			case BeforeHookCreation, HookSucceeded, HookFailed:
				hook.DeletePolicies = append(hook.DeletePolicies, policy)
			default:
				return role, fmt.Errorf("annotation %s: unknown policy %q (HookSucceeded, HookFailed or BeforeHookCreation)", HookDeletePolicyAnnotation, p)
			}
		}
		role.Hook = withDefaultPolicy(hook)
		return role, nil
	}
	v, ok := annotations[HelmHookAnnotation]
	if !ok {
		return role, nil
	}
	hook := &Hook{}
	for _, event := range splitList(v) {
		if phase, ok := helmPhases[event]; ok && !hook.In(phase) {
			hook.Phases = append(hook.Phases, phase)
		}
	}
	if len(hook.Phases) == 0 {
		return Role{Skip: true}, nil
	}
	if _, ok := annotations[SyncWaveAnnotation]; !ok {
		if w, err := strconv.ParseInt(strings.TrimSpace(annotations[HelmHookWeightAnnotation]), 10, 32); err == nil {
			role.Wave = int32(w)
		}
	}
	for _, p := range splitList(annotations[HelmHookDeletePolicy]) {
		if policy, ok := helmDeletePolicies[p]; ok {
			hook.DeletePolicies = append(hook.DeletePolicies, policy)
		}
	}
	role.Hook = withDefaultPolicy(hook)
	return role, nil
}

func withDefaultPolicy(h *Hook) *Hook {
	if len(h.DeletePolicies) == 0 {
		h.DeletePolicies = []DeletePolicy{BeforeHookCreation}
	}
	return h
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
