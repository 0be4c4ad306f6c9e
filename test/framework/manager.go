// Package framework holds helpers shared by the integration and end-to-end
// suites: running the real manager binary, and assertions that read well in
// specs.
package framework

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

var (
	buildOnce   sync.Once
	managerPath string
	buildErr    error
)

// ManagerBinary builds cmd/sluice once per test process, stamped with this
// checkout's commit as make build stamps it, and returns its path.
func ManagerBinary() string {
	ginkgo.GinkgoHelper()
	buildOnce.Do(func() {
		commit, err := exec.Command("git", "rev-parse", "HEAD").Output()
		if err != nil {
			buildErr = fmt.Errorf("reading the checkout's commit: %w", err)
			return
		}
		// Static, as make builds it: one build cache for every build.
		managerPath, buildErr = gexec.BuildWithEnvironment("github.com/sluicehq/sluice/cmd/sluice", []string{"CGO_ENABLED=0"}, "-ldflags",
			"-X github.com/sluicehq/sluice/internal/version.Commit="+strings.TrimSpace(string(commit)))
	})
	gomega.Expect(buildErr).NotTo(gomega.HaveOccurred(), "building cmd/sluice")
	return managerPath
}

// Manager is a running sluice manager process.
type Manager struct {
	Session *gexec.Session
	// ProbeURL and MetricsURL are the base URLs of its endpoints.
	ProbeURL   string
	MetricsURL string
}

// StartManager runs the manager binary against a kubeconfig, on free loopback
// ports, with its output in the spec's report. It is stopped when the spec or
// container that started it ends.
func StartManager(kubeconfig string, extraArgs ...string) *Manager {
	ginkgo.GinkgoHelper()
	probe, metrics := freeAddr(), freeAddr()
	args := append([]string{
		"--kubeconfig=" + kubeconfig,
		"--health-probe-bind-address=" + probe,
		"--metrics-bind-address=" + metrics,
	}, extraArgs...)
	session, err := gexec.Start(exec.Command(ManagerBinary(), args...), ginkgo.GinkgoWriter, ginkgo.GinkgoWriter)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	m := &Manager{Session: session, ProbeURL: "http://" + probe, MetricsURL: "http://" + metrics}
	ginkgo.DeferCleanup(m.Stop)
	return m
}

// Stop sends SIGTERM and waits for the manager to exit.
func (m *Manager) Stop() {
	ginkgo.GinkgoHelper()
	m.Session.Terminate()
	gomega.Eventually(m.Session).WithTimeout(30 * time.Second).Should(gexec.Exit())
}

// Kill sends SIGKILL, as a node that dies or the OOM killer would: the
// manager gets no chance to hand over its Lease. It returns once the
// process is gone.
func (m *Manager) Kill() {
	ginkgo.GinkgoHelper()
	m.Session.Kill()
	gomega.Eventually(m.Session).WithTimeout(10 * time.Second).Should(gexec.Exit())
}

// Leads reports whether the manager holds the leader-election Lease named
// lease, as its own /metrics says: controller-runtime sets the gauge
// leader_election_master_status{name="<lease>"} to 1 on the replica that
// leads (every replica serves /metrics). The Lease itself names its holder
// "<hostname>_<uuid>", which two processes on one host cannot be told
// apart by.
func (m *Manager) Leads(lease string) (bool, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(m.MetricsURL + "/metrics") //nolint:noctx // a short-timeout probe in a test
	if err != nil {
		return false, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	leading := fmt.Sprintf("leader_election_master_status{name=%q} 1", lease)
	scanner := bufio.NewScanner(resp.Body)
	for scanner.Scan() {
		if scanner.Text() == leading {
			return true, nil
		}
	}
	return false, scanner.Err()
}

// HTTPStatus returns a function for Eventually that GETs a URL and yields its
// status code, or an error while nothing listens.
func HTTPStatus(url string) func() (int, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	return func() (int, error) {
		resp, err := client.Get(url) //nolint:noctx // a short-timeout probe in a test
		if err != nil {
			return 0, err
		}
		defer func() { _ = resp.Body.Close() }()
		return resp.StatusCode, nil
	}
}

// SecureMetricsStatus returns a function for Eventually that GETs the
// manager's /metrics over HTTPS, as served with --metrics-secure, with a
// bearer token (none when empty), and yields the status code. The
// certificate is the one the manager makes itself at start-up, so it is not
// verified: what such a spec checks is who may read.
func (m *Manager) SecureMetricsStatus(bearer string) func() (int, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	}}
	url := strings.Replace(m.MetricsURL, "http://", "https://", 1) + "/metrics"
	return func() (int, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil) //nolint:noctx // a short-timeout probe in a test
		if err != nil {
			return 0, err
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer func() { _ = resp.Body.Close() }()
		return resp.StatusCode, nil
	}
}

func freeAddr() string {
	ginkgo.GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	defer func() { _ = l.Close() }()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
