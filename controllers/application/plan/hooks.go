package plan

import "github.com/sluicehq/sluice/gitops/hooks"

// The planner's names for package hooks', which reads an object's role in
// a sync from its annotations.
type (
	// Role is how an object takes part in a sync.
	Role = hooks.Role
	// Hook is what makes an object a hook.
	Hook = hooks.Hook
	// DeletePolicy says when a hook is deleted.
	DeletePolicy = hooks.DeletePolicy
)

// The hook delete policies, with Argo CD's names.
const (
	BeforeHookCreation = hooks.BeforeHookCreation
	HookSucceeded      = hooks.HookSucceeded
	HookFailed         = hooks.HookFailed
)

// The annotations that make an object a hook or put it in a wave.
const (
	HookAnnotation             = hooks.HookAnnotation
	HookDeletePolicyAnnotation = hooks.HookDeletePolicyAnnotation
	SyncWaveAnnotation         = hooks.SyncWaveAnnotation
	HelmHookAnnotation         = hooks.HelmHookAnnotation
	HelmHookDeletePolicy       = hooks.HelmHookDeletePolicy
	HelmHookWeightAnnotation   = hooks.HelmHookWeightAnnotation
)

// RoleOf reads an object's annotations (hooks.RoleOf).
func RoleOf(annotations map[string]string) (Role, error) { return hooks.RoleOf(annotations) }
