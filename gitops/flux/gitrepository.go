package flux

import (
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GitRepositoryStatus is repo's status once its ref resolved to commit
// through ref (refs/heads/main; empty for a commit no ref names), at now:
// Ready=True (Succeeded), no Reconciling or Stalled, artifact.revision in
// Flux's form, and the generation and reconcile request it handled. The
// artifact's url and path are empty, as Sluice serves no tarballs (the
// Kustomizations that use the repository fetch the commit themselves), and
// its digest, which the CRD requires, is the commit's: sha1:<sha>.
// The artifact's time and the conditions' keep their time when nothing
// changed, so a poll that finds the same commit writes nothing.
func GitRepositoryStatus(repo *sourcev1.GitRepository, ref, commit string, now metav1.Time) sourcev1.GitRepositoryStatus {
	out := sourcev1.GitRepositoryStatus{ObservedGeneration: repo.Generation}
	revision := Revision(ref, commit)
	artifact := &meta.Artifact{Revision: revision, Digest: "sha1:" + commit, LastUpdateTime: now}
	if prev := repo.Status.Artifact; prev != nil && prev.Revision == revision {
		artifact.LastUpdateTime = prev.LastUpdateTime
	}
	out.Artifact = artifact
	setCondition(&out.Conditions, meta.ReadyCondition, metav1.ConditionTrue, meta.SucceededReason,
		fmt.Sprintf("stored artifact for revision '%s'", revision), now,
		apimeta.FindStatusCondition(repo.Status.Conditions, meta.ReadyCondition), repo.Generation)
	out.LastHandledReconcileAt = handledRequest(repo)
	return out
}

// GitRepositoryFailure is repo's status when resolving its ref failed (the
// remote unreachable, credentials refused, no such branch): Ready=False
// with GitOperationFailed, or with reason when given (InvalidSpec for a
// field Sluice does not serve, which is also Stalled). The artifact of the
// last success stays, as Flux keeps it, and the generation observed is the
// last that succeeded.
func GitRepositoryFailure(repo *sourcev1.GitRepository, reason, message string, stalled bool, now metav1.Time) sourcev1.GitRepositoryStatus {
	if reason == "" {
		reason = sourcev1.GitOperationFailedReason
	}
	out := sourcev1.GitRepositoryStatus{ObservedGeneration: repo.Status.ObservedGeneration, Artifact: repo.Status.Artifact.DeepCopy()}
	setCondition(&out.Conditions, meta.ReadyCondition, metav1.ConditionFalse, reason, message, now,
		apimeta.FindStatusCondition(repo.Status.Conditions, meta.ReadyCondition), repo.Generation)
	if stalled {
		setCondition(&out.Conditions, meta.StalledCondition, metav1.ConditionTrue, reason, message, now,
			apimeta.FindStatusCondition(repo.Status.Conditions, meta.StalledCondition), repo.Generation)
	}
	out.LastHandledReconcileAt = handledRequest(repo)
	return out
}

// GitRepositoryServed returns the first field of repo Sluice does not
// serve, as an error naming it; nil when every field is served.
func GitRepositoryServed(repo *sourcev1.GitRepository) error {
	if err := refusedSource(repo); err != nil {
		return err
	}
	_, err := TargetRevision(repo)
	return err
}

func handledRequest(repo *sourcev1.GitRepository) string {
	if value, ok := meta.ReconcileAnnotationValue(repo.Annotations); ok {
		return value
	}
	return repo.Status.LastHandledReconcileAt
}
