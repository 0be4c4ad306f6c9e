package integration

import (
	"context"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers/fluxsource"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/kinds"
)

// Flux's GitRepository, served by Sluice: the seed's YAML, pointed at the
// loopback Git server, resolves to the branch's commit, as source-controller
// reports it, with nothing fetched.
var _ = Describe("Flux's GitRepository", func() {
	var namespace string

	BeforeEach(func(ctx context.Context) {
		startController("", func(mgr ctrl.Manager) error { return fluxsource.Setup(mgr, instance.Scope{}) })
		namespace = newNamespace(ctx, "flux-source-")
	})

	// seedRepository is the seed's GitRepository in namespace, with url.
	seedRepository := func(url string) *sourcev1.GitRepository {
		GinkgoHelper()
		u := readExample("flux-gitrepository.yaml")
		repo := &sourcev1.GitRepository{}
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, repo)).To(Succeed())
		repo.Namespace, repo.Spec.URL = namespace, url
		return repo
	}
	readyOfRepo := func(ctx context.Context, key client.ObjectKey) func(Gomega) *metav1.Condition {
		return func(g Gomega) *metav1.Condition {
			var repo sourcev1.GitRepository
			g.Expect(k8sClient.Get(ctx, key, &repo)).To(Succeed())
			return meta.FindStatusCondition(repo.Status.Conditions, "Ready")
		}
	}

	It("is Ready with the commit of its branch, and follows the branch", func(ctx context.Context) {
		server := startGitServer()
		gitRepo, first := pushRepo(server, "my-app", map[string]string{"deploy/cm.yaml": configMapManifest("web", "1")})
		repo := seedRepository(gitRepo.URL)
		Expect(k8sClient.Create(ctx, repo)).To(Succeed())
		key := client.ObjectKeyFromObject(repo)

		Eventually(func(g Gomega) {
			var got sourcev1.GitRepository
			g.Expect(k8sClient.Get(ctx, key, &got)).To(Succeed())
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(got.Status.Artifact).NotTo(BeNil())
			g.Expect(got.Status.Artifact.Revision).To(Equal("main@sha1:" + first))
			ready := meta.FindStatusCondition(got.Status.Conditions, "Ready")
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(ready.Reason).To(Equal("Succeeded"))
			g.Expect(ready.Message).To(Equal("stored artifact for revision 'main@sha1:" + first + "'"))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, "Reconciling")).To(BeNil())
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, "Stalled")).To(BeNil())
		}).Should(Succeed())

		By("a new commit is seen at the next interval")
		patchMerge(ctx, repo, `{"spec":{"interval":"1s"}}`)
		second := commitFiles(gitRepo, map[string]string{"deploy/cm.yaml": configMapManifest("web", "2")})
		Eventually(func(g Gomega) string {
			var got sourcev1.GitRepository
			g.Expect(k8sClient.Get(ctx, key, &got)).To(Succeed())
			g.Expect(got.Status.Artifact).NotTo(BeNil())
			return got.Status.Artifact.Revision
		}).Should(Equal("main@sha1:" + second))

		By("flux reconcile's request is recorded as handled")
		patchMerge(ctx, repo, `{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"now-1"}}}`)
		Eventually(func(g Gomega) string {
			var got sourcev1.GitRepository
			g.Expect(k8sClient.Get(ctx, key, &got)).To(Succeed())
			return got.Status.LastHandledReconcileAt
		}).Should(Equal("now-1"))
	})

	It("resolves a tag and a semver range to the tag's commit, named by the tag", func(ctx context.Context) {
		server := startGitServer()
		gitRepo, first := pushRepo(server, "tagged", map[string]string{"deploy/cm.yaml": configMapManifest("web", "1")})
		Expect(gitRepo.Tag("v1.2.0")).To(Succeed())
		commitFiles(gitRepo, map[string]string{"deploy/cm.yaml": configMapManifest("web", "2")})

		for name, ref := range map[string]*sourcev1.GitRepositoryRef{"by-tag": {Tag: "v1.2.0"}, "by-range": {SemVer: "~1.2"}} {
			repo := seedRepository(gitRepo.URL)
			repo.Name, repo.Spec.Reference = name, ref
			Expect(k8sClient.Create(ctx, repo)).To(Succeed())
			Eventually(func(g Gomega) string {
				var got sourcev1.GitRepository
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(repo), &got)).To(Succeed())
				g.Expect(got.Status.Artifact).NotTo(BeNil())
				return got.Status.Artifact.Revision
			}).Should(Equal("v1.2.0@sha1:"+first), name)
		}
	})

	It("reports a remote it cannot read as Ready=False, and recovers when it can", func(ctx context.Context) {
		server := startGitServer()
		repo := seedRepository(server.URL + "/missing.git")
		repo.Spec.Interval = metav1.Duration{Duration: time.Second}
		Expect(k8sClient.Create(ctx, repo)).To(Succeed())
		key := client.ObjectKeyFromObject(repo)
		Eventually(readyOfRepo(ctx, key)).Should(And(Not(BeNil()),
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", "GitOperationFailed"),
			HaveField("Message", ContainSubstring("missing.git"))))

		gitRepo, sha := pushRepo(server, "missing", map[string]string{"deploy/cm.yaml": configMapManifest("web", "1")})
		Expect(gitRepo.URL).To(Equal(repo.Spec.URL))
		Eventually(readyOfRepo(ctx, key)).Should(And(Not(BeNil()),
			HaveField("Status", metav1.ConditionTrue), HaveField("Message", ContainSubstring(sha))))
	})

	It("is Stalled, naming the field, when it uses one Sluice does not serve", func(ctx context.Context) {
		repo := seedRepository("https://git.invalid/org/my-app")
		repo.Spec.RecurseSubmodules = true
		Expect(k8sClient.Create(ctx, repo)).To(Succeed())
		key := client.ObjectKeyFromObject(repo)
		Eventually(func(g Gomega) {
			var got sourcev1.GitRepository
			g.Expect(k8sClient.Get(ctx, key, &got)).To(Succeed())
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, "Ready")).To(And(Not(BeNil()),
				HaveField("Status", metav1.ConditionFalse), HaveField("Reason", "InvalidSpec"),
				HaveField("Message", "GitRepository spec.recurseSubmodules: not served by Sluice: submodules")))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, "Stalled")).To(And(Not(BeNil()), HaveField("Status", metav1.ConditionTrue)))
		}).Should(Succeed())
	})
})

// --flux=auto reads the CRDs of the API server: Sluice's generated ones are
// served, Flux's own (labelled as Flux's installation labels them) are left
// to Flux.
var _ = Describe("--flux=auto and --argocd-applications=auto", func() {
	It("serves Flux's kinds when their CRDs are Sluice's, and leaves them to Flux when they are Flux's", func(ctx context.Context) {
		serve, why, err := kinds.Flux.Detect(ctx, k8sClient, kinds.ModeAuto, false)
		Expect(err).NotTo(HaveOccurred())
		Expect(serve).To(BeTrue(), why)

		crd := &apiextensionsv1.CustomResourceDefinition{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "kustomizations.kustomize.toolkit.fluxcd.io"}, crd)).To(Succeed())
		patchMerge(ctx, crd, `{"metadata":{"labels":{"app.kubernetes.io/part-of":"flux"}}}`)
		DeferCleanup(func(ctx context.Context) {
			patchMerge(ctx, crd, `{"metadata":{"labels":{"app.kubernetes.io/part-of":null}}}`)
		})
		serve, why, err = kinds.Flux.Detect(ctx, k8sClient, kinds.ModeAuto, false)
		Expect(err).NotTo(HaveOccurred())
		Expect(serve).To(BeFalse())
		Expect(why).To(ContainSubstring("app.kubernetes.io/part-of: flux"))

		serve, _, err = kinds.Flux.Detect(ctx, k8sClient, kinds.ModeOn, false)
		Expect(err).NotTo(HaveOccurred())
		Expect(serve).To(BeTrue(), "on serves them whoever installed the CRDs")
	})

	It("decides for Argo CD's Application kind alike", func(ctx context.Context) {
		serve, why, err := kinds.ArgoCDApplications.Detect(ctx, k8sClient, kinds.ModeAuto, false)
		Expect(err).NotTo(HaveOccurred())
		Expect(serve).To(BeTrue(), why)
		crd := &apiextensionsv1.CustomResourceDefinition{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "applications.argoproj.io"}, crd)).To(Succeed())
		patchMerge(ctx, crd, `{"metadata":{"labels":{"app.kubernetes.io/part-of":"argocd"}}}`)
		DeferCleanup(func(ctx context.Context) {
			patchMerge(ctx, crd, `{"metadata":{"labels":{"app.kubernetes.io/part-of":null}}}`)
		})
		serve, why, err = kinds.ArgoCDApplications.Detect(ctx, k8sClient, kinds.ModeAuto, false)
		Expect(err).NotTo(HaveOccurred())
		Expect(serve).To(BeFalse(), "Argo CD's own CRD: Argo CD serves it")
		Expect(why).To(ContainSubstring("app.kubernetes.io/part-of: argocd"))
	})
})
