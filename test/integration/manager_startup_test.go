package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/framework"
	"github.com/sluicehq/sluice/test/simcluster"
	"github.com/sluicehq/sluice/traffic"
)

// A chart or `kubectl apply -k` creates the CRDs and the manager together:
// the manager must wait for its CRDs, not exit, and pick up Gateway API's
// when they come later. This runs against an API server of its own, started
// with no CRDs at all.
var _ = Describe("The manager started before its CRDs", Ordered, func() {
	var (
		env     *envtest.Environment
		c       client.Client
		m       *framework.Manager
		ourCRDs string
		gateway string
	)

	BeforeAll(func() {
		binDir, err := simcluster.DefaultBinDir()
		Expect(err).NotTo(HaveOccurred())
		paths, err := simcluster.DefaultCRDPaths()
		Expect(err).NotTo(HaveOccurred())
		ourCRDs, gateway = paths[0], paths[1]
		Expect(filepath.Base(ourCRDs)).To(Equal("bases"))

		env = &envtest.Environment{BinaryAssetsDirectory: binDir, Scheme: scheme.New()}
		config, err := env.Start()
		DeferCleanup(env.Stop)
		Expect(err).NotTo(HaveOccurred())
		c, err = client.New(config, client.Options{Scheme: scheme.New()})
		Expect(err).NotTo(HaveOccurred())
		m = framework.StartManager(writeKubeconfig(env, config, envtest.User{Name: "admin", Groups: []string{"system:masters"}}), "--leader-elect=false")
	})

	readyz := func() (string, error) {
		resp, err := http.Get(m.ProbeURL + "/readyz") //nolint:noctx // a probe in a test
		if err != nil {
			return "", err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return resp.Status + " " + string(body), err
	}

	It("stays up, alive and not ready, naming the CRDs it waits for", func(ctx context.Context) {
		Eventually(readyz).WithContext(ctx).Should(And(
			HavePrefix("503"),
			ContainSubstring("rollouts.argoproj.io/v1alpha1"),
			ContainSubstring("analysisruns.argoproj.io/v1alpha1"),
			ContainSubstring("applications.gitops.sluice.dev/v1alpha1")))
		Eventually(framework.HTTPStatus(m.ProbeURL + "/healthz")).WithContext(ctx).Should(Equal(http.StatusOK))
		Consistently(m.Session).WithTimeout(3 * time.Second).ShouldNot(gexec.Exit())
	})

	It("exits cleanly when stopped while it waits", func(ctx context.Context) {
		other := framework.StartManager(writeKubeconfig(env, env.Config, envtest.User{Name: "admin", Groups: []string{"system:masters"}}),
			"--leader-elect=false")
		Eventually(framework.HTTPStatus(other.ProbeURL + "/readyz")).WithContext(ctx).Should(Equal(http.StatusServiceUnavailable))
		other.Session.Terminate()
		Eventually(other.Session).WithContext(ctx).Should(gexec.Exit(0))
	})

	It("starts once they are established, and reconciles", func(ctx context.Context) {
		_, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{ourCRDs}, ErrorIfPathMissing: true})
		Expect(err).NotTo(HaveOccurred())
		Eventually(readyz).WithContext(ctx).Should(HavePrefix("200"))

		Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "late-crds"}})).To(Succeed())
		Expect(c.Create(ctx, builders.Service("late-crds", "web-canary", "web"))).To(Succeed())
		Expect(c.Create(ctx, builders.Service("late-crds", "web-stable", "web"))).To(Succeed())
		ro := builders.Rollout("web").Namespace("late-crds").Replicas(2).Services("web-canary", "web-stable").
			Canary(builders.SetWeight(50), builders.Pause()).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				Plugins: map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"web"}`)},
			}
		}).Obj()
		Expect(c.Create(ctx, ro)).To(Succeed())
		// Gateway API is not installed: the route cannot exist yet.
		Eventually(func(g Gomega) string {
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			return ro.Status.Message
		}).WithContext(ctx).Should(ContainSubstring("HTTPRoute late-crds/web not found"))
	})

	It("watches Gateway API's routes once their CRDs appear, without a restart", func(ctx context.Context) {
		_, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{Paths: []string{gateway}, ErrorIfPathMissing: true})
		Expect(err).NotTo(HaveOccurred())
		backend := func(name string) gatewayv1.HTTPBackendRef {
			return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
				Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)}}}
		}
		// Creating the route is the only nudge: the Rollout must be woken by
		// the route's watch, which starts only after the CRDs appeared.
		Eventually(func() error {
			return c.Create(ctx, &gatewayv1.HTTPRoute{
				ObjectMeta: metav1.ObjectMeta{Namespace: "late-crds", Name: "web"},
				Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{
					BackendRefs: []gatewayv1.HTTPBackendRef{backend("web-stable"), backend("web-canary")}}}},
			})
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) string {
			ro := &rolloutsv1alpha1.Rollout{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "late-crds", Name: "web"}, ro)).To(Succeed())
			return ro.Status.Message
		}).WithContext(ctx).WithTimeout(time.Minute).ShouldNot(ContainSubstring("not found"))
		Expect(m.Session).NotTo(gexec.Exit())
	})
})
