package integration

import (
	"context"
	"net/http"
	"os/exec"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/sluicehq/sluice/test/framework"
)

var _ = Describe("The manager binary", func() {
	It("lists its flags on --help", func() {
		session, err := gexec.Start(exec.Command(framework.ManagerBinary(), "--help"), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(session).Should(gexec.Exit())
		help := string(session.Err.Contents())
		for _, flag := range []string{
			"-kubeconfig", "-metrics-bind-address", "-health-probe-bind-address",
			"-leader-elect", "-leader-election-namespace", "-instance-id", "-controllers",
			"-zap-log-level", "-zap-devel", "-namespaced", "-namespace", "-metrics-secure",
			"-leader-election-lease-duration", "-leader-election-renew-deadline", "-leader-election-retry-period",
		} {
			Expect(help).To(ContainSubstring(flag))
		}
	})

	It("refuses an unknown controller name and says which exist", func() {
		session, err := gexec.Start(exec.Command(framework.ManagerBinary(),
			"--kubeconfig="+kubeconfig, "--controllers=nonsense"), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(session).Should(gexec.Exit(1))
		Expect(session.Err).To(gbytes.Say(`unknown controller "nonsense"; known controllers:`))
	})

	It("serves /healthz, /readyz and /metrics against a real API server", func(ctx context.Context) {
		m := framework.StartManager(kubeconfig, "--leader-elect=false")
		for _, url := range []string{m.ProbeURL + "/healthz", m.ProbeURL + "/readyz", m.MetricsURL + "/metrics"} {
			Eventually(framework.HTTPStatus(url)).WithContext(ctx).Should(Equal(http.StatusOK), url)
		}
	})
})

// /metrics behind the cluster's own authentication and authorization, as
// the chart serves it: a bearer token, reviewed by the API server, and RBAC
// on the non-resource URL /metrics.
var _ = Describe("The manager's secure metrics endpoint", Ordered, func() {
	var (
		m  *framework.Manager
		ns string
	)
	// tokenOf makes a service account and returns a token for it.
	tokenOf := func(ctx context.Context, name string) string {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		Expect(k8sClient.Create(ctx, sa)).To(Succeed())
		return framework.ServiceAccountToken(ctx, k8sClient, ns, name)
	}

	BeforeAll(func(ctx context.Context) {
		m = framework.StartManager(kubeconfig, "--leader-elect=false", "--metrics-secure")
		ns = newNamespace(ctx, "scraper-")
	})

	It("turns away a caller with no token", func(ctx context.Context) {
		Eventually(m.SecureMetricsStatus("")).WithContext(ctx).Should(Equal(http.StatusUnauthorized))
	})

	It("turns away a service account that may not get /metrics", func(ctx context.Context) {
		Eventually(m.SecureMetricsStatus(tokenOf(ctx, "stranger"))).WithContext(ctx).Should(Equal(http.StatusForbidden))
	})

	It("serves a service account bound to a role that may get /metrics", func(ctx context.Context) {
		reader := &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "metrics-reader-"},
			Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
		}
		Expect(k8sClient.Create(ctx, reader)).To(Succeed())
		DeferCleanup(k8sClient.Delete, reader)
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "metrics-reader-"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "prometheus"}},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(k8sClient.Delete, binding)

		Eventually(m.SecureMetricsStatus(tokenOf(ctx, "prometheus"))).WithContext(ctx).Should(Equal(http.StatusOK))
	})
})

// The end-to-end suites prove the chart's RBAC by failing a spec whose
// manager was refused anything: that check must see a refusal in the
// manager's log as the manager writes it (JSON, and klog's lines).
var _ = Describe("A manager without the rights it needs", func() {
	It("is seen to be refused, in its own log", func(ctx context.Context) {
		nobody := writeKubeconfig(testEnv, cfg, envtest.User{Name: "nobody"})
		m := framework.StartManager(nobody, "--leader-elect=false", "--controllers=rollout", "--zap-encoder=json")
		Eventually(m.Forbidden).WithContext(ctx).ShouldNot(BeEmpty())
		Expect(m.Forbidden()).To(ContainElement(ContainSubstring(`cannot list resource`)))
		// Its caches never sync, and a manager waits for them (up to its
		// graceful-shutdown timeout) before it exits on SIGTERM.
		m.Kill()
	})
})
