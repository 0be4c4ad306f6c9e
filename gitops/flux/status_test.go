package flux

import (
	"strings"
	"testing"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func cond(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: 3, LastTransitionTime: t0}
}

func appWith(st gitopsv1alpha1.ApplicationStatus) *gitopsv1alpha1.Application {
	app := wantApp(nil)
	app.Status = st
	return app
}

var (
	web = gitopsv1alpha1.ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "prod", Name: "web"}
	ns  = gitopsv1alpha1.ObjectRef{Version: "v1", Kind: "Namespace", Name: "prod"}
	crb = gitopsv1alpha1.ObjectRef{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding", Name: "system:web"}
)

func TestKustomizationStatus(t *testing.T) {
	inventory := &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
		{ID: "prod_web_apps_Deployment", Version: "v1"},
		{ID: "_prod__Namespace", Version: "v1"},
		{ID: "_system__web_rbac.authorization.k8s.io_ClusterRoleBinding", Version: "v1"},
	}}
	synced := gitopsv1alpha1.ApplicationStatus{
		ObservedGeneration: 3,
		Conditions:         []metav1.Condition{cond("Ready", metav1.ConditionTrue, "Synced", "synced revision 111111111111")},
		Sync:               gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: sha1},
		Inventory:          []gitopsv1alpha1.ObjectRef{web, ns, crb},
		History:            []gitopsv1alpha1.SyncHistory{{Revision: sha1, Result: "Succeeded", DeployedAt: t0}},
	}
	failed := func(reason string) gitopsv1alpha1.ApplicationStatus {
		st := *synced.DeepCopy()
		st.Conditions = []metav1.Condition{cond("Ready", metav1.ConditionFalse, reason, "it broke")}
		st.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusOutOfSync, Revision: sha2}
		st.History = append([]gitopsv1alpha1.SyncHistory{{Revision: sha2, Result: "Failed", DeployedAt: t0, Message: "it broke"}}, st.History...)
		return st
	}
	cases := map[string]struct {
		reason string
		ks     *kustomizev1.Kustomization
		repo   *sourcev1.GitRepository
		app    gitopsv1alpha1.ApplicationStatus
		want   kustomizev1.KustomizationStatus
	}{
		"succeeded": {
			reason: "Ready=True ReconciliationSucceeded, revisions in Flux's form from the branch, inventory ids as cli-utils writes them (colons of RBAC names doubled as __)",
			ks:     newKS().obj(), repo: newRepo().obj(), app: synced,
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration:  3,
				Conditions:          []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "synced revision 111111111111")},
				LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha1,
				Inventory: inventory,
			},
		},
		"semver names the tag of the artifact": {
			reason: "a range resolves to a tag only the GitRepository's artifact names",
			ks:     newKS().obj(), repo: newRepo().ref(&sourcev1.GitRepositoryRef{SemVer: "1.x"}).artifact("v1.4.0@sha1:" + sha1).obj(), app: synced,
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration:  3,
				Conditions:          []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "synced revision 111111111111")},
				LastAppliedRevision: "v1.4.0@sha1:" + sha1, LastAttemptedRevision: "v1.4.0@sha1:" + sha1,
				Inventory: inventory,
			},
		},
		"commit": {
			reason: "a commit named by no ref is sha1:<sha>",
			ks:     newKS().obj(), repo: newRepo().ref(&sourcev1.GitRepositoryRef{Commit: sha1}).obj(), app: synced,
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration:  3,
				Conditions:          []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "synced revision 111111111111")},
				LastAppliedRevision: "sha1:" + sha1, LastAttemptedRevision: "sha1:" + sha1,
				Inventory: inventory,
			},
		},
		"healthy with wait": {
			reason: "with wait, Healthy is there, True",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Wait = true }).obj(), repo: newRepo().obj(), app: synced,
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration: 3,
				Conditions: []metav1.Condition{
					cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "synced revision 111111111111"),
					cond("Healthy", metav1.ConditionTrue, meta.SucceededReason, "Health check passed"),
				},
				LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha1,
				Inventory: inventory,
			},
		},
		"render failed": {
			reason: "a render failure is BuildFailed; the last applied revision stays, the attempted one is the new commit",
			ks:     newKS().obj(), repo: newRepo().obj(), app: failed("RenderFailed"),
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration:  3,
				Conditions:          []metav1.Condition{cond("Ready", metav1.ConditionFalse, meta.BuildFailedReason, "it broke")},
				LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha2,
				Inventory: inventory,
			},
		},
		"fetch failed": {
			reason: "a fetch (or credentials) failure is ArtifactFailed",
			ks:     newKS().obj(), repo: newRepo().obj(), app: failed("CredentialsFailed"),
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration:  3,
				Conditions:          []metav1.Condition{cond("Ready", metav1.ConditionFalse, meta.ArtifactFailedReason, "it broke")},
				LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha2,
				Inventory: inventory,
			},
		},
		"apply failed, stalled": {
			reason: "an apply failure is ReconciliationFailed; Stalled follows the engine's",
			ks:     newKS().obj(), repo: newRepo().obj(),
			app: func() gitopsv1alpha1.ApplicationStatus {
				st := failed("ApplyFailed")
				st.Conditions = append(st.Conditions, cond("Stalled", metav1.ConditionTrue, "ApplyFailed", "it broke"))
				return st
			}(),
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration: 3,
				Conditions: []metav1.Condition{
					cond("Ready", metav1.ConditionFalse, meta.ReconciliationFailedReason, "it broke"),
					cond("Stalled", metav1.ConditionTrue, meta.ReconciliationFailedReason, "it broke"),
				},
				LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha2,
				Inventory: inventory,
			},
		},
		"health check failed": {
			reason: "with healthChecks, Healthy is False HealthCheckFailed as Ready",
			ks: newKS().with(func(s *kustomizev1.KustomizationSpec) {
				s.HealthChecks = []meta.NamespacedObjectKindReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}
			}).obj(),
			repo: newRepo().obj(), app: failed("HealthCheckFailed"),
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration: 3,
				Conditions: []metav1.Condition{
					cond("Ready", metav1.ConditionFalse, meta.HealthCheckFailedReason, "it broke"),
					cond("Healthy", metav1.ConditionFalse, meta.HealthCheckFailedReason, "it broke"),
				},
				LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha2,
				Inventory: inventory,
			},
		},
		"progressing": {
			reason: "waiting for health: Ready Unknown, Reconciling True, Healthy Unknown, all Progressing; the operation's revision is the attempted one",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Wait = true }).obj(), repo: newRepo().obj(),
			app: func() gitopsv1alpha1.ApplicationStatus {
				st := *synced.DeepCopy()
				st.Conditions = []metav1.Condition{
					cond("Ready", metav1.ConditionFalse, "Progressing", "waiting for health"),
					cond("Reconciling", metav1.ConditionTrue, "Progressing", "Deployment web is Progressing"),
				}
				st.OperationState = &gitopsv1alpha1.OperationState{Phase: gitopsv1alpha1.OperationRunning, Revision: sha2, StartedAt: t0}
				return st
			}(),
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration: 3,
				Conditions: []metav1.Condition{
					cond("Ready", metav1.ConditionUnknown, meta.ProgressingReason, "waiting for health"),
					cond("Reconciling", metav1.ConditionTrue, meta.ProgressingReason, "Deployment web is Progressing"),
					cond("Healthy", metav1.ConditionUnknown, meta.ProgressingReason, "waiting for health"),
				},
				LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha2,
				Inventory: inventory,
			},
		},
		"request handled": {
			reason: "the sync request the engine handled is lastHandledReconcileAt",
			ks:     newKS().obj(), repo: newRepo().obj(),
			app: func() gitopsv1alpha1.ApplicationStatus {
				st := *synced.DeepCopy()
				st.LastHandledSyncRequest = "2026-01-02T03:04:05Z"
				st.Inventory = nil
				return st
			}(),
			want: kustomizev1.KustomizationStatus{
				ObservedGeneration:     3,
				ReconcileRequestStatus: meta.ReconcileRequestStatus{LastHandledReconcileAt: "2026-01-02T03:04:05Z"},
				Conditions:             []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "synced revision 111111111111")},
				LastAppliedRevision:    "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha1,
			},
		},
		"suspended": {
			reason: "a suspended Kustomization's status stays as Flux left it",
			ks: newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Suspend = true }).status(func(s *kustomizev1.KustomizationStatus) {
				s.LastAppliedRevision = "main@sha1:" + sha2
				s.Conditions = []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "as before")}
			}).obj(),
			repo: newRepo().obj(),
			app: func() gitopsv1alpha1.ApplicationStatus {
				st := *synced.DeepCopy()
				st.Conditions = []metav1.Condition{cond("Ready", metav1.ConditionFalse, "Suspended", "syncing is suspended")}
				return st
			}(),
			want: kustomizev1.KustomizationStatus{
				LastAppliedRevision: "main@sha1:" + sha2,
				Conditions:          []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "as before")},
			},
		},
		"nothing yet": {
			reason: "before the engine's first reconcile there is nothing to say",
			ks:     newKS().obj(), repo: newRepo().obj(), app: gitopsv1alpha1.ApplicationStatus{},
			want: kustomizev1.KustomizationStatus{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := KustomizationStatus(tc.ks, tc.repo, appWith(tc.app))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestStatusRoundTrip: a Flux status becomes the engine's, and the engine's
// gives the Flux status back, so a Kustomization resumes where it stood.
func TestStatusRoundTrip(t *testing.T) {
	inventory := &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
		{ID: "prod_web_apps_Deployment", Version: "v1"},
		{ID: "_prod__Namespace", Version: "v1"},
		{ID: "_system__web_rbac.authorization.k8s.io_ClusterRoleBinding", Version: "v1"},
		{ID: "prod_app_example.com_Widget", Version: "v1beta1"},
	}}
	cases := map[string]struct {
		reason string
		status kustomizev1.KustomizationStatus
	}{
		"ready": {reason: "applied and ready", status: kustomizev1.KustomizationStatus{
			ObservedGeneration:  3,
			Conditions:          []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "Applied revision: main@sha1:"+sha1)},
			LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha1,
			ReconcileRequestStatus: meta.ReconcileRequestStatus{LastHandledReconcileAt: "now"},
			Inventory:              inventory,
		}},
		"failed on a new commit": {reason: "the last attempt failed to build; the applied commit stays", status: kustomizev1.KustomizationStatus{
			ObservedGeneration: 3,
			Conditions: []metav1.Condition{
				cond("Ready", metav1.ConditionFalse, meta.BuildFailedReason, "kustomize build failed"),
				cond("Stalled", metav1.ConditionTrue, meta.BuildFailedReason, "kustomize build failed"),
			},
			LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha2,
			Inventory: inventory,
		}},
		"pruning failed": {reason: "the same commit, failing", status: kustomizev1.KustomizationStatus{
			ObservedGeneration:  2,
			Conditions:          []metav1.Condition{cond("Ready", metav1.ConditionFalse, meta.PruneFailedReason, "forbidden")},
			LastAppliedRevision: "main@sha1:" + sha1, LastAttemptedRevision: "main@sha1:" + sha1,
		}},
		"empty": {reason: "a new Kustomization", status: kustomizev1.KustomizationStatus{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ks := newKS().status(func(s *kustomizev1.KustomizationStatus) { *s = *tc.status.DeepCopy() }).obj()
			engine, err := EngineStatus(ks)
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			got := KustomizationStatus(ks, newRepo().obj(), appWith(engine))
			if diff := cmp.Diff(tc.status, got); diff != "" {
				t.Errorf("%s\n(-flux +round trip):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestEngineStatus(t *testing.T) {
	ks := newKS().status(func(s *kustomizev1.KustomizationStatus) {
		s.ObservedGeneration = 3
		s.LastAppliedRevision = "main@sha1:" + sha1
		s.LastAttemptedRevision = "main@sha1:" + sha1
		s.LastHandledReconcileAt = "now"
		s.Conditions = []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "ok")}
		s.Inventory = &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
			{ID: "prod_web_apps_Deployment", Version: "v1"}, {ID: "_system__web_rbac.authorization.k8s.io_ClusterRoleBinding", Version: "v1"}}}
	}).obj()
	want := gitopsv1alpha1.ApplicationStatus{
		ObservedGeneration:     3,
		LastHandledSyncRequest: "now",
		Conditions:             []metav1.Condition{cond("Ready", metav1.ConditionTrue, "Synced", "ok")},
		Sync:                   gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: sha1},
		Inventory:              []gitopsv1alpha1.ObjectRef{web, crb},
		History:                []gitopsv1alpha1.SyncHistory{{Revision: sha1, Result: "Succeeded", DeployedAt: t0}},
	}
	got, err := EngineStatus(ks)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the inventory, the synced commit and the handled request (-want +got):\n%s", diff)
	}

	bad := newKS().status(func(s *kustomizev1.KustomizationStatus) {
		s.Inventory = &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{{ID: "no-separators"}}}
	}).obj()
	_, err = EngineStatus(bad)
	if diff := cmp.Diff(`status.inventory.entries[0].id "no-separators": not <namespace>_<name>_<group>_<kind>`, errString(err)); diff != "" {
		t.Errorf("a malformed id is named (-want +got):\n%s", diff)
	}
}

func TestNotReadyStatus(t *testing.T) {
	later := metav1.NewTime(t0.Add(time.Minute))
	prev := newKS().annotate(meta.ReconcileRequestAnnotation, "asked").status(func(s *kustomizev1.KustomizationStatus) {
		s.ObservedGeneration = 2
		s.LastAppliedRevision = "main@sha1:" + sha1
		s.Conditions = []metav1.Condition{
			cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "ok"),
			cond("Healthy", metav1.ConditionTrue, meta.SucceededReason, "Health check passed"),
		}
	}).obj()
	got := NotReadyStatus(prev, meta.DependencyNotReadyReason, "dependency 'flux-system/infra' is not ready", false, later)
	want := kustomizev1.KustomizationStatus{
		ObservedGeneration:     2,
		LastAppliedRevision:    "main@sha1:" + sha1,
		ReconcileRequestStatus: meta.ReconcileRequestStatus{LastHandledReconcileAt: "asked"},
		Conditions: []metav1.Condition{
			{Type: "Ready", Status: metav1.ConditionFalse, Reason: meta.DependencyNotReadyReason, Message: "dependency 'flux-system/infra' is not ready",
				ObservedGeneration: 3, LastTransitionTime: later},
			cond("Healthy", metav1.ConditionTrue, meta.SucceededReason, "Health check passed"),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waiting on a dependency: Ready False now, the rest as it was (-want +got):\n%s", diff)
	}

	got = NotReadyStatus(prev, InvalidSpecReason, "spec.components: not served", true, later)
	if len(got.Conditions) != 3 || got.Conditions[1].Type != "Stalled" || got.Conditions[1].Reason != InvalidSpecReason {
		t.Errorf("a refused spec is Stalled InvalidSpec: %+v", got.Conditions)
	}
}

func TestDependsOn(t *testing.T) {
	ready := func(name, namespace string, generation, observed int64) *kustomizev1.Kustomization {
		k := newKS().obj()
		k.Name, k.Namespace, k.Generation = name, namespace, generation
		k.Status.ObservedGeneration = observed
		k.Status.Conditions = []metav1.Condition{cond("Ready", metav1.ConditionTrue, meta.ReconciliationSucceededReason, "")}
		return k
	}
	notReady := ready("infra", "flux-system", 1, 1)
	notReady.Status.Conditions[0].Status = metav1.ConditionFalse
	key := func(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }
	ks := newKS().with(func(s *kustomizev1.KustomizationSpec) {
		s.DependsOn = []kustomizev1.DependencyReference{{Name: "infra"}, {Name: "crds", Namespace: "platform"}}
	}).obj()

	cases := map[string]struct {
		reason  string
		ks      *kustomizev1.Kustomization
		deps    map[types.NamespacedName]*kustomizev1.Kustomization
		ready   bool
		message string
	}{
		"none": {reason: "no dependsOn: ready", ks: newKS().obj(), ready: true},
		"all ready": {reason: "each exists, is Ready and has observed its generation; a dependency without namespace is in ks's",
			ks: ks, deps: map[types.NamespacedName]*kustomizev1.Kustomization{
				key("flux-system", "infra"): ready("infra", "flux-system", 2, 2), key("platform", "crds"): ready("crds", "platform", 1, 1)},
			ready: true},
		"missing": {reason: "a dependency that does not exist", ks: ks, deps: map[types.NamespacedName]*kustomizev1.Kustomization{
			key("flux-system", "infra"): ready("infra", "flux-system", 2, 2)},
			message: "unable to get 'platform/crds' dependency: not found"},
		"not ready": {reason: "Ready=False", ks: ks, deps: map[types.NamespacedName]*kustomizev1.Kustomization{
			key("flux-system", "infra"): notReady, key("platform", "crds"): ready("crds", "platform", 1, 1)},
			message: "dependency 'flux-system/infra' is not ready"},
		"stale generation": {reason: "Ready, but for an older generation", ks: ks, deps: map[types.NamespacedName]*kustomizev1.Kustomization{
			key("flux-system", "infra"): ready("infra", "flux-system", 3, 2), key("platform", "crds"): ready("crds", "platform", 1, 1)},
			message: "dependency 'flux-system/infra' is not ready: generation 3 not reconciled yet (observed 2)"},
		"no conditions": {reason: "never reconciled", ks: ks, deps: map[types.NamespacedName]*kustomizev1.Kustomization{
			key("flux-system", "infra"): {ObjectMeta: metav1.ObjectMeta{Name: "infra"}}, key("platform", "crds"): ready("crds", "platform", 1, 1)},
			message: "dependency 'flux-system/infra' is not ready"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ok, message := DependsOn(tc.ks, tc.deps)
			if ok != tc.ready || message != tc.message {
				t.Errorf("%s: got (%v, %q), want (%v, %q)", tc.reason, ok, message, tc.ready, tc.message)
			}
		})
	}
	if diff := cmp.Diff([]types.NamespacedName{key("flux-system", "infra"), key("platform", "crds")}, Dependencies(ks)); diff != "" {
		t.Errorf("Dependencies (-want +got):\n%s", diff)
	}
}

func TestGitRepositoryStatus(t *testing.T) {
	later := metav1.NewTime(t0.Add(time.Minute))
	ready := func(revision string, at metav1.Time) metav1.Condition {
		return metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: meta.SucceededReason,
			Message: "stored artifact for revision '" + revision + "'", ObservedGeneration: 1, LastTransitionTime: at}
	}
	fresh := newRepo().obj()
	got := GitRepositoryStatus(fresh, "refs/heads/main", sha1, t0)
	want := sourcev1.GitRepositoryStatus{
		ObservedGeneration: 1,
		Conditions:         []metav1.Condition{ready("main@sha1:"+sha1, t0)},
		Artifact:           &meta.Artifact{Revision: "main@sha1:" + sha1, Digest: "sha1:" + sha1, LastUpdateTime: t0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a first resolution: Ready, artifact.revision in Flux's form (-want +got):\n%s", diff)
	}

	same := newRepo().obj()
	same.Status = *got.DeepCopy()
	if diff := cmp.Diff(want, GitRepositoryStatus(same, "refs/heads/main", sha1, later)); diff != "" {
		t.Errorf("the same commit again changes nothing, times included, so nothing is written (-want +got):\n%s", diff)
	}

	moved := GitRepositoryStatus(same, "refs/heads/main", sha2, later)
	if moved.Artifact.Revision != "main@sha1:"+sha2 || !moved.Artifact.LastUpdateTime.Equal(&later) || !moved.Conditions[0].LastTransitionTime.Equal(&t0) {
		t.Errorf("a new commit: a new artifact time, Ready stays True since t0: %+v", moved)
	}
	if r := GitRepositoryStatus(fresh, "refs/tags/v1.0.0", sha1, t0).Artifact.Revision; r != "v1.0.0@sha1:"+sha1 {
		t.Errorf("a tag: %s", r)
	}
	if r := GitRepositoryStatus(fresh, "", sha1, t0).Artifact.Revision; r != "sha1:"+sha1 {
		t.Errorf("a commit no ref names: %s", r)
	}

	failure := GitRepositoryFailure(same, "", "listing the refs of https://github.com/org/my-app: authentication required", false, later)
	wantFailure := sourcev1.GitRepositoryStatus{
		ObservedGeneration: 1,
		Artifact:           &meta.Artifact{Revision: "main@sha1:" + sha1, Digest: "sha1:" + sha1, LastUpdateTime: t0},
		Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: sourcev1.GitOperationFailedReason,
			Message: "listing the refs of https://github.com/org/my-app: authentication required", ObservedGeneration: 1, LastTransitionTime: later}},
	}
	if diff := cmp.Diff(wantFailure, failure); diff != "" {
		t.Errorf("a failure keeps the last artifact, Ready False GitOperationFailed (-want +got):\n%s", diff)
	}
	stalled := GitRepositoryFailure(fresh, InvalidSpecReason, "GitRepository spec.include: not served", true, later)
	if len(stalled.Conditions) != 2 || stalled.Conditions[1].Type != "Stalled" || stalled.Artifact != nil || stalled.ObservedGeneration != 0 {
		t.Errorf("a refused spec: Stalled, no artifact, nothing observed: %+v", stalled)
	}
}

func TestRevisionForms(t *testing.T) {
	cases := map[string]struct {
		reason      string
		ref, commit string
		want        string
	}{
		"branch":    {reason: "a branch's short name", ref: "refs/heads/main", commit: sha1, want: "main@sha1:" + sha1},
		"slash":     {reason: "a branch with a slash keeps it", ref: "refs/heads/release/1.x", commit: sha1, want: "release/1.x@sha1:" + sha1},
		"tag":       {reason: "a tag's short name", ref: "refs/tags/v1.0.0", commit: sha1, want: "v1.0.0@sha1:" + sha1},
		"other ref": {reason: "any other ref whole, as Flux names spec.ref.name", ref: "refs/pull/42/head", commit: sha1, want: "refs/pull/42/head@sha1:" + sha1},
		"no ref":    {reason: "a commit no ref names", commit: sha1, want: "sha1:" + sha1},
		"HEAD":      {reason: "HEAD names nothing", ref: "HEAD", commit: sha1, want: "sha1:" + sha1},
		"no commit": {reason: "nothing resolved, nothing to say", ref: "refs/heads/main"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Revision(tc.ref, tc.commit)
			if got != tc.want {
				t.Errorf("%s: Revision(%q) = %q, want %q", tc.reason, tc.ref, got, tc.want)
			}
			if tc.commit != "" && CommitOf(got) != tc.commit {
				t.Errorf("%s: CommitOf(%q) = %q", tc.reason, got, CommitOf(got))
			}
		})
	}
	for in, want := range map[string]string{
		"main/" + sha2:        sha2, // Flux's form before v2.0
		strings.ToUpper(sha2): sha2,
		"main@sha256:" + sha2: "",
		"main@sha1:abc":       "",
		"":                    "",
	} {
		if got := CommitOf(in); got != want {
			t.Errorf("CommitOf(%q) = %q, want %q", in, got, want)
		}
	}
}
