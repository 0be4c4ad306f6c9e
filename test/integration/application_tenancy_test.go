package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/test/gitserver"
)

// The multi-tenant lockdown: a manager started with a default service
// account and the namespace lock, and tenants who try to reach further.
var _ = Describe("Applications of tenants under the lockdown", Ordered, func() {
	var (
		server *gitserver.Server
		tenant string // a tenant's namespace, where its Applications live
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		startApplicationController(application.Options{Tenancy: application.Tenancy{
			DefaultServiceAccount: "tenant", NamespaceLock: true, LockExempt: []string{"platform-apps"},
		}})
		tenant = newNamespace(ctx, "tenant-")
		// The tenant's account may do anything in its own namespace, and
		// nothing elsewhere: what a platform team gives a team.
		grantNamespaceAdmin(ctx, tenant, tenant, "tenant")
	})

	push := func(name string, files map[string]string) (*gitserver.Repo, string) {
		GinkgoHelper()
		return pushRepo(server, name, files)
	}
	configMap := func(namespace, name string) string {
		meta := "  name: " + name + "\n"
		if namespace != "" {
			meta += "  namespace: " + namespace + "\n"
		}
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n" + meta + "data:\n  k: v\n"
	}
	tenantApp := func(ctx context.Context, namespace, name, repoURL, destination string, edits ...func(*gitopsv1alpha1.Application)) *gitopsv1alpha1.Application {
		GinkgoHelper()
		return newApplication(ctx, namespace, name, appDir(repoURL), destination, true, append([]func(*gitopsv1alpha1.Application){
			func(app *gitopsv1alpha1.Application) { app.Spec.SyncPolicy.SyncOptions = nil },
		}, edits...)...)
	}
	failsWith := func(ctx context.Context, app *gitopsv1alpha1.Application, reason string) string {
		GinkgoHelper()
		var message string
		Eventually(func(g Gomega) {
			ready := readyOf(ctx, app)(g)
			g.Expect(ready.Reason).To(Equal(reason), ready.Message)
			message = ready.Message
		}).WithContext(ctx).Should(Succeed())
		return message
	}
	absent := func(ctx context.Context, obj client.Object) {
		GinkgoHelper()
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj))
		}).WithContext(ctx).WithTimeout(2*time.Second).Should(BeTrue(), "%T %s was applied", obj, obj.GetName())
	}

	It("applies as the default service account: what that account may do, and nothing else", func(ctx context.Context) {
		binding := fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: %s-takeover
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: tenant, namespace: %s}]
`, tenant, tenant)
		repo, first := push("own", map[string]string{"app/cm.yaml": configMap("", "mine")})
		app := tenantApp(ctx, tenant, "own", repo.URL, "")
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
		Expect(get[corev1.ConfigMap](ctx, tenant, "mine").Data).To(HaveKeyWithValue("k", "v"), "placed in the Application's namespace")

		By("a ClusterRoleBinding, exempt from the lock, is still the default account's to make, and it may not")
		platform := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "platform-apps"}}
		Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, platform))).To(Succeed())
		grantNamespaceAdmin(ctx, "platform-apps", "platform-apps", "tenant")
		escalate, _ := push("escalate", map[string]string{"app/binding.yaml": binding})
		exempt := tenantApp(ctx, "platform-apps", "escalate", escalate.URL, "")
		Expect(failsWith(ctx, exempt, "ApplyFailed")).To(ContainSubstring("forbidden"))
		absent(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: tenant + "-takeover"}})
	})

	It("keeps a tenant's objects in its namespace: another destination, another namespace, a cluster-scoped kind", func(ctx context.Context) {
		other := tenant + "-other"
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})).To(Succeed())
		// Even an account that could write there is held by the lock.
		grantNamespaceAdmin(ctx, other, tenant, "tenant")

		repo, _ := push("elsewhere", map[string]string{"app/cm.yaml": configMap("", "to-other")})
		byDestination := tenantApp(ctx, tenant, "by-destination", repo.URL, other)
		Expect(failsWith(ctx, byDestination, "NamespaceLocked")).To(ContainSubstring("destination.namespace " + other))

		named, _ := push("named", map[string]string{"app/a.yaml": configMap("", "fine"), "app/b.yaml": configMap(other, "smuggled")})
		byNamespace := tenantApp(ctx, tenant, "by-namespace", named.URL, "")
		Expect(failsWith(ctx, byNamespace, "NamespaceLocked")).To(ContainSubstring("ConfigMap smuggled is in namespace " + other))

		clusterScoped, _ := push("cluster-scoped", map[string]string{"app/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + tenant + "-grabbed\n"})
		byScope := tenantApp(ctx, tenant, "by-scope", clusterScoped.URL, "")
		Expect(failsWith(ctx, byScope, "NamespaceLocked")).To(ContainSubstring("Namespace " + tenant + "-grabbed is cluster-scoped"))

		absent(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "to-other"}})
		absent(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "fine"}})
		absent(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "smuggled"}})
		absent(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenant + "-grabbed"}})
	})

	It("gives an Application an app of apps applies no more rights than its parent", func(ctx context.Context) {
		// A stronger account in the tenant's namespace, which the tenant's
		// own Applications must not reach through a child.
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "admin"}})).To(Succeed())
		grantClusterAdmin(ctx, tenant, "admin")
		child := fmt.Sprintf(`apiVersion: gitops.sluice.dev/v1alpha1
kind: Application
metadata:
  name: child
spec:
  serviceAccountName: admin
  source: {repoURL: %s, targetRevision: main, path: app}
  destination: {namespace: %s}
  syncPolicy: {automated: {prune: true}}
  interval: 1s
`, server.URL+"/own.git", tenant)
		parentRepo, first := push("parent", map[string]string{"app/child.yaml": child})
		parent := tenantApp(ctx, tenant, "parent", parentRepo.URL, "")
		expectSynced(ctx, client.ObjectKeyFromObject(parent), first)
		childApp := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "child"}}
		message := failsWith(ctx, childApp, "ServiceAccountRefused")
		Expect(message).To(ContainSubstring("acts as system:serviceaccount:" + tenant + ":tenant"))
		Expect(message).To(ContainSubstring("may not act as system:serviceaccount:" + tenant + ":admin"))
	})
})

// grantNamespaceAdmin lets a service account do anything in namespace.
func grantNamespaceAdmin(ctx context.Context, namespace, saNamespace, sa string) {
	GinkgoHelper()
	name := strings.Join([]string{"admin", saNamespace, sa}, "-")
	Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Namespace: saNamespace, Name: sa}}))).To(Succeed())
	// A Role of its own: envtest runs no controller to fill the
	// aggregated "admin" ClusterRole.
	Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}})).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: saNamespace, Name: sa}}})).To(Succeed())
}

// grantClusterAdmin lets a service account do anything anywhere.
func grantClusterAdmin(ctx context.Context, saNamespace, sa string) {
	GinkgoHelper()
	Expect(k8sClient.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: saNamespace + "-" + sa},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: saNamespace, Name: sa}}})).To(Succeed())
}
