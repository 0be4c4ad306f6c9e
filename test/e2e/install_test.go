package e2e

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers"
	"github.com/sluicehq/sluice/internal/apiwait"
	"github.com/sluicehq/sluice/test/framework"
)

// Every manager of these suites runs as the chart installs it: the chart is
// installed with its default values, and the manager runs on the host (the
// simulated nodes run no containers) with the chart's arguments and a
// token of the chart's ServiceAccount. So each spec proves the chart's RBAC
// as much as the behaviour it is about: a refusal by the API server fails
// the spec that met it.
const (
	chartRelease   = "sluice"
	chartNamespace = "sluice-system"
)

var (
	// chartKubeconfig authenticates as the chart's ServiceAccount.
	chartKubeconfig string
	// chartArgs are the chart's manager arguments that apply on the host.
	chartArgs []string
)

// installChart installs charts/sluice as a user does, waits for its CRDs
// and prepares the manager's identity and arguments.
func installChart(ctx context.Context) {
	GinkgoHelper()
	framework.Helm(cluster.KubeconfigPath, "install", chartRelease, framework.ChartDir(),
		"--namespace", chartNamespace, "--create-namespace")
	disco, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
	Expect(err).NotTo(HaveOccurred())
	required := controllers.RequiredResources(controllers.Default.Names(), false, controllers.Kinds{})
	Eventually(func() ([]string, error) {
		missing, err := apiwait.Missing(disco, required)
		return strings.Fields(apiwait.Describe(missing)), err
	}).WithContext(ctx).WithTimeout(time.Minute).Should(BeEmpty())

	chartKubeconfig = framework.ServiceAccountKubeconfig(ctx, cluster.Config, k8sClient, chartNamespace, chartRelease)
	chartArgs = framework.HostArgs(cluster.KubeconfigPath, chartRelease, chartNamespace)
}

// startManager starts the manager as the chart runs it, with extra
// arguments after the chart's (a later flag wins). When the spec or
// container ends, it fails if the API server refused the manager anything.
func startManager(extraArgs ...string) *framework.Manager {
	GinkgoHelper()
	return startManagerAs(chartKubeconfig, chartArgs, extraArgs...)
}

func startManagerAs(kubeconfig string, args []string, extraArgs ...string) *framework.Manager {
	GinkgoHelper()
	var m *framework.Manager
	// Registered first, so it runs after the manager has stopped.
	DeferCleanup(func() {
		if m != nil {
			Expect(m.Forbidden()).To(BeEmpty(), "the chart's RBAC refused the manager these")
		}
	})
	m = framework.StartManager(kubeconfig, append(append([]string{}, args...), extraArgs...)...)
	return m
}

// deliverer makes the service account an Application syncs as, in
// namespace: the chart grants the manager no write of its own on what
// Applications apply, and impersonating a service account is how an
// operator confines each team. bindIn names the one namespace it may
// administer; empty makes it the platform team's, bound to cluster-admin.
func deliverer(ctx context.Context, namespace, bindIn string) string {
	GinkgoHelper()
	const name = "deliverer"
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, sa))).To(Succeed())
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}}
	var binding client.Object
	if bindIn == "" {
		binding = &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "deliverer-"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   subjects,
		}
	} else {
		binding = &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: bindIn, GenerateName: "deliverer-"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects:   subjects,
		}
	}
	Expect(k8sClient.Create(ctx, binding)).To(Succeed())
	DeferCleanup(func(ctx context.Context) { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, binding))).To(Succeed()) })
	return name
}

// deleteApplication deletes an Application and waits until it is gone: its
// finalizer deletes its objects first, as the account it syncs as, so a
// cleanup that takes that account's rights away must come after.
func deleteApplication(ctx context.Context, app *gitopsv1alpha1.Application) {
	GinkgoHelper()
	Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, app))).To(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), &gitopsv1alpha1.Application{}))
	}).WithContext(ctx).WithTimeout(time.Minute).Should(BeTrue(), "Application %s is gone", app.Name)
}
