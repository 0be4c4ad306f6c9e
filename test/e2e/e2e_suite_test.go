// Package e2e holds the end-to-end suites: they run on the simulated cluster
// (test/simcluster), with real Pods on kwok's fake nodes.
package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/simcluster"
)

var (
	cluster   *simcluster.Cluster
	k8sClient client.Client
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	// Specs pass their context to Eventually; without this, a context with
	// no deadline would let a failing Eventually wait forever.
	EnforceDefaultTimeoutsWhenUsingContexts()
	SetDefaultEventuallyTimeout(time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	RunSpecs(t, "End-to-end")
}

var _ = BeforeSuite(func(ctx context.Context) {
	// The suite's own clients log through controller-runtime, which
	// otherwise complains, thirty seconds in, that no logger was set.
	logf.SetLogger(GinkgoLogr)
	simcluster.ReapAbandoned(os.TempDir(), "sluice-e2e-")
	stateDir, err := os.MkdirTemp("", "sluice-e2e-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, stateDir)

	// Gateway API's CRDs and Flux's two (which the chart leaves out by
	// default): Sluice's own come with its chart, below.
	crds, err := simcluster.DefaultCRDPaths()
	Expect(err).NotTo(HaveOccurred())
	cluster, err = simcluster.Start(ctx, simcluster.Options{StateDir: stateDir, Progress: GinkgoWriter, CRDPaths: crds[1:]})
	Expect(err).NotTo(HaveOccurred())
	// Stopped even when a spec fails or the run is interrupted.
	DeferCleanup(cluster.Stop)

	k8sClient, err = client.New(cluster.Config, client.Options{Scheme: scheme.New()})
	Expect(err).NotTo(HaveOccurred())

	installChart(ctx)
}, NodeTimeout(4*time.Minute))
