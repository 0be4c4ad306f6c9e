package integration

import (
	"context"
	"net"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers/application"
)

// A Git server that accepts connections and never answers: a repository
// whose host hangs, as an overloaded or firewalled one does.
type blackHole struct {
	listener net.Listener
	accepted chan struct{}
	mu       sync.Mutex
	conns    []net.Conn
}

func startBlackHole() *blackHole {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	b := &blackHole{listener: l, accepted: make(chan struct{}, 100)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			b.accepted <- struct{}{}
		}
	}()
	return b
}

func (b *blackHole) stop() {
	_ = b.listener.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		_ = c.Close()
	}
}

var _ = Describe("Applications sync side by side", Ordered, func() {
	It("syncs one Application while another's Git server hangs", func(ctx context.Context) {
		server := startGitServer()
		hole := startBlackHole()
		DeferCleanup(hole.stop)
		startApplicationController(application.Options{Concurrency: 4})
		namespace := newNamespace(ctx, "side-by-side-")

		stuck := newApplication(ctx, namespace, "stuck", appDir("http://"+hole.listener.Addr().String()+"/slow.git"),
			namespace+"-stuck", true)
		// Later specs' controllers would try it again.
		DeferCleanup(func(ctx context.Context) { Expect(k8sClient.Delete(ctx, stuck)).To(Succeed()) })
		Eventually(hole.accepted).WithContext(ctx).Should(Receive(), "the first Application's sync is waiting on its Git server")

		repo, err := server.Create("side-by-side")
		Expect(err).NotTo(HaveOccurred())
		Expect(repo.Write(map[string]string{"app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"})).To(Succeed())
		first, err := repo.Commit("main", "first")
		Expect(err).NotTo(HaveOccurred())
		other := newApplication(ctx, namespace, "other", appDir(repo.URL), namespace+"-other", true)
		// The stuck sync waits for its timeout (5 min); the other does not.
		expectSynced(ctx, client.ObjectKeyFromObject(other), first)
	})
})
