package hooks

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func TestRoleOf(t *testing.T) {
	const (
		preSync  = gitopsv1alpha1.SyncPhasePreSync
		sync     = gitopsv1alpha1.SyncPhaseSync
		postSync = gitopsv1alpha1.SyncPhasePostSync
		syncFail = gitopsv1alpha1.SyncPhaseSyncFail
	)
	hook := func(wave int32, phases []gitopsv1alpha1.SyncPhase, policies ...DeletePolicy) Role {
		return Role{Wave: wave, Hook: &Hook{Phases: phases, DeletePolicies: policies}}
	}
	phases := func(p ...gitopsv1alpha1.SyncPhase) []gitopsv1alpha1.SyncPhase { return p }
	tests := []struct {
		name        string
		reason      string
		annotations map[string]string
		want        Role
		wantErr     string
	}{
		{
			name:   "no annotations",
			reason: "an object with no annotation is a resource of the Sync phase, wave 0",
		},
		{
			name:        "a sync wave",
			reason:      "sync-wave puts a resource in a wave",
			annotations: map[string]string{SyncWaveAnnotation: "3"},
			want:        Role{Wave: 3},
		},
		{
			name:        "a negative wave, spaced",
			reason:      "waves may be negative, and spaces around the number are read past",
			annotations: map[string]string{SyncWaveAnnotation: " -2 "},
			want:        Role{Wave: -2},
		},
		{
			name:        "a malformed wave",
			reason:      "guessing a wave would apply the object at the wrong time: an error naming the annotation",
			annotations: map[string]string{SyncWaveAnnotation: "first"},
			wantErr:     `annotation argocd.argoproj.io/sync-wave: "first" is not a whole number`,
		},
		{
			name:        "a fractional wave",
			reason:      "waves are whole numbers",
			annotations: map[string]string{SyncWaveAnnotation: "1.5"},
			wantErr:     `"1.5" is not a whole number`,
		},
		{
			name:        "a wave beyond int32",
			reason:      "a wave that does not fit is malformed, not wrapped around",
			annotations: map[string]string{SyncWaveAnnotation: "99999999999"},
			wantErr:     `"99999999999" is not a whole number`,
		},
		{
			name:        "a PreSync hook",
			reason:      "a hook that names no delete policy gets BeforeHookCreation",
			annotations: map[string]string{HookAnnotation: "PreSync"},
			want:        hook(0, phases(preSync), BeforeHookCreation),
		},
		{
			name:        "a hook of two phases",
			reason:      "a hook may run in several phases",
			annotations: map[string]string{HookAnnotation: "PreSync, PostSync"},
			want:        hook(0, phases(preSync, postSync), BeforeHookCreation),
		},
		{
			name:        "a Sync hook in a wave",
			reason:      "a Sync hook runs with its wave",
			annotations: map[string]string{HookAnnotation: "Sync", SyncWaveAnnotation: "2"},
			want:        hook(2, phases(sync), BeforeHookCreation),
		},
		{
			name:        "a SyncFail hook with delete policies",
			reason:      "the delete policies are read as listed",
			annotations: map[string]string{HookAnnotation: "SyncFail", HookDeletePolicyAnnotation: "HookSucceeded,HookFailed"},
			want:        hook(0, phases(syncFail), HookSucceeded, HookFailed),
		},
		{
			name:        "Skip",
			reason:      "Skip leaves the object out of every sync",
			annotations: map[string]string{HookAnnotation: "Skip"},
			want:        Role{Skip: true},
		},
		{
			name:        "PostDelete",
			reason:      "a PostDelete hook runs when the Application is deleted, which a sync never is",
			annotations: map[string]string{HookAnnotation: "PostDelete"},
			want:        Role{Skip: true},
		},
		{
			name:        "an unknown hook",
			reason:      "an unknown phase is an error: running it at a guessed time could do harm",
			annotations: map[string]string{HookAnnotation: "PreInstall"},
			wantErr:     `annotation argocd.argoproj.io/hook: unknown hook "PreInstall"`,
		},
		{
			name:        "an unknown delete policy",
			reason:      "an unknown delete policy is an error naming the annotation",
			annotations: map[string]string{HookAnnotation: "PreSync", HookDeletePolicyAnnotation: "Never"},
			wantErr:     `annotation argocd.argoproj.io/hook-delete-policy: unknown policy "Never"`,
		},
		{
			name:        "a delete policy without a hook",
			reason:      "a delete policy alone does not make a hook",
			annotations: map[string]string{HookDeletePolicyAnnotation: "HookSucceeded"},
		},
		{
			name:        "Helm pre-install",
			reason:      "Helm's pre-install runs in PreSync, with Helm's default policy, before-hook-creation",
			annotations: map[string]string{HelmHookAnnotation: "pre-install"},
			want:        hook(0, phases(preSync), BeforeHookCreation),
		},
		{
			name:        "Helm pre-upgrade",
			reason:      "pre-upgrade runs in PreSync too",
			annotations: map[string]string{HelmHookAnnotation: "pre-upgrade"},
			want:        hook(0, phases(preSync), BeforeHookCreation),
		},
		{
			name:        "Helm pre-install and pre-upgrade",
			reason:      "both map to PreSync, which the hook runs in once",
			annotations: map[string]string{HelmHookAnnotation: "pre-install,pre-upgrade"},
			want:        hook(0, phases(preSync), BeforeHookCreation),
		},
		{
			name:        "Helm post-install and post-upgrade",
			reason:      "post-install and post-upgrade run in PostSync",
			annotations: map[string]string{HelmHookAnnotation: "post-install, post-upgrade"},
			want:        hook(0, phases(postSync), BeforeHookCreation),
		},
		{
			name:        "Helm pre-delete",
			reason:      "a Helm event a sync never has leaves the object out",
			annotations: map[string]string{HelmHookAnnotation: "pre-delete"},
			want:        Role{Skip: true},
		},
		{
			name:        "Helm test",
			reason:      "chart tests are not run by a sync",
			annotations: map[string]string{HelmHookAnnotation: "test"},
			want:        Role{Skip: true},
		},
		{
			name:        "Helm pre-install and post-delete",
			reason:      "the events a sync has are kept, the others dropped",
			annotations: map[string]string{HelmHookAnnotation: "pre-install,post-delete"},
			want:        hook(0, phases(preSync), BeforeHookCreation),
		},
		{
			name:        "Helm hook weight",
			reason:      "a Helm hook's weight is its wave",
			annotations: map[string]string{HelmHookAnnotation: "post-install", HelmHookWeightAnnotation: "-5"},
			want:        hook(-5, phases(postSync), BeforeHookCreation),
		},
		{
			name:   "Helm hook weight and a sync wave",
			reason: "an explicit sync-wave wins over the weight",
			annotations: map[string]string{HelmHookAnnotation: "pre-install", HelmHookWeightAnnotation: "-5",
				SyncWaveAnnotation: "4"},
			want: hook(4, phases(preSync), BeforeHookCreation),
		},
		{
			name:        "a malformed Helm weight",
			reason:      "Helm itself ignores a weight it cannot read: wave 0",
			annotations: map[string]string{HelmHookAnnotation: "pre-install", HelmHookWeightAnnotation: "heavy"},
			want:        hook(0, phases(preSync), BeforeHookCreation),
		},
		{
			name:   "Helm delete policies",
			reason: "Helm's policy names map to Argo CD's; unknown ones are dropped, as Helm drops them",
			annotations: map[string]string{HelmHookAnnotation: "pre-install",
				HelmHookDeletePolicy: "hook-succeeded,hook-failed,before-hook-creation,sometime"},
			want: hook(0, phases(preSync), HookSucceeded, HookFailed, BeforeHookCreation),
		},
		{
			name:        "Argo CD's hook wins over Helm's",
			reason:      "a chart's object with both annotations runs as Argo CD's says",
			annotations: map[string]string{HookAnnotation: "Sync", HelmHookAnnotation: "pre-install", HelmHookWeightAnnotation: "3"},
			want:        hook(0, phases(sync), BeforeHookCreation),
		},
		{
			name:        "Argo CD's Skip wins over Helm's hook",
			reason:      "Skip is Skip, whatever Helm says",
			annotations: map[string]string{HookAnnotation: "Skip", HelmHookAnnotation: "pre-install"},
			want:        Role{Skip: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RoleOf(tt.annotations)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("%s\nRoleOf() error = %v; want one saying %q", tt.reason, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s\nRoleOf() error = %v", tt.reason, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s\nRoleOf() (-want +got):\n%s", tt.reason, diff)
			}
		})
	}
}

func TestHookNil(t *testing.T) {
	var h *Hook
	if h.In(gitopsv1alpha1.SyncPhaseSync) || h.Deletes(BeforeHookCreation) {
		t.Error("an object that is not a hook runs in no phase and has no delete policy")
	}
}
