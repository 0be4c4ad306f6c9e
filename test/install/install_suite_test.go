// Package install_test checks the two ways Sluice installs into a cluster:
// the Helm chart (charts/sluice) with each of its documented values, and
// the kustomization (config/default), which must install what the chart
// installs by default. Nothing here needs a cluster: the chart is linted
// and rendered with the helm binary `make test-tools` builds, and every
// object is decoded strictly into its Go type.
package install_test

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sluicehq/sluice/internal/repo"
)

func TestInstall(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Install")
}

// The checkout, the chart and the helm binary every spec uses.
var (
	root     string
	chartDir string
	helmBin  string
)

var _ = BeforeSuite(func() {
	var err error
	root, err = repo.Root()
	Expect(err).NotTo(HaveOccurred())
	chartDir = filepath.Join(root, "charts", "sluice")

	binDir := os.Getenv("SLUICE_BIN_DIR")
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	helmBin = filepath.Join(binDir, "helm")
	_, err = os.Stat(helmBin)
	Expect(err).NotTo(HaveOccurred(), "helm is missing from %s: run `make test-tools` to build it", binDir)
})
