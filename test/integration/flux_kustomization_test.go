package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/controllers/fluxsource"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/decrypt/sopstest"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Flux's own GitRepository and Kustomization, served by the Application
// engine: the seed's YAML as written, and what Flux's users rely on.
var _ = Describe("Flux's Kustomization kind", Ordered, func() {
	var server *gitserver.Server

	BeforeAll(func() {
		server = startGitServer()
		startController("", func(mgr ctrl.Manager) error {
			if err := fluxsource.Setup(mgr, instance.Scope{}); err != nil {
				return err
			}
			return application.Setup(mgr, application.Options{Kustomizations: true, CacheDir: GinkgoT().TempDir()})
		})
	})

	kustomizationOf := func(ctx context.Context, key client.ObjectKey) func(Gomega) *kustomizev1.Kustomization {
		return func(g Gomega) *kustomizev1.Kustomization {
			ks := &kustomizev1.Kustomization{}
			g.Expect(k8sClient.Get(ctx, key, ks)).To(Succeed())
			return ks
		}
	}
	ready := func(ctx context.Context, key client.ObjectKey) func(Gomega) *metav1.Condition {
		return func(g Gomega) *metav1.Condition {
			return apimeta.FindStatusCondition(kustomizationOf(ctx, key)(g).Status.Conditions, "Ready")
		}
	}
	// seeded reads one of the seed's Flux manifests as written, placed in
	// namespace.
	seeded := func(file, namespace string) *unstructured.Unstructured {
		GinkgoHelper()
		root, err := repo.Root()
		Expect(err).NotTo(HaveOccurred())
		data, err := os.ReadFile(filepath.Join(root, "examples", "seed", file))
		Expect(err).NotTo(HaveOccurred())
		u := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal(data, &u.Object)).To(Succeed())
		u.SetNamespace(namespace)
		return u
	}
	// removed deletes a Kustomization and waits until its finalizer let it
	// go.
	removed := func(ctx context.Context, ks client.Object) {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ks))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(ks), &kustomizev1.Kustomization{}))
		}).WithContext(ctx).Should(BeTrue())
	}

	It("runs the seed's GitRepository and Kustomization, pointed at this Git server, as Flux would", func(ctx context.Context) {
		ns := newNamespace(ctx, "flux-seed-")
		repository, first := pushRepo(server, "flux-seed", map[string]string{
			"deploy/settings.yaml": configMapManifest("settings", "one"),
			"deploy/extra.yaml":    configMapManifest("extra", "x"),
		})
		source := seeded("flux-gitrepository.yaml", ns)
		Expect(unstructured.SetNestedField(source.Object, repository.URL, "spec", "url")).To(Succeed())
		Expect(unstructured.SetNestedField(source.Object, "1s", "spec", "interval")).To(Succeed())
		Expect(k8sClient.Create(ctx, source)).To(Succeed())
		ks := seeded("flux-kustomization.yaml", ns)
		Expect(unstructured.SetNestedField(ks.Object, "1s", "spec", "interval")).To(Succeed())
		Expect(unstructured.SetNestedField(ks.Object, ns, "spec", "targetNamespace")).To(Succeed())
		Expect(k8sClient.Create(ctx, ks)).To(Succeed())
		key := client.ObjectKeyFromObject(ks)

		Eventually(func(g Gomega) {
			repo := &sourcev1.GitRepository{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(source), repo)).To(Succeed())
			g.Expect(repo.Status.Artifact).NotTo(BeNil())
			g.Expect(repo.Status.Artifact.Revision).To(Equal("main@sha1:" + first))
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) {
			got := kustomizationOf(ctx, key)(g)
			cond := apimeta.FindStatusCondition(got.Status.Conditions, "Ready")
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Status).To(Equal(metav1.ConditionTrue), cond.Message)
			g.Expect(got.Status.LastAppliedRevision).To(Equal("main@sha1:" + first))
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(got.Status.Inventory).NotTo(BeNil())
			var ids []string
			for _, e := range got.Status.Inventory.Entries {
				ids = append(ids, e.ID+" "+e.Version)
			}
			g.Expect(ids).To(ConsistOf(ns+"_extra__ConfigMap v1", ns+"_settings__ConfigMap v1"))
		}).WithContext(ctx).Should(Succeed())
		settings := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, settings)).To(Succeed())
		Expect(settings.Labels).To(HaveKeyWithValue(gitops.KustomizationOwner.NameLabel(), "my-app"))
		Expect(settings.Labels).To(HaveKeyWithValue(gitops.KustomizationOwner.NamespaceLabel(), ns))

		By("a commit that drops a file prunes its object, and the inventory with it")
		second := commitFiles(repository, map[string]string{"deploy/settings.yaml": configMapManifest("settings", "two")}, "deploy/extra.yaml")
		Eventually(func(g Gomega) {
			got := kustomizationOf(ctx, key)(g)
			g.Expect(got.Status.LastAppliedRevision).To(Equal("main@sha1:" + second))
			g.Expect(got.Status.Inventory.Entries).To(HaveLen(1))
		}).WithContext(ctx).Should(Succeed())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "extra"}, &corev1.ConfigMap{}))).To(BeTrue())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(settings), settings)).To(Succeed())
		Expect(settings.Data).To(HaveKeyWithValue("value", "two"))

		By("drift made by hand is corrected")
		expectHealed(ctx, settings, "two")

		By("deleting the Kustomization, which prunes, deletes what it applied")
		removed(ctx, ks)
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(settings), &corev1.ConfigMap{}))
		}).WithContext(ctx).Should(BeTrue())
	})

	It("waits for the Kustomizations it depends on to be Ready", func(ctx context.Context) {
		ns := newNamespace(ctx, "flux-deps-")
		repository, _ := pushRepo(server, "flux-deps", map[string]string{
			"infra/settings.yaml": configMapManifest("infra", "i"),
			"apps/settings.yaml":  configMapManifest("app", "a"),
		})
		Expect(k8sClient.Create(ctx, gitRepository(ns, "repo", repository.URL))).To(Succeed())
		apps := kustomization(ns, "apps", "repo", "./apps")
		apps.Spec.DependsOn = []kustomizev1.DependencyReference{{Name: "infra"}}
		Expect(k8sClient.Create(ctx, apps)).To(Succeed())

		By("the dependency does not exist yet: nothing is applied")
		Eventually(ready(ctx, client.ObjectKeyFromObject(apps))).WithContext(ctx).Should(And(
			Not(BeNil()), HaveField("Reason", "DependencyNotReady"), HaveField("Message", ContainSubstring("infra"))))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &corev1.ConfigMap{}))).To(BeTrue())

		By("once the dependency is Ready, it applies")
		infra := kustomization(ns, "infra", "repo", "./infra")
		Expect(k8sClient.Create(ctx, infra)).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &corev1.ConfigMap{})
		}).WithContext(ctx).Should(Succeed())
		Expect(ready(ctx, client.ObjectKeyFromObject(infra))(Default)).To(HaveField("Status", metav1.ConditionTrue),
			"the dependent applied only after its dependency was Ready")
		Eventually(ready(ctx, client.ObjectKeyFromObject(apps))).WithContext(ctx).Should(HaveField("Status", metav1.ConditionTrue))
		removed(ctx, apps)
		removed(ctx, infra)
	})

	It("decrypts SOPS-encrypted manifests with the keys decryption.secretRef names", func(ctx context.Context) {
		ns := newNamespace(ctx, "flux-sops-")
		recipient, identity, err := sopstest.AgeKey()
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sops-age"},
			Data: map[string][]byte{"age.agekey": identity}})).To(Succeed())
		const password = "flux-sops-plaintext"
		plain := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: " + ns + "\ntype: Opaque\nstringData:\n  password: " + password + "\n"
		encrypted, err := sopstest.Encrypt([]byte(plain), sopstest.Options{Age: []string{recipient}})
		Expect(err).NotTo(HaveOccurred())
		repository, _ := pushRepo(server, "flux-sops", map[string]string{"deploy/db.enc.yaml": string(encrypted)})
		Expect(k8sClient.Create(ctx, gitRepository(ns, "repo", repository.URL))).To(Succeed())
		ks := kustomization(ns, "secrets", "repo", "./deploy")
		ks.Spec.TargetNamespace = ""
		ks.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops", SecretRef: &fluxmeta.LocalObjectReference{Name: "sops-age"}}
		Expect(k8sClient.Create(ctx, ks)).To(Succeed())

		Eventually(func(g Gomega) []byte {
			var secret corev1.Secret
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, &secret)).To(Succeed())
			return secret.Data["password"]
		}).WithContext(ctx).Should(Equal([]byte(password)))
		Eventually(ready(ctx, client.ObjectKeyFromObject(ks))).WithContext(ctx).Should(HaveField("Status", metav1.ConditionTrue))
		got := kustomizationOf(ctx, client.ObjectKeyFromObject(ks))(Default)
		Expect(fmt.Sprint(got.Status)).NotTo(ContainSubstring(password))
		removed(ctx, ks)
	})

	It("says which source is missing, and refuses what it does not serve", func(ctx context.Context) {
		ns := newNamespace(ctx, "flux-refused-")
		missing := kustomization(ns, "missing", "nowhere", "./")
		Expect(k8sClient.Create(ctx, missing)).To(Succeed())
		Eventually(ready(ctx, client.ObjectKeyFromObject(missing))).WithContext(ctx).Should(And(
			Not(BeNil()), HaveField("Reason", "ArtifactFailed"), HaveField("Message", ContainSubstring("nowhere"))))

		repository, _ := pushRepo(server, "flux-refused", map[string]string{"app/settings.yaml": configMapManifest("s", "v")})
		Expect(k8sClient.Create(ctx, gitRepository(ns, "repo", repository.URL))).To(Succeed())
		refused := kustomization(ns, "components", "repo", "./app")
		refused.Spec.Components = []string{"../component"}
		Expect(k8sClient.Create(ctx, refused)).To(Succeed())
		Eventually(func(g Gomega) {
			got := kustomizationOf(ctx, client.ObjectKeyFromObject(refused))(g)
			stalled := apimeta.FindStatusCondition(got.Status.Conditions, "Stalled")
			g.Expect(stalled).NotTo(BeNil())
			g.Expect(stalled.Message).To(ContainSubstring("spec.components"))
		}).WithContext(ctx).Should(Succeed())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "s"}, &corev1.ConfigMap{}))).To(BeTrue())
		removed(ctx, missing)
		removed(ctx, refused)
	})
})

// gitRepository is a GitRepository of url's main branch, polled every
// second.
func gitRepository(namespace, name, url string) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: secondInterval},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
}

// kustomization is a Kustomization of path in source, applied into its own
// namespace every second, pruning.
func kustomization(namespace, name, source, path string) *kustomizev1.Kustomization {
	return &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: secondInterval}, Path: path, Prune: true, TargetNamespace: namespace,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: source},
		},
	}
}

// secondInterval is how often the specs' sources and Kustomizations look.
const secondInterval = time.Second
