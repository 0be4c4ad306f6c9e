// Package integration holds the suites that run against a real kube-apiserver
// and etcd (envtest) with Sluice's CRDs and the Gateway API CRDs installed,
// and kube-controller-manager's garbage collector, but no nodes: nothing
// turns a ReplicaSet into Pods here.
package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/simcluster"
)

var (
	testEnv    *envtest.Environment
	cfg        *rest.Config
	k8sClient  client.Client
	kubeconfig string
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	// Specs pass their context to Eventually; without this, a context with
	// no deadline would let a failing Eventually wait forever.
	EnforceDefaultTimeoutsWhenUsingContexts()
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Integration")
}

var _ = BeforeSuite(func(ctx context.Context) {
	binDir, err := simcluster.DefaultBinDir()
	Expect(err).NotTo(HaveOccurred())
	crdPaths, err := simcluster.DefaultCRDPaths()
	Expect(err).NotTo(HaveOccurred())

	testEnv = &envtest.Environment{
		BinaryAssetsDirectory: binDir,
		CRDDirectoryPaths:     crdPaths,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme.New(),
	}
	cfg, err = testEnv.Start()
	// Registered before the check: a Start that fails late (installing the
	// CRDs) leaves etcd and kube-apiserver running.
	DeferCleanup(testEnv.Stop)
	Expect(err).NotTo(HaveOccurred(), "run `make test-tools` to build kube-apiserver and etcd")

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme.New()})
	Expect(err).NotTo(HaveOccurred())

	kubeconfig = writeKubeconfig(testEnv, cfg, envtest.User{Name: "integration-admin", Groups: []string{"system:masters"}})
	startGarbageCollector(ctx, binDir, kubeconfig)
})
