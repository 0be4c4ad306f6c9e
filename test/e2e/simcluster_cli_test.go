package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

// The simcluster command is how people and the demo run a cluster; these
// specs run a second, one-node cluster beside the suite's own.
var _ = Describe("The simcluster command", Ordered, func() {
	var binary, stateDir string

	run := func(args ...string) *gexec.Session {
		GinkgoHelper()
		cmd := exec.Command(binary, append(args, "--state-dir", stateDir)...)
		session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(session).WithTimeout(3 * time.Minute).Should(gexec.Exit())
		return session
	}

	BeforeAll(func() {
		var err error
		binary, err = gexec.Build("github.com/sluicehq/sluice/test/cmd/simcluster")
		Expect(err).NotTo(HaveOccurred())
		stateDir, err = os.MkdirTemp("", "sluice-simcluster-cli-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			run("down") // in case a spec failed half-way
			Expect(os.RemoveAll(stateDir)).To(Succeed())
		})
	})

	It("starts a cluster in the background and prints its KUBECONFIG", func() {
		up := run("up", "--nodes=1")
		Expect(up.ExitCode()).To(Equal(0), string(up.Err.Contents()))
		Expect(string(up.Out.Contents())).To(ContainSubstring("export KUBECONFIG=" + filepath.Join(stateDir, "kubeconfig")))
	})

	It("reports the running cluster and its ready node", func() {
		status := run("status")
		Expect(status.ExitCode()).To(Equal(0))
		Expect(string(status.Out.Contents())).To(ContainSubstring("node kwok-node-0 ready=True"))
	})

	It("refuses a second up while one is running", func() {
		second := run("up", "--nodes=1")
		Expect(second.ExitCode()).NotTo(Equal(0))
		Expect(string(second.Err.Contents())).To(ContainSubstring("a simulated cluster is already running"))
	})

	It("stops every process on down", func() {
		Expect(processesMentioning(stateDir)).NotTo(BeEmpty(), "the cluster's processes run before down")
		down := run("down")
		Expect(down.ExitCode()).To(Equal(0))
		Expect(processesMentioning(stateDir)).To(BeEmpty())
		Expect(run("status").ExitCode()).NotTo(Equal(0))
	})
})

// processesMentioning lists the command lines of running processes that name
// a path inside dir: every component of a simulated cluster does.
func processesMentioning(dir string) []string {
	GinkgoHelper()
	entries, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	var found []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), dir+"/") {
			continue
		}
		found = append(found, strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}
