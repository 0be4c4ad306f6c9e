package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/framework"
)

var _ = Describe("The manager on the simulated cluster", func() {
	It("starts, takes the leader lease and answers /healthz, /readyz and /metrics", func(ctx context.Context) {
		m := startManager()

		for _, url := range []string{m.ProbeURL + "/healthz", m.ProbeURL + "/readyz", m.MetricsURL + "/metrics"} {
			Eventually(framework.HTTPStatus(url)).WithContext(ctx).Should(Equal(http.StatusOK), url)
		}
		// The chart turns leader election on, with the Lease in the
		// chart's namespace, where its Role lets the manager keep it.
		Eventually(func(g Gomega) {
			var lease coordinationv1.Lease
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: chartNamespace, Name: "sluice.sluice.dev"}, &lease)).To(Succeed())
			g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
		}).WithContext(ctx).Should(Succeed())
		Expect(m.Session.ExitCode()).To(Equal(-1), "the manager is still running")
	})

	It("says which version, commit and Argo Rollouts API it is", func() {
		pinned, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/argoproj/argo-rollouts").Output()
		Expect(err).NotTo(HaveOccurred())
		commit, err := exec.Command("git", "rev-parse", "HEAD").Output()
		Expect(err).NotTo(HaveOccurred())
		out, err := exec.Command(framework.ManagerBinary(), "--version").Output()
		Expect(err).NotTo(HaveOccurred())
		// The binary is stamped with the commit as make build stamps it;
		// the Argo Rollouts API is the module it was built with.
		Expect(string(out)).To(MatchRegexp(`^sluice \S+ \(commit %s, Argo Rollouts API %s\)\n$`,
			strings.TrimSpace(string(commit)), regexp.QuoteMeta(strings.TrimSpace(string(pinned)))))
	})
})

// The chart serves /metrics over HTTPS to scrapers the cluster allows: the
// manager asks with the chart's <release>-metrics-auth ClusterRole, and a
// scraper may read once bound to <release>-metrics-reader.
var _ = Describe("The manager's metrics, secured as the chart installs them", Ordered, func() {
	var (
		m  *framework.Manager
		ns string
	)
	scraper := func(ctx context.Context, name string) string {
		GinkgoHelper()
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})).To(Succeed())
		return framework.ServiceAccountToken(ctx, k8sClient, ns, name)
	}

	BeforeAll(func(ctx context.Context) {
		// The chart passes --metrics-secure; the host suites take it out to
		// scrape plain HTTP, and this spec puts it back.
		m = startManager("--leader-elect=false", "--metrics-secure")
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "monitoring-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
	})

	It("turns away a scraper the cluster does not allow", func(ctx context.Context) {
		Eventually(m.SecureMetricsStatus("")).WithContext(ctx).Should(Equal(http.StatusUnauthorized))
		Eventually(m.SecureMetricsStatus(scraper(ctx, "stranger"))).WithContext(ctx).Should(Equal(http.StatusForbidden))
	})

	It("serves a scraper bound to the chart's metrics-reader role", func(ctx context.Context) {
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "prometheus-sluice-metrics-"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: chartRelease + "-metrics-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "prometheus"}},
		}
		Expect(k8sClient.Create(ctx, binding)).To(Succeed())
		DeferCleanup(k8sClient.Delete, binding)
		Eventually(m.SecureMetricsStatus(scraper(ctx, "prometheus"))).WithContext(ctx).Should(Equal(http.StatusOK))
	})
})
