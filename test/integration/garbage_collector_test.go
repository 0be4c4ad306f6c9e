package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sluicehq/sluice/test/simcluster"
)

// startGarbageCollector runs kube-controller-manager's garbage collector
// against the suite's API server until the suite ends. Without it nothing
// finishes a foreground deletion (the API server only marks the object
// with the foregroundDeletion finalizer), and deleting an Application
// deletes its objects in the foreground by default. Only the garbage
// collector runs: no other controller acts on the specs' objects.
func startGarbageCollector(ctx context.Context, binDir, kubeconfig string) {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	port := l.Addr().(*net.TCPAddr).Port
	Expect(l.Close()).To(Succeed())
	stateDir := GinkgoT().TempDir()
	gc, err := simcluster.StartLogged("kube-controller-manager", filepath.Join(binDir, "kube-controller-manager"), stateDir,
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		"--leader-elect=false",
		"--secure-port="+strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--cert-dir="+filepath.Join(stateDir, "certs"),
		"--use-service-account-credentials=false",
		"--controllers=garbagecollector",
	)
	Expect(err).NotTo(HaveOccurred(), "run `make integration-tools` to build kube-controller-manager")
	DeferCleanup(gc.Stop)
	// Its health endpoint is HTTPS with a certificate of its own making,
	// on loopback.
	health := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	Eventually(func() error {
		if !gc.Running() {
			return StopTrying(fmt.Sprintf("kube-controller-manager exited (%v); its log is in %s", gc.ExitError(), stateDir))
		}
		resp, err := health.Get(fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz answered %s", resp.Status)
		}
		return nil
	}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
}
