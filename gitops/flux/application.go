// Package flux translates Flux's GitRepository (source.toolkit.fluxcd.io/v1)
// and Kustomization (kustomize.toolkit.fluxcd.io/v1) into the Application
// the sync engine runs, and the engine's result back into the status Flux
// writes, so that Flux's CLI, dashboards and dependsOn read Sluice's work as
// they read Flux's. It is pure: no client, no context, no logger. Every
// field Flux has is either served, ignored for a stated reason, or refused
// with an error naming it; docs/applications.md keeps the table.
package flux

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"strings"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// defaultBranch is the branch a GitRepository without a ref follows, as
// source-controller defaults it (not the remote's HEAD).
const defaultBranch = "master"

// maxTimeout is the longest spec.timeout an Application takes.
const maxTimeout = 30 * time.Minute

// Application is the Application the engine runs for ks, whose sourceRef
// is repo. It is built in memory for every reconcile and never stored.
// A field Flux has and Sluice does not serve is an error naming it.
func Application(ks *kustomizev1.Kustomization, repo *sourcev1.GitRepository) (*gitopsv1alpha1.Application, error) {
	if ks == nil || repo == nil {
		return nil, errors.New("a Kustomization and its GitRepository are both needed")
	}
	if err := refused(ks, repo); err != nil {
		return nil, err
	}
	target, err := TargetRevision(repo)
	if err != nil {
		return nil, err
	}
	dir, err := cleanPath(ks.Spec.Path)
	if err != nil {
		return nil, err
	}

	retry := ks.GetRetryInterval()
	factor := int64(1)
	timeout := min(ks.GetTimeout(), maxTimeout)
	app := &gitopsv1alpha1.Application{
		TypeMeta: metav1.TypeMeta{APIVersion: gitopsv1alpha1.GroupVersion.String(), Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              ks.Name,
			Namespace:         ks.Namespace,
			UID:               ks.UID,
			Generation:        ks.Generation,
			ResourceVersion:   ks.ResourceVersion,
			CreationTimestamp: ks.CreationTimestamp,
			DeletionTimestamp: ks.DeletionTimestamp,
			Labels:            maps.Clone(ks.Labels),
			Annotations:       maps.Clone(ks.Annotations),
		},
		Spec: gitopsv1alpha1.ApplicationSpec{
			Source: gitopsv1alpha1.ApplicationSource{
				RepoURL:        repo.Spec.URL,
				TargetRevision: target,
				Path:           dir,
				// Flux builds every manifest under the path when it has no
				// kustomization.yaml of its own.
				Directory: &gitopsv1alpha1.DirectorySource{Recurse: true},
			},
			Destination: gitopsv1alpha1.ApplicationDestination{Namespace: ks.Spec.TargetNamespace},
			SyncPolicy: &gitopsv1alpha1.SyncPolicy{
				// Flux has no manual mode, and corrects drift always.
				Automated: &gitopsv1alpha1.AutomatedSyncPolicy{Prune: ks.Spec.Prune, SelfHeal: true},
				// Flux retries a failure every retryInterval, forever.
				Retry: &gitopsv1alpha1.RetryStrategy{Limit: -1, Backoff: &gitopsv1alpha1.Backoff{
					Duration: &metav1.Duration{Duration: retry}, Factor: &factor, MaxDuration: &metav1.Duration{Duration: retry},
				}},
			},
			Interval:           repo.Spec.Interval,
			Timeout:            &metav1.Duration{Duration: timeout},
			Wait:               ks.Spec.Wait,
			Suspend:            ks.Spec.Suspend,
			ServiceAccountName: ks.Spec.ServiceAccountName,
		},
	}
	if ks.Spec.Force {
		app.Spec.SyncPolicy.SyncOptions = []string{"Force=true"}
	}
	if repo.Spec.SecretRef != nil {
		app.Spec.SecretRef = &corev1.LocalObjectReference{Name: repo.Spec.SecretRef.Name}
	}
	if value, ok := meta.ReconcileAnnotationValue(ks.Annotations); ok {
		if app.Annotations == nil {
			app.Annotations = map[string]string{}
		}
		app.Annotations[gitopsv1alpha1.SyncRequestAnnotation] = value
	}

	kustomize, err := kustomizeOf(ks)
	if err != nil {
		return nil, err
	}
	app.Spec.Source.Kustomize = kustomize
	if pb := ks.Spec.PostBuild; pb != nil && (len(pb.Substitute) > 0 || len(pb.SubstituteFrom) > 0) {
		app.Spec.PostBuild = &gitopsv1alpha1.PostBuild{Substitute: maps.Clone(pb.Substitute)}
		for _, from := range pb.SubstituteFrom {
			app.Spec.PostBuild.SubstituteFrom = append(app.Spec.PostBuild.SubstituteFrom,
				gitopsv1alpha1.SubstituteReference{Kind: from.Kind, Name: from.Name, Optional: from.Optional})
		}
	}
	if d := ks.Spec.Decryption; d != nil {
		app.Spec.Decryption = &gitopsv1alpha1.Decryption{Provider: d.Provider,
			SecretRef: &corev1.LocalObjectReference{Name: d.SecretRef.Name}}
	}
	for _, hc := range ks.Spec.HealthChecks {
		app.Spec.HealthChecks = append(app.Spec.HealthChecks, gitopsv1alpha1.HealthCheckRef{
			APIVersion: hc.APIVersion, Kind: hc.Kind, Name: hc.Name, Namespace: hc.Namespace,
		})
	}
	return app, nil
}

// kustomizeOf is the render options of ks's kustomize fields, nil when it
// has none.
func kustomizeOf(ks *kustomizev1.Kustomization) (*gitopsv1alpha1.KustomizeSource, error) {
	k := gitopsv1alpha1.KustomizeSource{
		Namespace:  ks.Spec.TargetNamespace,
		NamePrefix: ks.Spec.NamePrefix,
		NameSuffix: ks.Spec.NameSuffix,
	}
	if cm := ks.Spec.CommonMetadata; cm != nil {
		k.CommonAnnotations = maps.Clone(cm.Annotations)
	}
	for i, img := range ks.Spec.Images {
		s, err := imageString(img.Name, img.NewName, img.NewTag, img.Digest)
		if err != nil {
			return nil, fmt.Errorf("spec.images[%d]: %w", i, err)
		}
		k.Images = append(k.Images, s)
	}
	for i, p := range ks.Spec.Patches {
		if strings.TrimSpace(p.Patch) == "" {
			return nil, fmt.Errorf("spec.patches[%d].patch: empty", i)
		}
		patch := gitopsv1alpha1.KustomizePatch{Patch: p.Patch}
		if t := p.Target; t != nil {
			patch.Target = &gitopsv1alpha1.KustomizeSelector{
				Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name, Namespace: t.Namespace,
				LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector,
			}
		}
		k.Patches = append(k.Patches, patch)
	}
	if k.Namespace == "" && k.NamePrefix == "" && k.NameSuffix == "" && len(k.CommonAnnotations) == 0 &&
		len(k.Images) == 0 && len(k.Patches) == 0 {
		return nil, nil
	}
	return &k, nil
}

// imageString writes one of Flux's images entries in the form the engine
// takes, `kustomize edit set image`'s: name[=newName][:newTag|@digest]. A
// digest wins over a tag, as kustomize lets it.
func imageString(name, newName, newTag, digest string) (string, error) {
	if name == "" {
		return "", errors.New("name is empty")
	}
	for field, v := range map[string]string{"name": name, "newName": newName, "newTag": newTag, "digest": digest} {
		if strings.ContainsAny(v, "= \t\n") {
			return "", fmt.Errorf("%s %q: has a space or '='", field, v)
		}
	}
	if strings.Contains(newTag, "@") || strings.Contains(newTag, ":") || strings.Contains(newTag, "/") {
		return "", fmt.Errorf("newTag %q: not a tag", newTag)
	}
	s := name
	if newName != "" {
		s += "=" + newName
	} else if digest == "" && newTag == "" {
		// A lone name changes nothing.
		return s, nil
	}
	switch {
	case digest != "":
		s += "@" + digest
	case newTag != "":
		s += ":" + newTag
	}
	return s, nil
}

// cleanPath is Flux's spec.path, relative to the repository's root
// ("./deploy", "deploy" and "/deploy" alike), as the engine takes it: ""
// for the root.
func cleanPath(p string) (string, error) {
	for _, elem := range strings.Split(p, "/") {
		if elem == ".." {
			return "", fmt.Errorf("spec.path %q: leaves its directory with ..; name the path from the repository's root", p)
		}
	}
	return strings.TrimPrefix(path.Clean("/"+strings.TrimSpace(p)), "/"), nil
}

// TargetRevision is the engine's targetRevision for a GitRepository's ref,
// in Flux's order of precedence: commit (a full SHA), name (a full ref),
// semver (a range of tags), tag, branch; a GitRepository without a ref
// follows the master branch, as source-controller's default. A suspended
// GitRepository with an artifact stays at its commit.
func TargetRevision(repo *sourcev1.GitRepository) (string, error) {
	if repo.Spec.Suspend && repo.Status.Artifact != nil {
		if sha := CommitOf(repo.Status.Artifact.Revision); sha != "" {
			return sha, nil
		}
	}
	ref := repo.Spec.Reference
	if ref == nil {
		ref = &sourcev1.GitRepositoryRef{}
	}
	switch {
	case ref.Commit != "":
		if !fullSHA(ref.Commit) {
			return "", fmt.Errorf("GitRepository spec.ref.commit %q: not a full 40-character SHA-1", ref.Commit)
		}
		return strings.ToLower(ref.Commit), nil
	case ref.Name != "":
		if !strings.HasPrefix(ref.Name, "refs/") {
			return "", fmt.Errorf("GitRepository spec.ref.name %q: not a full ref (refs/...)", ref.Name)
		}
		return ref.Name, nil
	case ref.SemVer != "":
		return ref.SemVer, nil
	case ref.Tag != "":
		return "refs/tags/" + ref.Tag, nil
	case ref.Branch != "":
		return "refs/heads/" + ref.Branch, nil
	}
	return "refs/heads/" + defaultBranch, nil
}

func fullSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
