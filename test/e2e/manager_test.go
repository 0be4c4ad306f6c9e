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
