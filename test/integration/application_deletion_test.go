package integration

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Deleting an Application, with the garbage collector running: what its
// finalizer deletes, waits for, keeps and leaves.
var _ = Describe("Deleting an Application", Ordered, func() {
	const hold = "sluice.test/hold" // a finalizer only the spec removes
	var (
		server *gitserver.Server
		appsNS string
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		startApplicationController(application.Options{})
		appsNS = newNamespace(ctx, "deleting-")
	})

	configMap := func(name string, annotations ...string) string { return configMapManifest(name, "v", annotations...) }
	// deployed creates an Application of a new repository holding files
	// under app/, edited by edits, and waits until it synced.
	deployed := func(ctx context.Context, name string, files map[string]string, edits ...func(*gitopsv1alpha1.Application)) (*gitopsv1alpha1.Application, string) {
		GinkgoHelper()
		_, app, dest, _ := deployRepo(ctx, server, appsNS, name, files, edits...)
		return app, dest
	}
	withFinalizers := func(finalizers ...string) func(*gitopsv1alpha1.Application) {
		return func(app *gitopsv1alpha1.Application) { app.Finalizers = finalizers }
	}
	withSyncOption := func(option string) func(*gitopsv1alpha1.Application) {
		return func(app *gitopsv1alpha1.Application) {
			app.Spec.SyncPolicy.SyncOptions = append(app.Spec.SyncPolicy.SyncOptions, option)
		}
	}
	gone := func(ctx context.Context, obj client.Object) func() bool {
		return func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)) }
	}
	cm := func(namespace, name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	}
	release := func(ctx context.Context, obj client.Object) {
		GinkgoHelper()
		patchMerge(ctx, obj, `{"metadata":{"finalizers":null}}`)
	}
	// heldDependent makes a ConfigMap that owner owns, blocking its
	// owner's foreground deletion, and that stays until released.
	heldDependent := func(ctx context.Context, owner *corev1.ConfigMap) *corev1.ConfigMap {
		GinkgoHelper()
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(owner), owner)).To(Succeed())
		dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Namespace: owner.Namespace, Name: owner.Name + "-dependent", Finalizers: []string{hold},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID,
				BlockOwnerDeletion: ptr.To(true)}},
		}}
		Expect(k8sClient.Create(ctx, dependent)).To(Succeed())
		DeferCleanup(func(ctx context.Context) {
			err := k8sClient.Patch(ctx, dependent, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))
			Expect(client.IgnoreNotFound(err)).To(Succeed())
		})
		return dependent
	}

	DescribeTable("deletes its objects with the policy its finalizer names, and goes once they are gone",
		func(ctx context.Context, name string, foreground bool, expectFinalizers []string, edits ...func(*gitopsv1alpha1.Application)) {
			app, dest := deployed(ctx, name, map[string]string{
				"app/a.yaml": configMap("a"), "app/b.yaml": configMap("b"),
			}, edits...)
			Expect(app.Finalizers).To(Equal(expectFinalizers))
			dependent := heldDependent(ctx, cm(dest, "a"))

			Expect(k8sClient.Delete(ctx, app)).To(Succeed())
			Eventually(gone(ctx, cm(dest, "b"))).WithContext(ctx).Should(BeTrue())
			if foreground {
				By("foreground: held while a's dependent is, and saying so")
				Eventually(readyOf(ctx, app)).WithContext(ctx).Should(And(
					HaveField("Reason", "Deleting"), HaveField("Message", ContainSubstring("waiting for ConfigMap a"))))
				Consistently(gone(ctx, app)).WithContext(ctx).WithTimeout(2 * time.Second).Should(BeFalse())
				release(ctx, dependent)
			} else {
				By("background: gone while a's dependent is still there")
				Eventually(gone(ctx, app)).WithContext(ctx).Should(BeTrue())
				Expect(gone(ctx, dependent)()).To(BeFalse())
				release(ctx, dependent)
			}
			Eventually(gone(ctx, cm(dest, "a"))).WithContext(ctx).Should(BeTrue())
			Eventually(gone(ctx, dependent)).WithContext(ctx).Should(BeTrue())
			Eventually(gone(ctx, app)).WithContext(ctx).Should(BeTrue())
		},
		Entry("Sluice's own finalizer, added to every Application: foreground",
			"own", true, []string{gitopsv1alpha1.ResourcesFinalizer}),
		Entry("Sluice's own with PrunePropagationPolicy=background",
			"own-background", false, []string{gitopsv1alpha1.ResourcesFinalizer}, withSyncOption("PrunePropagationPolicy=background")),
		Entry("Argo CD's finalizer, kept as the only one: foreground",
			"argocd", true, []string{gitopsv1alpha1.ArgoCDResourcesFinalizer}, withFinalizers(gitopsv1alpha1.ArgoCDResourcesFinalizer)),
		Entry("Argo CD's background finalizer",
			"argocd-background", false, []string{gitopsv1alpha1.ArgoCDBackgroundFinalizer}, withFinalizers(gitopsv1alpha1.ArgoCDBackgroundFinalizer)),
	)

	It("keeps the objects annotated to stay, without its labels, and leaves alone what is no longer its own", func(ctx context.Context) {
		app, dest := deployed(ctx, "keep", map[string]string{
			"app/deleted.yaml": configMap("deleted"),
			"app/argocd.yaml":  configMap("argocd", "argocd.argoproj.io/sync-options", "Delete=false"),
			"app/sluice.yaml":  configMap("sluice", "gitops.sluice.dev/prune", "disabled"),
			"app/taken.yaml":   configMap("taken"),
		})
		By("someone takes one object over, relabelling it, while the Application is suspended (a deletion goes on all the same)")
		patchMerge(ctx, app, `{"spec":{"suspend":true}}`)
		Eventually(readyOf(ctx, app)).WithContext(ctx).Should(HaveField("Reason", "Suspended"))
		patchMerge(ctx, cm(dest, "taken"), `{"metadata":{"labels":{"gitops.sluice.dev/name":"someone-else"}}}`)

		Expect(k8sClient.Delete(ctx, app)).To(Succeed())
		Eventually(gone(ctx, app)).WithContext(ctx).Should(BeTrue())
		Expect(gone(ctx, cm(dest, "deleted"))()).To(BeTrue())
		for _, name := range []string{"argocd", "sluice"} {
			kept := get[corev1.ConfigMap](ctx, dest, name)
			Expect(kept.DeletionTimestamp).To(BeNil(), name)
			Expect(kept.Labels).NotTo(HaveKey("gitops.sluice.dev/name"), name)
			Expect(kept.Labels).NotTo(HaveKey("gitops.sluice.dev/namespace"), name)
		}
		taken := get[corev1.ConfigMap](ctx, dest, "taken")
		Expect(taken.DeletionTimestamp).To(BeNil())
		Expect(taken.Labels).To(HaveKeyWithValue("gitops.sluice.dev/name", "someone-else"))
	})

	It("leaves its objects in place when it opted out, holding no finalizer", func(ctx context.Context) {
		app, dest := deployed(ctx, "orphans", map[string]string{"app/a.yaml": configMap("a")},
			func(app *gitopsv1alpha1.Application) {
				app.Annotations = map[string]string{gitopsv1alpha1.DeleteResourcesAnnotation: "false"}
			})
		Expect(app.Finalizers).To(BeEmpty())
		Expect(k8sClient.Delete(ctx, app)).To(Succeed())
		Eventually(gone(ctx, app)).WithContext(ctx).Should(BeTrue())
		Consistently(gone(ctx, cm(dest, "a"))).WithContext(ctx).WithTimeout(2 * time.Second).Should(BeFalse())

		By("opting out after the finalizer was added takes it off")
		app, _ = deployed(ctx, "orphans-later", map[string]string{"app/a.yaml": configMap("a")})
		Expect(app.Finalizers).To(ConsistOf(gitopsv1alpha1.ResourcesFinalizer))
		patchMerge(ctx, app, fmt.Sprintf(`{"metadata":{"annotations":{%q:"false"}}}`, gitopsv1alpha1.DeleteResourcesAnnotation))
		Eventually(func(g Gomega) []string {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			return app.Finalizers
		}).WithContext(ctx).Should(BeEmpty())
		Expect(k8sClient.Delete(ctx, app)).To(Succeed())
		Eventually(gone(ctx, app)).WithContext(ctx).Should(BeTrue())
		Expect(gone(ctx, cm(appsNS+"-orphans-later", "a"))()).To(BeFalse())
	})

	It("an app of apps deletes its child Application, whose own finalizer deletes the child's objects", func(ctx context.Context) {
		childRepo, childSHA := pushRepo(server, "child", map[string]string{"app/a.yaml": configMap("a")})
		childDest := appsNS + "-child"
		child := fmt.Sprintf(`apiVersion: gitops.sluice.dev/v1alpha1
kind: Application
metadata:
  name: child
  namespace: %s
spec:
  source: {repoURL: %q, targetRevision: main, path: app}
  destination: {namespace: %s}
  interval: 1s
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, appsNS, childRepo.URL, childDest)
		parent, _ := deployed(ctx, "parent", map[string]string{"app/child.yaml": child})
		childKey := client.ObjectKey{Namespace: appsNS, Name: "child"}
		expectSynced(ctx, childKey, childSHA)
		childApp := get[gitopsv1alpha1.Application](ctx, appsNS, "child")
		Expect(childApp.Finalizers).To(ConsistOf(gitopsv1alpha1.ResourcesFinalizer))
		dependent := heldDependent(ctx, cm(childDest, "a"))

		Expect(k8sClient.Delete(ctx, parent)).To(Succeed())
		By("the parent waits for the child, which waits for its objects")
		Eventually(readyOf(ctx, childApp)).WithContext(ctx).Should(HaveField("Reason", "Deleting"))
		Eventually(readyOf(ctx, parent)).WithContext(ctx).Should(And(
			HaveField("Reason", "Deleting"), HaveField("Message", ContainSubstring("waiting for Application child"))))
		release(ctx, dependent)
		Eventually(gone(ctx, cm(childDest, "a"))).WithContext(ctx).Should(BeTrue())
		Eventually(gone(ctx, childApp)).WithContext(ctx).Should(BeTrue())
		Eventually(gone(ctx, parent)).WithContext(ctx).Should(BeTrue())
	})

	It("says which object its account may not delete, and finishes once it may", func(ctx context.Context) {
		dest := appsNS + "-forbidden"
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dest}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "no-delete"}})).To(Succeed())
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "no-delete"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch"}}}}
		Expect(k8sClient.Create(ctx, role)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "no-delete"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "no-delete"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: appsNS, Name: "no-delete"}}})).To(Succeed())
		app, _ := deployed(ctx, "forbidden", map[string]string{"app/a.yaml": configMap("a")},
			func(app *gitopsv1alpha1.Application) {
				app.Spec.ServiceAccountName = "no-delete"
				app.Spec.SyncPolicy.SyncOptions = nil
				app.Spec.SyncPolicy.Retry = &gitopsv1alpha1.RetryStrategy{Limit: 1, Backoff: &gitopsv1alpha1.Backoff{
					Duration: &metav1.Duration{Duration: time.Second}, Factor: ptr.To[int64](1)}}
			})

		Expect(k8sClient.Delete(ctx, app)).To(Succeed())
		Eventually(readyOf(ctx, app)).WithContext(ctx).Should(And(HaveField("Reason", "DeleteFailed"),
			HaveField("Message", And(ContainSubstring("deleting ConfigMap "+dest+"/a"), ContainSubstring("forbidden")))))
		Expect(gone(ctx, cm(dest, "a"))()).To(BeFalse())

		By("past the retry limit of syncs, it still retries, and goes once the account may delete")
		Consistently(gone(ctx, app)).WithContext(ctx).WithTimeout(3 * time.Second).Should(BeFalse())
		role.Rules[0].Verbs = append(role.Rules[0].Verbs, "delete")
		Expect(k8sClient.Update(ctx, role)).To(Succeed())
		Eventually(gone(ctx, cm(dest, "a"))).WithContext(ctx).Should(BeTrue())
		Eventually(gone(ctx, app)).WithContext(ctx).Should(BeTrue())
	})
})
