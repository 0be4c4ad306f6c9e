package integration

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sluicehq/sluice/controllers"
	"github.com/sluicehq/sluice/controllers/rollout"
	"github.com/sluicehq/sluice/internal/events"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/scheme"
)

// startRolloutController runs the Rollout controller in this process against
// the test API server, as the manager wires it, until the container that
// started it ends. Every API write it makes, events included, is counted.
func startRolloutController(instanceID string) *writeCounter {
	GinkgoHelper()
	return startController(instanceID, func(mgr ctrl.Manager) error {
		return rollout.Setup(mgr, rollout.Options{Scope: instance.Scope{ID: instanceID}})
	})
}

// startController runs one controller in this process the same way.
func startController(instanceID string, setup func(ctrl.Manager) error) *writeCounter {
	GinkgoHelper()
	writes := &writeCounter{}
	counted := rest.CopyConfig(cfg)
	counted.WrapTransport = writes.wrap
	mgr := newTestManager(counted, instanceID)
	Expect(setup(mgr)).To(Succeed())
	DeferCleanup(runManager(mgr))
	return writes
}

// newTestManager is a manager as the suite's specs make them: logging to
// the spec's output, no metrics or probe servers, the cache selecting and
// stripping what the manager's does for every controller and kind.
func newTestManager(restConfig *rest.Config, instanceID string) ctrl.Manager {
	GinkgoHelper()
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true), zap.Level(zapcore.Level(-1))))
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 scheme.New(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Several specs start a controller of the same name in one process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Cache: cache.Options{
			DefaultTransform: controllers.CacheTransform(),
			ByObject:         controllers.CacheSelectors(instance.Scope{ID: instanceID}, controllers.Default.Names(), controllers.Kinds{ArgoCDApplications: true, Flux: true}),
		},
	})
	Expect(err).NotTo(HaveOccurred())
	mgr, err = events.Install(mgr)
	Expect(err).NotTo(HaveOccurred())
	return mgr
}

// runManager starts mgr; stop ends it and waits until it stopped, once
// however often it is called.
func runManager(mgr ctrl.Manager) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
	})
}

// newNamespaceWithFakeKubelet creates a namespace whose ReplicaSets get
// available pods at once, until the container that made it ends.
func newNamespaceWithFakeKubelet(prefix string) string {
	GinkgoHelper()
	namespace := newNamespace(context.Background(), prefix)
	ctx, cancel := context.WithCancel(context.Background())
	DeferCleanup(cancel)
	startFakeKubelet(ctx, namespace)
	return namespace
}

// newNamespace creates a namespace named from prefix and returns its name.
func newNamespace(ctx context.Context, prefix string) string {
	GinkgoHelper()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
	return namespace.Name
}

// writeCounter counts the create, update, patch and delete requests that go
// through a transport and, apart, every request: reads, lists, watches and
// dry runs too.
type writeCounter struct {
	mu     sync.Mutex
	counts map[string]int
	last   time.Time
	// all counts every request, by verb and resource; lastRequest is when
	// the last one went.
	all         map[string]int
	lastRequest time.Time
	// scope, when set, says which requests count.
	scope func(path string) bool
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		w.mu.Lock()
		if w.counts == nil {
			w.counts = map[string]int{}
		}
		if w.all == nil {
			w.all = map[string]int{}
		}
		if w.scope != nil && !w.scope(req.URL.Path) {
			w.mu.Unlock()
			return rt.RoundTrip(req)
		}
		w.all[requestKind(req)]++
		w.lastRequest = time.Now()
		if req.Method != http.MethodGet {
			w.counts[req.Method+" "+resourceOf(req.URL.Path)]++
			w.last = time.Now()
		}
		w.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// requestKind names a request for the counts: its verb (WATCH for a GET
// that watches), its resource, and whether it was a dry run.
func requestKind(req *http.Request) string {
	verb := req.Method
	query := req.URL.Query()
	if verb == http.MethodGet && query.Get("watch") == "true" {
		verb = "WATCH"
	}
	kind := verb + " " + resourceOf(req.URL.Path)
	if query.Has("dryRun") {
		kind += " (dry run)"
	}
	return kind
}

// only counts, from now on, the requests whose path scope accepts: those
// of one spec's objects, when Applications other specs left behind go on
// being synced by the same manager.
func (w *writeCounter) only(scope func(path string) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.scope = scope
}

// inNamespaces accepts the paths of objects in namespaces, and of the
// namespaces themselves.
func inNamespaces(namespaces ...string) func(string) bool {
	return func(path string) bool {
		for _, ns := range namespaces {
			if strings.Contains(path+"/", "/namespaces/"+ns+"/") {
				return true
			}
		}
		return false
	}
}

func (w *writeCounter) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.counts = map[string]int{}
	w.all = map[string]int{}
}

func (w *writeCounter) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return countsTotal(w.counts)
}

func (w *writeCounter) summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return countsSummary(w.counts)
}

// requests is how many requests of any kind went since the last reset.
func (w *writeCounter) requests() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return countsTotal(w.all)
}

// requestsOn is how many requests went on one resource (such as
// "configmaps") since the last reset.
func (w *writeCounter) requestsOn(resource string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for kind, c := range w.all {
		if strings.Fields(kind)[1] == resource {
			n += c
		}
	}
	return n
}

// dryRuns is how many dry runs went on one resource (such as
// "deployments") since the last reset.
func (w *writeCounter) dryRuns(resource string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for kind, c := range w.all {
		if strings.Fields(kind)[1] == resource && strings.HasSuffix(kind, " (dry run)") {
			n += c
		}
	}
	return n
}

func (w *writeCounter) requestSummary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return countsSummary(w.all)
}

func countsTotal(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func countsSummary(counts map[string]int) string {
	var parts []string
	for k, c := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, c))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%d in all: %s", countsTotal(counts), strings.Join(parts, ", "))
}

// waitQuiet waits until no write has been seen for two seconds, so writes a
// reconcile makes late are counted too.
func (w *writeCounter) waitQuiet(ctx context.Context) {
	GinkgoHelper()
	Eventually(func() time.Duration {
		w.mu.Lock()
		defer w.mu.Unlock()
		return time.Since(w.last)
	}).WithContext(ctx).Should(BeNumerically(">", 2*time.Second))
}

// waitRequestsQuiet waits until no request of any kind has been seen for
// two seconds.
func (w *writeCounter) waitRequestsQuiet(ctx context.Context) {
	GinkgoHelper()
	Eventually(func() time.Duration {
		w.mu.Lock()
		defer w.mu.Unlock()
		return time.Since(w.lastRequest)
	}).WithContext(ctx).Should(BeNumerically(">", 2*time.Second))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// resourceOf shortens an API path to its resource (and subresource).
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		if p == "namespaces" && i+2 < len(parts) {
			return strings.Join(parts[i+2:min(len(parts), i+2+1)], "/") + subresource(parts[i+2:])
		}
	}
	return parts[len(parts)-1]
}

func subresource(rest []string) string {
	if len(rest) == 3 {
		return "/" + rest[2]
	}
	return ""
}

// startFakeKubelet plays the kubelet and the ReplicaSet controller for one
// namespace: every ReplicaSet's pods exist and are available as soon as its
// spec asks for them.
func startFakeKubelet(ctx context.Context, ns string) {
	startFakeKubeletOf(ctx, k8sClient, ns)
}

// startFakeKubeletOf does what startFakeKubelet does through the client c,
// for a spec with an API server of its own.
func startFakeKubeletOf(ctx context.Context, k8sClient client.Client, ns string) {
	go func() {
		defer GinkgoRecover()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var rss appsv1.ReplicaSetList
			if err := k8sClient.List(ctx, &rss, client.InNamespace(ns)); err != nil {
				continue
			}
			for i := range rss.Items {
				rs := &rss.Items[i]
				n := *rs.Spec.Replicas
				if rs.Status.Replicas == n && rs.Status.AvailableReplicas == n && rs.Status.ObservedGeneration == rs.Generation {
					continue
				}
				rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = n, n, n
				rs.Status.FullyLabeledReplicas = n
				rs.Status.ObservedGeneration = rs.Generation
				_ = k8sClient.Status().Update(ctx, rs)
			}
		}
	}()
}

func waitHealthyAt(ctx context.Context, ro *rolloutsv1alpha1.Rollout, image string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var got rolloutsv1alpha1.Rollout
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), &got)).To(Succeed())
		g.Expect(got.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), got.Status.Message)
		g.Expect(got.Status.StableRS).To(Equal(got.Status.CurrentPodHash))
		var rss appsv1.ReplicaSetList
		g.Expect(k8sClient.List(ctx, &rss, client.InNamespace(ro.Namespace))).To(Succeed())
		for _, rs := range rss.Items {
			if rs.Spec.Template.Spec.Containers[0].Image == image {
				g.Expect(rs.Status.AvailableReplicas).To(Equal(*ro.Spec.Replicas))
			} else {
				g.Expect(*rs.Spec.Replicas).To(BeZero())
			}
		}
	}).WithContext(ctx).Should(Succeed())
}
