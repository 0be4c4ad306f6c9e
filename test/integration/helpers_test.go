package integration

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// writeKubeconfig writes a system:masters kubeconfig for the test API server
// and returns its path, for binaries under test.
func writeKubeconfig(env *envtest.Environment, config *rest.Config) string {
	GinkgoHelper()
	user, err := env.AddUser(envtest.User{Name: "integration-admin", Groups: []string{"system:masters"}}, config)
	Expect(err).NotTo(HaveOccurred())
	data, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	return path
}
