package flux

import (
	"errors"
	"strings"
	"testing"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func TestApplication(t *testing.T) {
	cases := map[string]struct {
		reason string
		ks     *kustomizev1.Kustomization
		repo   *sourcev1.GitRepository
		want   *gitopsv1alpha1.Application
	}{
		"seed": {
			reason: "the seed's pair: branch main, ./deploy, prune; automated sync with self-heal, retried every interval forever",
			ks:     newKS().obj(), repo: newRepo().obj(), want: wantApp(nil),
		},
		"path root": {
			reason: "an empty path is the repository's root",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Path = "" }).obj(), repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) { a.Spec.Source.Path = "" }),
		},
		"path dot slash": {
			reason: "./ is the root too",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Path = "./" }).obj(), repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) { a.Spec.Source.Path = "" }),
		},
		"path nested, no dot": {
			reason: "a path without ./ is from the root as well, cleaned",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Path = "apps//production/" }).obj(), repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) { a.Spec.Source.Path = "apps/production" }),
		},
		"no prune": {
			reason: "prune: false keeps what left Git; sync stays automated with self-heal",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Prune = false }).obj(), repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) { a.Spec.SyncPolicy.Automated.Prune = false }),
		},
		"decryption": {
			reason: "SOPS with the keys of a Secret of the Kustomization's namespace: the engine's spec.decryption",
			ks: newKS().with(func(s *kustomizev1.KustomizationSpec) {
				s.Decryption = &kustomizev1.Decryption{Provider: "sops", SecretRef: &meta.LocalObjectReference{Name: "sops-age"}}
			}).obj(), repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Spec.Decryption = &gitopsv1alpha1.Decryption{Provider: "sops", SecretRef: &corev1.LocalObjectReference{Name: "sops-age"}}
			}),
		},
		"timing": {
			reason: "timeout, retryInterval, wait and suspend carry over; the repository's interval is how often the remote is asked",
			ks: newKS().with(func(s *kustomizev1.KustomizationSpec) {
				s.Timeout = &metav1.Duration{Duration: 2 * time.Minute}
				s.RetryInterval = &metav1.Duration{Duration: 30 * time.Second}
				s.Wait, s.Suspend = true, true
			}).obj(),
			repo: newRepo().with(func(s *sourcev1.GitRepositorySpec) { s.Interval = metav1.Duration{Duration: 10 * time.Minute} }).obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Minute}
				b := a.Spec.SyncPolicy.Retry.Backoff
				b.Duration, b.MaxDuration = &metav1.Duration{Duration: 30 * time.Second}, &metav1.Duration{Duration: 30 * time.Second}
				a.Spec.Wait, a.Spec.Suspend = true, true
				a.Spec.Interval = metav1.Duration{Duration: 10 * time.Minute}
			}),
		},
		"short interval": {
			reason: "Flux's timeout is never under 30s, however short the interval",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Interval = metav1.Duration{Duration: 10 * time.Second} }).obj(),
			repo:   newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Spec.Timeout = &metav1.Duration{Duration: 30 * time.Second}
				b := a.Spec.SyncPolicy.Retry.Backoff
				b.Duration, b.MaxDuration = &metav1.Duration{Duration: 10 * time.Second}, &metav1.Duration{Duration: 10 * time.Second}
			}),
		},
		"long timeout": {
			reason: "a timeout over an Application's 30m is held to it",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.Timeout = &metav1.Duration{Duration: time.Hour} }).obj(),
			repo:   newRepo().obj(),
			want:   wantApp(func(a *gitopsv1alpha1.Application) { a.Spec.Timeout = &metav1.Duration{Duration: 30 * time.Minute} }),
		},
		"credentials and account": {
			reason: "the repository's secretRef is the Application's; serviceAccountName is who applies",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.ServiceAccountName = "deployer" }).obj(),
			repo:   newRepo().with(func(s *sourcev1.GitRepositorySpec) { s.SecretRef = &meta.LocalObjectReference{Name: "git-auth"} }).obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Spec.SecretRef = secretRef("git-auth")
				a.Spec.ServiceAccountName = "deployer"
			}),
		},
		"target namespace": {
			reason: "targetNamespace sets every namespaced object's namespace (kustomize) and is the destination",
			ks:     newKS().with(func(s *kustomizev1.KustomizationSpec) { s.TargetNamespace = "production" }).obj(), repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Spec.Destination.Namespace = "production"
				a.Spec.Source.Kustomize = &gitopsv1alpha1.KustomizeSource{Namespace: "production"}
			}),
		},
		"kustomize fields": {
			reason: "namePrefix, nameSuffix, commonMetadata.annotations, images and patches go to the kustomize options",
			ks: newKS().with(func(s *kustomizev1.KustomizationSpec) {
				s.NamePrefix, s.NameSuffix = "pre-", "-suf"
				s.CommonMetadata = &kustomizev1.CommonMetadata{Annotations: map[string]string{"team": "web"}}
				s.Images = []kustomize.Image{
					{Name: "nginx", NewTag: "1.27"},
					{Name: "app", NewName: "ghcr.io/org/app", NewTag: "v2"},
					{Name: "db", NewName: "ghcr.io/org/db"},
					{Name: "cache", Digest: "sha256:abc"},
					{Name: "queue", NewName: "ghcr.io/org/queue", NewTag: "ignored", Digest: "sha256:def"},
					{Name: "registry:5000/plain"},
				}
				s.Patches = []kustomize.Patch{
					{Patch: "- op: replace\n  path: /spec/replicas\n  value: 2\n", Target: &kustomize.Selector{
						Group: "apps", Version: "v1", Kind: "Deployment", Name: "web", Namespace: "prod", LabelSelector: "a=b", AnnotationSelector: "c=d"}},
					{Patch: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"},
				}
			}).obj(),
			repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Spec.Source.Kustomize = &gitopsv1alpha1.KustomizeSource{
					NamePrefix: "pre-", NameSuffix: "-suf",
					CommonAnnotations: map[string]string{"team": "web"},
					Images: []string{"nginx:1.27", "app=ghcr.io/org/app:v2", "db=ghcr.io/org/db", "cache@sha256:abc",
						"queue=ghcr.io/org/queue@sha256:def", "registry:5000/plain"},
					Patches: []gitopsv1alpha1.KustomizePatch{
						{Patch: "- op: replace\n  path: /spec/replicas\n  value: 2\n", Target: &gitopsv1alpha1.KustomizeSelector{
							Group: "apps", Version: "v1", Kind: "Deployment", Name: "web", Namespace: "prod", LabelSelector: "a=b", AnnotationSelector: "c=d"}},
						{Patch: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"},
					},
				}
			}),
		},
		"post build": {
			reason: "substitute and substituteFrom carry over; WithVariables is the default strategy",
			ks: newKS().with(func(s *kustomizev1.KustomizationSpec) {
				s.PostBuild = &kustomizev1.PostBuild{
					SubstituteStrategy: kustomizev1.SubstituteStrategyWithVariables,
					Substitute:         map[string]string{"cluster": "prod"},
					SubstituteFrom:     []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: "vars"}, {Kind: "Secret", Name: "secret-vars", Optional: true}},
				}
			}).obj(),
			repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Spec.PostBuild = &gitopsv1alpha1.PostBuild{
					Substitute:     map[string]string{"cluster": "prod"},
					SubstituteFrom: []gitopsv1alpha1.SubstituteReference{{Kind: "ConfigMap", Name: "vars"}, {Kind: "Secret", Name: "secret-vars", Optional: true}},
				}
			}),
		},
		"health checks and force": {
			reason: "healthChecks count in the health; force recreates what an apply cannot change",
			ks: newKS().with(func(s *kustomizev1.KustomizationSpec) {
				s.HealthChecks = []meta.NamespacedObjectKindReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Namespace: "prod"}}
				s.Force = true
			}).obj(),
			repo: newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Spec.HealthChecks = []gitopsv1alpha1.HealthCheckRef{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Namespace: "prod"}}
				a.Spec.SyncPolicy.SyncOptions = []string{"Force=true"}
			}),
		},
		"reconcile request": {
			reason: "flux reconcile's requestedAt becomes a sync request of the same value; the rest of the metadata carries over",
			ks:     newKS().annotate(meta.ReconcileRequestAnnotation, "2026-01-02T03:04:05Z").annotate("owner", "web").obj(),
			repo:   newRepo().obj(),
			want: wantApp(func(a *gitopsv1alpha1.Application) {
				a.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "2026-01-02T03:04:05Z", "owner": "web",
					gitopsv1alpha1.SyncRequestAnnotation: "2026-01-02T03:04:05Z"}
			}),
		},
		"source ref in the same namespace, named": {
			reason: "naming the Kustomization's own namespace and the v1 API is the same as naming neither",
			ks: newKS().with(func(s *kustomizev1.KustomizationSpec) {
				s.SourceRef.Namespace, s.SourceRef.APIVersion = "flux-system", "source.toolkit.fluxcd.io/v1"
			}).obj(),
			repo: newRepo().obj(), want: wantApp(nil),
		},
		"generic provider": {
			reason: "provider generic is the default: credentials from secretRef",
			ks:     newKS().obj(), repo: newRepo().with(func(s *sourcev1.GitRepositorySpec) { s.Provider = "generic" }).obj(),
			want: wantApp(nil),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Application(tc.ks, tc.repo)
			if err != nil {
				t.Fatalf("%s: unexpected error: %v", tc.reason, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestTargetRevision(t *testing.T) {
	cases := map[string]struct {
		reason string
		repo   *sourcev1.GitRepository
		want   string
		err    string
	}{
		"branch":                 {reason: "a branch, as a full ref so a tag of the same name cannot win", repo: newRepo().obj(), want: "refs/heads/main"},
		"tag":                    {reason: "a tag", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Tag: "v1.2.0"}).obj(), want: "refs/tags/v1.2.0"},
		"semver":                 {reason: "a range, which Sluice resolves to the highest tag", repo: newRepo().ref(&sourcev1.GitRepositoryRef{SemVer: ">=1.0.0 <2"}).obj(), want: ">=1.0.0 <2"},
		"name":                   {reason: "a full ref as it is", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Name: "refs/pull/42/head"}).obj(), want: "refs/pull/42/head"},
		"commit":                 {reason: "a commit, in lower case", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Commit: strings.ToUpper(sha1)}).obj(), want: sha1},
		"no ref":                 {reason: "Flux's default is the master branch, not the remote's HEAD", repo: newRepo().ref(nil).obj(), want: "refs/heads/master"},
		"empty ref":              {reason: "an empty ref is no ref", repo: newRepo().ref(&sourcev1.GitRepositoryRef{}).obj(), want: "refs/heads/master"},
		"precedence":             {reason: "commit wins over name, semver, tag and branch, as in Flux", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Branch: "main", Tag: "v1", SemVer: "1.x", Name: "refs/heads/x", Commit: sha2}).obj(), want: sha2},
		"name first":             {reason: "name wins over semver, tag and branch", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Branch: "main", Tag: "v1", SemVer: "1.x", Name: "refs/heads/x"}).obj(), want: "refs/heads/x"},
		"semver next":            {reason: "semver wins over tag and branch", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Branch: "main", Tag: "v1", SemVer: "1.x"}).obj(), want: "1.x"},
		"tag next":               {reason: "tag wins over branch", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Branch: "main", Tag: "v1"}).obj(), want: "refs/tags/v1"},
		"suspended":              {reason: "a suspended repository stays at its artifact's commit", repo: newRepo().with(func(s *sourcev1.GitRepositorySpec) { s.Suspend = true }).artifact("main@sha1:" + sha1).obj(), want: sha1},
		"suspended, no artifact": {reason: "with no artifact yet, the ref", repo: newRepo().with(func(s *sourcev1.GitRepositorySpec) { s.Suspend = true }).obj(), want: "refs/heads/main"},
		"short commit": {reason: "a short SHA cannot be asked of the remote", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Commit: "abc123"}).obj(),
			err: `GitRepository spec.ref.commit "abc123": not a full 40-character SHA-1`},
		"short name": {reason: "a name that is not a full ref", repo: newRepo().ref(&sourcev1.GitRepositoryRef{Name: "main"}).obj(),
			err: `GitRepository spec.ref.name "main": not a full ref (refs/...)`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := TargetRevision(tc.repo)
			if diff := cmp.Diff(tc.err, errString(err)); diff != "" {
				t.Fatalf("%s: error (-want +got):\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestApplicationRefused(t *testing.T) {
	ks := func(f func(*kustomizev1.KustomizationSpec)) *kustomizev1.Kustomization { return newKS().with(f).obj() }
	repo := func(f func(*sourcev1.GitRepositorySpec)) *sourcev1.GitRepository { return newRepo().with(f).obj() }
	none := func(*kustomizev1.KustomizationSpec) {}
	cases := map[string]struct {
		reason    string
		ks        *kustomizev1.Kustomization
		repo      *sourcev1.GitRepository
		err       string
		notServed bool
	}{
		"bucket": {reason: "only GitRepository sources", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Kind = "Bucket" }),
			err: `spec.sourceRef.kind: not served by Sluice: "Bucket"; only GitRepository is`, notServed: true},
		"oci": {reason: "OCIRepository neither", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Kind = "OCIRepository" }),
			err: `spec.sourceRef.kind: not served by Sluice: "OCIRepository"; only GitRepository is`, notServed: true},
		"old api": {reason: "v1 only", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.SourceRef.APIVersion = "source.toolkit.fluxcd.io/v1beta2" }),
			err: `spec.sourceRef.apiVersion: not served by Sluice: "source.toolkit.fluxcd.io/v1beta2"; only source.toolkit.fluxcd.io/v1 is`, notServed: true},
		"cross namespace": {reason: "the Secret would be read in the wrong namespace", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Namespace = "other" }),
			err: "spec.sourceRef.namespace: not served by Sluice: a GitRepository of another namespace (its Secret would be read in the Kustomization's)", notServed: true},
		"wrong repository": {reason: "the caller passed another GitRepository than sourceRef names", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Name = "other" }),
			err: "spec.sourceRef names GitRepository other, not flux-system/my-app"},
		"common labels": {reason: "Sluice's commonLabels change selectors, Flux's do not", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.CommonMetadata = &kustomizev1.CommonMetadata{Labels: map[string]string{"team": "web"}}
		}), err: "spec.commonMetadata.labels: not served by Sluice: Sluice's commonLabels also change selectors, which Flux's do not", notServed: true},
		"decryption without a Secret": {reason: "keys come from a Secret, never the manager's own", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.Decryption = &kustomizev1.Decryption{Provider: "sops"}
		}), err: "spec.decryption without secretRef: not served by Sluice: keys come from a Secret of the Kustomization's namespace only, never the manager's", notServed: true},
		"kubeconfig from a ConfigMap": {reason: "a provider's workload identity acts as the manager: a kubeconfig Secret only", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.KubeConfig = &meta.KubeConfigReference{ConfigMapRef: &meta.LocalObjectReference{Name: "remote"}}
		}), err: "spec.kubeConfig.configMapRef: not served by Sluice: a remote cluster is reached with a kubeconfig Secret (secretRef) only", notServed: true},
		"substitute always": {reason: "only the default strategy", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.PostBuild = &kustomizev1.PostBuild{SubstituteStrategy: kustomizev1.SubstituteStrategyAlways}
		}), err: `spec.postBuild.substituteStrategy: not served by Sluice: "Always"; only WithVariables is`, notServed: true},
		"deletion policy": {reason: "only the default", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.DeletionPolicy = kustomizev1.DeletionPolicyOrphan }),
			err: `spec.deletionPolicy: not served by Sluice: "Orphan"; only MirrorPrune (the default) is`, notServed: true},
		"build metadata": {reason: "no origin annotations", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.BuildMetadata = []kustomizev1.BuildMetadataOption{kustomizev1.BuildMetadataOriginAnnotations}
		}), err: "spec.buildMetadata: not served by Sluice: origin and transformer annotations", notServed: true},
		"components": {reason: "no components", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.Components = []string{"../c"} }),
			err: "spec.components: not served by Sluice: kustomize components", notServed: true},
		"cel health": {reason: "no CEL", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.HealthCheckExprs = []kustomize.CustomHealthCheck{{APIVersion: "v1", Kind: "X"}}
		}), err: "spec.healthCheckExprs: not served by Sluice: CEL health checks; kstatus and Sluice's built-in checks read every kind", notServed: true},
		"ignore rules": {reason: "no ignore rules", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.Ignore = []kustomizev1.IgnoreRule{{Paths: []string{"/spec/replicas"}}}
		}),
			err: "spec.ignore: not served by Sluice: ignore rules; an Application's ignoreDifferences is the equivalent", notServed: true},
		"ready expr": {reason: "no CEL in dependsOn", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.DependsOn = []kustomizev1.DependencyReference{{Name: "a"}, {Name: "b", ReadyExpr: "true"}}
		}), err: "spec.dependsOn[1].readyExpr: not served by Sluice: CEL readiness expressions", notServed: true},
		"path out": {reason: ".. could leave the repository", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.Path = "./apps/../../etc" }),
			err: `spec.path "./apps/../../etc": leaves its directory with ..; name the path from the repository's root`},
		"image without name": {reason: "an image entry names the image", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.Images = []kustomize.Image{{NewTag: "v1"}} }),
			err: "spec.images[0]: name is empty"},
		"image tag with a colon": {reason: "a tag with a colon would read as another image", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.Images = []kustomize.Image{{Name: "a", NewTag: "x:y"}}
		}), err: `spec.images[0]: newTag "x:y": not a tag`},
		"image with =": {reason: "= separates the name from the new name", ks: ks(func(s *kustomizev1.KustomizationSpec) {
			s.Images = []kustomize.Image{{Name: "a=b"}}
		}), err: `spec.images[0]: name "a=b": has a space or '='`},
		"empty patch": {reason: "a patch with no text", ks: ks(func(s *kustomizev1.KustomizationSpec) { s.Patches = []kustomize.Patch{{Patch: " \n"}} }),
			err: "spec.patches[0].patch: empty"},
		"provider": {reason: "only generic credentials", ks: ks(none), repo: repo(func(s *sourcev1.GitRepositorySpec) { s.Provider = "github" }),
			err: `GitRepository spec.provider: not served by Sluice: "github"; only generic (credentials from secretRef) is`, notServed: true},
		"repo service account": {reason: "workload identity", ks: ks(none), repo: repo(func(s *sourcev1.GitRepositorySpec) { s.ServiceAccountName = "git" }),
			err: "GitRepository spec.serviceAccountName: not served by Sluice: workload identity of a provider", notServed: true},
		"verify": {reason: "no signature verification", ks: ks(none), repo: repo(func(s *sourcev1.GitRepositorySpec) {
			s.Verification = &sourcev1.GitRepositoryVerification{Mode: sourcev1.ModeGitHEAD, SecretRef: meta.LocalObjectReference{Name: "keys"}}
		}), err: "GitRepository spec.verify: not served by Sluice: commit and tag signature verification", notServed: true},
		"proxy": {reason: "no proxy", ks: ks(none), repo: repo(func(s *sourcev1.GitRepositorySpec) { s.ProxySecretRef = &meta.LocalObjectReference{Name: "p"} }),
			err: "GitRepository spec.proxySecretRef: not served by Sluice: a proxy for Git", notServed: true},
		"source ignore": {reason: "no .sourceignore", ks: ks(none), repo: repo(func(s *sourcev1.GitRepositorySpec) { i := "/*\n!/deploy\n"; s.Ignore = &i }),
			err: "GitRepository spec.ignore: not served by Sluice: .sourceignore patterns; an Application's directory.exclude is the nearest", notServed: true},
		"submodules": {reason: "no submodules", ks: ks(none), repo: repo(func(s *sourcev1.GitRepositorySpec) { s.RecurseSubmodules = true }),
			err: "GitRepository spec.recurseSubmodules: not served by Sluice: submodules", notServed: true},
		"include": {reason: "no includes", ks: ks(none), repo: repo(func(s *sourcev1.GitRepositorySpec) {
			s.Include = []sourcev1.GitRepositoryInclude{{GitRepositoryRef: meta.LocalObjectReference{Name: "other"}}}
		}), err: "GitRepository spec.include: not served by Sluice: including other GitRepositories", notServed: true},
		"sparse": {reason: "no sparse checkout", ks: ks(none), repo: repo(func(s *sourcev1.GitRepositorySpec) { s.SparseCheckout = []string{"deploy"} }),
			err: "GitRepository spec.sparseCheckout: not served by Sluice: sparse checkouts", notServed: true},
		"bad commit": {reason: "the ref's error names the field", ks: ks(none), repo: newRepo().ref(&sourcev1.GitRepositoryRef{Commit: "main"}).obj(),
			err: `GitRepository spec.ref.commit "main": not a full 40-character SHA-1`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := tc.repo
			if r == nil {
				r = newRepo().obj()
			}
			app, err := Application(tc.ks, r)
			if diff := cmp.Diff(tc.err, errString(err)); diff != "" {
				t.Fatalf("%s: error (-want +got):\n%s", tc.reason, diff)
			}
			if app != nil {
				t.Errorf("%s: an Application with the error", tc.reason)
			}
			if got := errors.Is(err, ErrNotServed); got != tc.notServed {
				t.Errorf("%s: errors.Is(err, ErrNotServed) = %v", tc.reason, got)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
