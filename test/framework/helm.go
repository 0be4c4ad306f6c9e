package framework

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/test/simcluster"
)

// Helm runs the helm binary of the tools cache against a kubeconfig and
// returns what it printed.
func Helm(kubeconfig string, args ...string) string {
	ginkgo.GinkgoHelper()
	binDir, err := simcluster.DefaultBinDir()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	cmd := exec.Command(filepath.Join(binDir, "helm"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	gomega.Expect(cmd.Run()).To(gomega.Succeed(), "helm %s (run `make test-tools` if helm is missing):\n%s", strings.Join(args, " "), stderr.String())
	return stdout.String()
}

// ChartDir is the checkout's charts/sluice.
func ChartDir() string {
	ginkgo.GinkgoHelper()
	root, err := repo.Root()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return filepath.Join(root, "charts", "sluice")
}

// HostArgs reads the manager's arguments from the Deployment of an
// installed release, for running that manager on the host instead: the
// simulated cluster's nodes run no containers. The arguments that only make
// sense inside the pod are left out: the listen addresses (the host gets
// free ports), the Git cache path (a directory of the pod's) and
// --metrics-secure (the suites scrape plain HTTP; the secure endpoint has
// its own integration spec).
func HostArgs(kubeconfig, release, namespace string) []string {
	ginkgo.GinkgoHelper()
	manifest := Helm(kubeconfig, "get", "manifest", release, "-n", namespace)
	decoder := yaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var d appsv1.Deployment
		if err := decoder.Decode(&d); err != nil {
			break
		}
		if d.Kind != "Deployment" {
			continue
		}
		var args []string
		for _, arg := range d.Spec.Template.Spec.Containers[0].Args {
			name, _, _ := strings.Cut(arg, "=")
			if !slices.Contains(podOnlyFlags, name) {
				args = append(args, arg)
			}
		}
		return args
	}
	ginkgo.Fail("release " + release + " has no Deployment")
	return nil
}

var podOnlyFlags = []string{
	"--health-probe-bind-address", "--metrics-bind-address", "--metrics-secure", "--git-cache-dir", "--webhook-bind-address",
}
