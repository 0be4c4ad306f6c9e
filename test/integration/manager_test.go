package integration

import (
	"context"
	"net/http"
	"os/exec"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

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
			"-zap-log-level", "-zap-devel",
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
