package flux

import (
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222"
)

var t0 = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

// ks builds the seed's Kustomization: my-app in flux-system, every 5m,
// ./deploy, prune, from GitRepository my-app.
type ksBuilder struct{ kustomizev1.Kustomization }

func newKS() *ksBuilder {
	b := &ksBuilder{kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "my-app", Namespace: "flux-system", UID: "uid-1", Generation: 3},
		Spec: kustomizev1.KustomizationSpec{
			Interval:  metav1.Duration{Duration: 5 * time.Minute},
			Path:      "./deploy",
			Prune:     true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "my-app"},
		},
	}}
	return b
}

func (b *ksBuilder) with(f func(*kustomizev1.KustomizationSpec)) *ksBuilder {
	f(&b.Spec)
	return b
}

func (b *ksBuilder) annotate(k, v string) *ksBuilder {
	if b.Annotations == nil {
		b.Annotations = map[string]string{}
	}
	b.Annotations[k] = v
	return b
}

func (b *ksBuilder) status(f func(*kustomizev1.KustomizationStatus)) *ksBuilder {
	f(&b.Status)
	return b
}

func (b *ksBuilder) obj() *kustomizev1.Kustomization { return b.DeepCopy() }

type repoBuilder struct{ sourcev1.GitRepository }

// newRepo builds the seed's GitRepository: my-app, every 1m, branch main.
func newRepo() *repoBuilder {
	return &repoBuilder{sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "my-app", Namespace: "flux-system", Generation: 1},
		Spec: sourcev1.GitRepositorySpec{
			URL:       "https://github.com/org/my-app",
			Interval:  metav1.Duration{Duration: time.Minute},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
		},
	}}
}

func (b *repoBuilder) with(f func(*sourcev1.GitRepositorySpec)) *repoBuilder {
	f(&b.Spec)
	return b
}

func (b *repoBuilder) ref(r *sourcev1.GitRepositoryRef) *repoBuilder {
	b.Spec.Reference = r
	return b
}

func (b *repoBuilder) artifact(revision string) *repoBuilder {
	b.Status.Artifact = &meta.Artifact{Revision: revision, LastUpdateTime: t0}
	return b
}

func (b *repoBuilder) obj() *sourcev1.GitRepository { return b.DeepCopy() }

// wantApp is the Application the seed's pair translates into; cases change
// what they test.
func wantApp(f func(*gitopsv1alpha1.Application)) *gitopsv1alpha1.Application {
	factor := int64(1)
	app := &gitopsv1alpha1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gitops.sluice.dev/v1alpha1", Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Name: "my-app", Namespace: "flux-system", UID: "uid-1", Generation: 3},
		Spec: gitopsv1alpha1.ApplicationSpec{
			Source: gitopsv1alpha1.ApplicationSource{
				RepoURL:        "https://github.com/org/my-app",
				TargetRevision: "refs/heads/main",
				Path:           "deploy",
				Directory:      &gitopsv1alpha1.DirectorySource{Recurse: true},
			},
			SyncPolicy: &gitopsv1alpha1.SyncPolicy{
				Automated: &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true},
				Retry: &gitopsv1alpha1.RetryStrategy{Limit: -1, Backoff: &gitopsv1alpha1.Backoff{
					Duration: &metav1.Duration{Duration: 5 * time.Minute}, Factor: &factor, MaxDuration: &metav1.Duration{Duration: 5 * time.Minute},
				}},
			},
			Interval: metav1.Duration{Duration: time.Minute},
			// Flux's default: the interval less 30s.
			Timeout: &metav1.Duration{Duration: 4*time.Minute + 30*time.Second},
		},
	}
	if f != nil {
		f(app)
	}
	return app
}

func secretRef(name string) *corev1.LocalObjectReference {
	return &corev1.LocalObjectReference{Name: name}
}
