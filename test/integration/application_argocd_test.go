package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Argo CD's own Application kind (argoproj.io/v1alpha1), served by the same
// engine as Sluice's: the seed's Argo CD YAML applies with no change at all.
var _ = Describe("Argo CD's Application kind", Ordered, func() {
	var server *gitserver.Server

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		startApplicationController(application.Options{ArgoCDApplications: true})
		for _, ns := range []string{"argocd", "production"} {
			err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
			if !apierrors.IsAlreadyExists(err) {
				Expect(err).NotTo(HaveOccurred())
			}
		}
	})

	// statusOf reads an argoproj.io Application's status as the engine's
	// type.
	statusOf := func(ctx context.Context, key client.ObjectKey) func(Gomega) gitopsv1alpha1.ApplicationStatus {
		return func(g Gomega) gitopsv1alpha1.ApplicationStatus {
			u := newArgoCDApplication()
			g.Expect(k8sClient.Get(ctx, key, u)).To(Succeed())
			var app gitopsv1alpha1.Application
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &app)).To(Succeed())
			return app.Status
		}
	}
	removed := func(ctx context.Context, u *unstructured.Unstructured) {
		GinkgoHelper()
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, u))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(u), newArgoCDApplication()))
		}).WithContext(ctx).Should(BeTrue(), "the finalizer is released once its objects are dealt with")
	}

	DescribeTable("takes the seed's manifests byte for byte, and serves them",
		func(ctx context.Context, file string) {
			root, err := repo.Root()
			Expect(err).NotTo(HaveOccurred())
			data, err := os.ReadFile(filepath.Join(root, "examples", "seed", "argocd", file))
			Expect(err).NotTo(HaveOccurred())
			obj := &unstructured.Unstructured{}
			Expect(yaml.Unmarshal(data, &obj.Object)).To(Succeed())
			Expect(obj.GetAPIVersion()).To(Equal("argoproj.io/v1alpha1"))
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			DeferCleanup(removed, obj)

			stored := newArgoCDApplication()
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), stored)).To(Succeed())
			original := &unstructured.Unstructured{}
			Expect(yaml.Unmarshal(data, &original.Object)).To(Succeed())
			Expect(fieldsLost(asJSON(original.Object["spec"]), asJSON(stored.Object["spec"]), ".spec")).To(BeEmpty())

			// The seed's repository is not reachable from here: the engine
			// took the Application up, and says what stops it.
			Eventually(func(g Gomega) {
				ready := apimeta.FindStatusCondition(statusOf(ctx, client.ObjectKeyFromObject(obj))(g).Conditions, "Ready")
				g.Expect(ready).NotTo(BeNil())
				g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(ready.Reason).To(Equal("FetchFailed"))
				g.Expect(ready.Message).To(ContainSubstring("github.com/org/gitops-repo"))
			}).WithContext(ctx).Should(Succeed())
		},
		Entry("the Application", "my-app.yaml"),
		Entry("the app of apps", "applications.yaml"),
	)

	It("syncs from Git, heals, and keeps apart from a Sluice Application of the same name", func(ctx context.Context) {
		appsNS := newNamespace(ctx, "argocd-door-")
		dest := appsNS + "-web"
		repository, first := pushRepo(server, "argocd-door", map[string]string{
			"argocd/settings.yaml": configMapManifest("argocd-settings", "a"),
			"sluice/settings.yaml": configMapManifest("sluice-settings", "s"),
		})
		argo := argoCDApplicationManifest(appsNS, "web", repository.URL, "argocd", dest)
		Expect(k8sClient.Create(ctx, argo)).To(Succeed())
		key := client.ObjectKeyFromObject(argo)
		Eventually(func(g Gomega) {
			status := statusOf(ctx, key)(g)
			g.Expect(status.Sync).To(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusSynced), HaveField("Revision", first)))
		}).WithContext(ctx).Should(Succeed())
		settings := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "argocd-settings"}, settings)).To(Succeed())
		Expect(settings.Labels).To(HaveKeyWithValue(gitops.ArgoCDApplicationOwner.NameLabel(), "web"))
		Expect(settings.Labels).NotTo(HaveKey(gitops.OwnerNameLabel))

		By("events name the argoproj.io object")
		Eventually(func(g Gomega) []string {
			var events corev1.EventList
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(appsNS))).To(Succeed())
			var about []string
			for _, e := range events.Items {
				if e.InvolvedObject.Name == "web" {
					about = append(about, e.InvolvedObject.APIVersion)
				}
			}
			return about
		}).WithContext(ctx).Should(ContainElement("argoproj.io/v1alpha1"))

		By("a Sluice Application of the same name, with prune, leaves the other's objects alone")
		sluice := newApplication(ctx, appsNS, "web", gitopsv1alpha1.ApplicationSource{
			RepoURL: repository.URL, TargetRevision: "main", Path: "sluice"}, dest, true)
		expectSynced(ctx, client.ObjectKeyFromObject(sluice), first)
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "sluice-settings"}, &corev1.ConfigMap{})).To(Succeed())
		Consistently(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "argocd-settings"}, &corev1.ConfigMap{})
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())

		By("a change made by hand is healed through the argoproj.io door's watches")
		expectHealed(ctx, settings, "a")

		By("deleting the argoproj.io Application deletes its objects only")
		removed(ctx, argo)
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "argocd-settings"}, &corev1.ConfigMap{}))
		}).WithContext(ctx).Should(BeTrue())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "sluice-settings"}, &corev1.ConfigMap{})).To(Succeed())
		forgetApplication(ctx, sluice)
	})

	It("runs the app of apps: an argoproj.io Application that applies others", func(ctx context.Context) {
		appsNS := newNamespace(ctx, "argocd-apps-")
		dest := appsNS + "-child"
		repository, first := pushRepo(server, "argocd-apps", map[string]string{
			"child/settings.yaml": configMapManifest("child-settings", "c"),
		})
		child, err := yaml.Marshal(argoCDApplicationManifest(appsNS, "child", repository.URL, "child", dest).Object)
		Expect(err).NotTo(HaveOccurred())
		second := commitFiles(repository, map[string]string{"applications/child.yaml": string(child)})
		Expect(second).NotTo(Equal(first))
		parent := argoCDApplicationManifest(appsNS, "applications", repository.URL, "applications", appsNS)
		Expect(k8sClient.Create(ctx, parent)).To(Succeed())

		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "child-settings"}, &corev1.ConfigMap{})
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) []gitopsv1alpha1.ObjectRef {
			return statusOf(ctx, client.ObjectKeyFromObject(parent))(g).Inventory
		}).WithContext(ctx).Should(ContainElement(gitopsv1alpha1.ObjectRef{
			Group: "argoproj.io", Version: "v1alpha1", Kind: "Application", Namespace: appsNS, Name: "child"}))
		removed(ctx, parent)
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: appsNS, Name: "child"}, newArgoCDApplication()))
		}).WithContext(ctx).Should(BeTrue(), "the child goes with its parent, and its objects with it")
	})
})

func newArgoCDApplication() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(application.ArgoCDApplication)
	return u
}

// argoCDApplicationManifest is an Argo CD Application as Argo CD's users
// write it, syncing path of repoURL into destination every second.
func argoCDApplicationManifest(namespace, name, repoURL, path, destination string) *unstructured.Unstructured {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(fmt.Appendf(nil, `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: %s
spec:
  project: default
  interval: 1s
  source:
    repoURL: %s
    targetRevision: main
    path: %s
  destination:
    server: https://kubernetes.default.svc
    namespace: %s
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
`, name, namespace, repoURL, path, destination), &u.Object)).To(Succeed())
	return u
}
