package flux

import (
	"fmt"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// The engine's condition reasons this package reads (controllers/application
// writes them) and the Flux reason each becomes. A reason not listed is a
// failure of the reconcile as a whole: ReconciliationFailed.
var fluxReasons = map[string]string{
	"Synced":            meta.ReconciliationSucceededReason,
	"Progressing":       meta.ProgressingReason,
	"Deleting":          meta.ProgressingReason,
	"FetchFailed":       meta.ArtifactFailedReason,
	"CredentialsFailed": meta.ArtifactFailedReason,
	"RenderFailed":      meta.BuildFailedReason,
	"PruneFailed":       meta.PruneFailedReason,
	"HealthCheckFailed": meta.HealthCheckFailedReason,
}

// engineReasons is the reverse, for a status Flux (or Sluice) wrote: the
// engine reason that gives the same Flux reason back.
var engineReasons = map[string]string{
	meta.ReconciliationSucceededReason: "Synced",
	meta.ProgressingReason:             "Progressing",
	meta.ArtifactFailedReason:          "FetchFailed",
	meta.BuildFailedReason:             "RenderFailed",
	meta.PruneFailedReason:             "PruneFailed",
	meta.HealthCheckFailedReason:       "HealthCheckFailed",
	meta.ReconciliationFailedReason:    "ApplyFailed",
}

// InvalidSpecReason is the reason of a Kustomization Sluice refuses (a
// field it does not serve, a path out of the repository): Stalled until
// the spec changes.
const InvalidSpecReason = "InvalidSpec"

// Revision is a commit in Flux's form: "<branch or tag>@sha1:<sha>", or
// "sha1:<sha>" for a commit reached by no named ref. ref is the ref the
// commit was resolved by (refs/heads/main, refs/tags/v1), or empty.
// It is what GitRepository's artifact.revision and Kustomization's
// lastAppliedRevision hold.
func Revision(ref, commit string) string {
	if commit == "" {
		return ""
	}
	name := ref
	for _, prefix := range []string{"refs/heads/", "refs/tags/"} {
		if strings.HasPrefix(ref, prefix) && !strings.HasSuffix(ref, "^{}") {
			name = strings.TrimPrefix(ref, prefix)
		}
	}
	if name == "" || name == "HEAD" {
		return "sha1:" + commit
	}
	return name + "@sha1:" + commit
}

// CommitOf is the SHA of a revision in Flux's form ("main@sha1:<sha>",
// "sha1:<sha>", or Flux's older "main/<sha>"), or of a bare SHA; "" when
// it holds none.
func CommitOf(revision string) string {
	if i := strings.LastIndex(revision, "sha1:"); i >= 0 {
		revision = revision[i+len("sha1:"):]
	} else if i := strings.LastIndex(revision, "/"); i >= 0 {
		revision = revision[i+1:]
	}
	if !fullSHA(revision) {
		return ""
	}
	return strings.ToLower(revision)
}

// revisionOf names commit as the GitRepository does: with the name of
// its artifact when that is the same commit, else with the ref spec.ref
// names (a semver range resolves to a tag only the artifact knows).
func revisionOf(repo *sourcev1.GitRepository, commit string) string {
	if commit == "" {
		return ""
	}
	if repo != nil && repo.Status.Artifact != nil && CommitOf(repo.Status.Artifact.Revision) == commit {
		return repo.Status.Artifact.Revision
	}
	ref := ""
	if repo != nil {
		if target, err := TargetRevision(repo); err == nil && strings.HasPrefix(target, "refs/") {
			ref = target
		}
	}
	return Revision(ref, commit)
}

// KustomizationStatus is the status Flux's kustomize-controller would write
// for ks after the reconcile whose result is app (the Application
// Application(ks, repo) returned, with the status the engine produced).
// Ready, Reconciling and Stalled follow the engine's conditions with
// Flux's reasons; Healthy is there when ks waits or checks health, as in
// Flux. A suspended Kustomization keeps the status it had, as in Flux.
func KustomizationStatus(ks *kustomizev1.Kustomization, repo *sourcev1.GitRepository, app *gitopsv1alpha1.Application) kustomizev1.KustomizationStatus {
	st := app.Status
	out := kustomizev1.KustomizationStatus{
		ObservedGeneration:    st.ObservedGeneration,
		LastAppliedRevision:   revisionOf(repo, lastApplied(st)),
		LastAttemptedRevision: revisionOf(repo, lastAttempted(st)),
	}
	out.LastHandledReconcileAt = st.LastHandledSyncRequest
	if len(st.Inventory) > 0 {
		out.Inventory = &kustomizev1.ResourceInventory{Entries: make([]kustomizev1.ResourceRef, 0, len(st.Inventory))}
		for _, ref := range st.Inventory {
			out.Inventory.Entries = append(out.Inventory.Entries, kustomizev1.ResourceRef{ID: inventoryID(ref), Version: ref.Version})
		}
	}

	ready := apimeta.FindStatusCondition(st.Conditions, "Ready")
	if ready == nil {
		return out
	}
	if ready.Reason == "Suspended" {
		// Flux leaves a suspended Kustomization's status as it was.
		return *ks.Status.DeepCopy()
	}
	reason := fluxReason(ready.Reason)
	status := ready.Status
	if reason == meta.ProgressingReason {
		// Flux's Ready is Unknown while it works, False once it failed.
		status = metav1.ConditionUnknown
	}
	setCondition(&out.Conditions, meta.ReadyCondition, status, reason, ready.Message, ready.LastTransitionTime, nil, ks.Generation)
	if c := apimeta.FindStatusCondition(st.Conditions, "Reconciling"); c != nil && c.Status == metav1.ConditionTrue {
		setCondition(&out.Conditions, meta.ReconcilingCondition, metav1.ConditionTrue, fluxReason(c.Reason), c.Message, c.LastTransitionTime, nil, ks.Generation)
	}
	if c := apimeta.FindStatusCondition(st.Conditions, "Stalled"); c != nil && c.Status == metav1.ConditionTrue {
		setCondition(&out.Conditions, meta.StalledCondition, metav1.ConditionTrue, fluxReason(c.Reason), c.Message, c.LastTransitionTime, nil, ks.Generation)
	}
	if ks.Spec.Wait || len(ks.Spec.HealthChecks) > 0 {
		switch reason {
		case meta.ReconciliationSucceededReason:
			setCondition(&out.Conditions, meta.HealthyCondition, metav1.ConditionTrue, meta.SucceededReason, "Health check passed", ready.LastTransitionTime, nil, ks.Generation)
		case meta.HealthCheckFailedReason:
			setCondition(&out.Conditions, meta.HealthyCondition, metav1.ConditionFalse, meta.HealthCheckFailedReason, ready.Message, ready.LastTransitionTime, nil, ks.Generation)
		case meta.ProgressingReason:
			setCondition(&out.Conditions, meta.HealthyCondition, metav1.ConditionUnknown, meta.ProgressingReason, ready.Message, ready.LastTransitionTime, nil, ks.Generation)
		}
	}
	return out
}

// NotReadyStatus is ks's status when the engine did not run: reason is
// Flux's (DependencyNotReady while a dependency is not ready,
// ArtifactFailed while the GitRepository is missing or not ready,
// InvalidSpec for a spec Sluice refuses), and stalled says whether only a
// change of the spec will help. What ks last applied stays in its status.
func NotReadyStatus(ks *kustomizev1.Kustomization, reason, message string, stalled bool, now metav1.Time) kustomizev1.KustomizationStatus {
	out := *ks.Status.DeepCopy()
	prev := apimeta.FindStatusCondition(out.Conditions, meta.ReadyCondition)
	var conds []metav1.Condition
	setCondition(&conds, meta.ReadyCondition, metav1.ConditionFalse, reason, message, now, prev, ks.Generation)
	if stalled {
		setCondition(&conds, meta.StalledCondition, metav1.ConditionTrue, reason, message, now,
			apimeta.FindStatusCondition(out.Conditions, meta.StalledCondition), ks.Generation)
	}
	if h := apimeta.FindStatusCondition(out.Conditions, meta.HealthyCondition); h != nil {
		conds = append(conds, *h)
	}
	out.Conditions = conds
	if value, ok := meta.ReconcileAnnotationValue(ks.Annotations); ok {
		out.LastHandledReconcileAt = value
	}
	return out
}

// EngineStatus is the Application status the engine resumes from for ks:
// what its Flux status says was applied (the inventory prune compares
// against, the commit synced, the last reconcile request handled), since
// the engine's own status is not stored for a Kustomization.
// KustomizationStatus of the result gives ks's status back.
func EngineStatus(ks *kustomizev1.Kustomization) (gitopsv1alpha1.ApplicationStatus, error) {
	in := ks.Status
	out := gitopsv1alpha1.ApplicationStatus{
		ObservedGeneration:     in.ObservedGeneration,
		LastHandledSyncRequest: in.LastHandledReconcileAt,
	}
	if in.Inventory != nil {
		for i, e := range in.Inventory.Entries {
			id, err := object.ParseObjMetadata(e.ID)
			if err != nil || id.Name == "" || id.GroupKind.Kind == "" {
				return out, fmt.Errorf("status.inventory.entries[%d].id %q: not <namespace>_<name>_<group>_<kind>", i, e.ID)
			}
			out.Inventory = append(out.Inventory, gitopsv1alpha1.ObjectRef{
				Group: id.GroupKind.Group, Version: e.Version, Kind: id.GroupKind.Kind, Namespace: id.Namespace, Name: id.Name,
			})
		}
	}
	applied, attempted := CommitOf(in.LastAppliedRevision), CommitOf(in.LastAttemptedRevision)
	ready := apimeta.FindStatusCondition(in.Conditions, meta.ReadyCondition)
	if applied != "" {
		entry := gitopsv1alpha1.SyncHistory{Revision: applied, Result: "Succeeded"}
		if ready != nil {
			entry.DeployedAt = ready.LastTransitionTime
		}
		out.History = append(out.History, entry)
		out.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: applied}
	}
	if attempted != "" && attempted != applied {
		// The last attempt, of another commit, did not succeed.
		entry := gitopsv1alpha1.SyncHistory{Revision: attempted, Result: "Failed"}
		if ready != nil {
			entry.DeployedAt, entry.Message = ready.LastTransitionTime, ready.Message
		}
		out.History = append([]gitopsv1alpha1.SyncHistory{entry}, out.History...)
		out.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusOutOfSync, Revision: attempted}
	}
	for _, c := range in.Conditions {
		switch c.Type {
		case meta.ReadyCondition, meta.ReconcilingCondition, meta.StalledCondition:
			c.Reason = engineReason(c.Reason)
			if c.Type == meta.ReadyCondition && c.Status == metav1.ConditionUnknown {
				c.Status = metav1.ConditionFalse
			}
			out.Conditions = append(out.Conditions, c)
		}
	}
	return out, nil
}

// lastApplied is the commit of the newest successful sync.
func lastApplied(st gitopsv1alpha1.ApplicationStatus) string {
	for _, h := range st.History {
		if h.Result == "Succeeded" {
			return h.Revision
		}
	}
	if st.Sync.Status == gitopsv1alpha1.SyncStatusSynced {
		return st.Sync.Revision
	}
	return ""
}

// lastAttempted is the commit of the newest sync, whatever its result.
func lastAttempted(st gitopsv1alpha1.ApplicationStatus) string {
	switch {
	case st.OperationState != nil && st.OperationState.Revision != "":
		return st.OperationState.Revision
	case len(st.History) > 0:
		return st.History[0].Revision
	}
	return st.Sync.Revision
}

// inventoryID is an object's id in Flux's inventory, as cli-utils writes
// it: <namespace>_<name>_<group>_<kind>.
func inventoryID(ref gitopsv1alpha1.ObjectRef) string {
	return object.ObjMetadata{Namespace: ref.Namespace, Name: ref.Name,
		GroupKind: schema.GroupKind{Group: ref.Group, Kind: ref.Kind}}.String()
}

func fluxReason(engine string) string {
	if r, ok := fluxReasons[engine]; ok {
		return r
	}
	if _, ok := engineReasons[engine]; ok || engine == InvalidSpecReason || engine == meta.DependencyNotReadyReason {
		// Already Flux's.
		return engine
	}
	return meta.ReconciliationFailedReason
}

func engineReason(flux string) string {
	if r, ok := engineReasons[flux]; ok {
		return r
	}
	return flux
}

// setCondition sets a condition of type typ, replacing one of that type.
// Its transition time is at's, the engine's condition it comes from, or
// the time of the previous one when the status is the same.
func setCondition(conds *[]metav1.Condition, typ string, status metav1.ConditionStatus, reason, message string, at metav1.Time, prev *metav1.Condition, generation int64) {
	c := metav1.Condition{Type: typ, Status: status, Reason: reason, Message: truncate(message), ObservedGeneration: generation, LastTransitionTime: at}
	if prev != nil && prev.Status == status && prev.Type == typ {
		c.LastTransitionTime = prev.LastTransitionTime
	}
	for i := range *conds {
		if (*conds)[i].Type == typ {
			(*conds)[i] = c
			return
		}
	}
	*conds = append(*conds, c)
}

// truncate bounds a message as Flux does (MaxConditionMessageLength).
func truncate(message string) string {
	if len(message) <= kustomizev1.MaxConditionMessageLength {
		return message
	}
	return message[:kustomizev1.MaxConditionMessageLength-3] + "..."
}
