package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/browser"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/framework"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/test/promtest"
	"github.com/sluicehq/sluice/traffic"
)

// kubectl sluice dashboard in a headless Chromium, read and clicked through
// the data-test attributes the dashboard keeps for its tests: what a person
// sees and does, on live objects. Each page is a fresh browser; its screenshots
// go to .reports/screenshots (make dashboard-screenshots copies them into
// docs/images/dashboard).
var _ = Describe("The dashboard in a browser on the simulated cluster", Ordered, ContinueOnFailure, Label("dashboard"), func() {
	var (
		plugin   string
		repo     *gitserver.Repo
		exporter *promtest.Exporter
		prom     *promtest.Prometheus
	)

	BeforeAll(func(ctx context.Context) {
		// Before anything starts: without Chromium these specs fail, and
		// say how to get it.
		_, err := browser.ExecPath()
		Expect(err).NotTo(HaveOccurred())
		plugin, err = gexec.Build("github.com/sluicehq/sluice/cmd/kubectl-sluice")
		Expect(err).NotTo(HaveOccurred())
		var cache string
		repo, cache = gitRepoAndCache("shop")
		exporter, prom = startPrometheus(ctx)
		startManager("--leader-elect=false", "--git-cache-dir="+cache)
	})

	// dashboard runs `kubectl sluice dashboard` as the kubeconfig's user
	// until the spec ends, and returns its URL.
	dashboard := func(kubeconfig, ns string) string {
		GinkgoHelper()
		return startDashboard(plugin, kubeconfig, ns)
	}

	Context("with a canary paused at its step", Ordered, func() {
		var (
			ns string
			ro *rolloutsv1alpha1.Rollout
		)

		BeforeAll(func(ctx context.Context) {
			ns = newNamespace(ctx, "dashboard-")
			ro = pausedRoutedCanary(ctx, ns)
		})

		It("fits the Rollout page on a phone", func(ctx context.Context) {
			page := openPage(ctx, browser.Phone, dashboard(cluster.KubeconfigPath, ns)+rolloutPath(ns, "shop"))
			Eventually(page.Text).WithArguments("[data-test=rollout-phase]").Should(Equal("Paused"))
			Eventually(page.Attr).WithArguments(canaryWeight, "data-weight").Should(Equal("25"))
			width, err := browser.Eval[int](page, `document.documentElement.scrollWidth`)
			Expect(err).NotTo(HaveOccurred())
			AddReportEntry("the Rollout page's width on a 390 px wide phone", width)
			screenshot(page, "rollout-phone.png")
		})

		It("shows the API server's refusal to a user who may only read, and leaves the Rollout as it was", func(ctx context.Context) {
			kubeconfig := readOnlyKubeconfig(ctx, ns)
			before := ro.DeepCopy()
			page := openPage(ctx, browser.Laptop, dashboard(kubeconfig, ns)+rolloutPath(ns, "shop"))
			Eventually(page.Text).WithArguments("[data-test=rollout-phase]").Should(Equal("Paused"), "the reader sees the Rollout")

			Expect(page.Click("button[data-action=promote]")).To(Succeed())
			Eventually(func() (string, error) {
				confirmIfAsked(page)
				return page.Attr("[data-test=action-result]", "data-ok")
			}).WithContext(ctx).Should(Equal("false"))
			Expect(page.Text("[data-test=action-result]")).To(ContainSubstring("forbidden"))
			screenshot(page, "forbidden.png")

			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			Expect(ro.Generation).To(Equal(before.Generation))
			Expect(ro.Spec.Paused).To(Equal(before.Spec.Paused))
			Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
			Expect(ro.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(1)))
			Expect(ro.Status.PauseConditions).To(Equal(before.Status.PauseConditions))
		})

		It("shows the phase, the step and the route's weights, and promotes to the next step and to Healthy without a reload", func(ctx context.Context) {
			page := newPage(ctx, browser.Laptop)
			Expect(page.WatchShown("[data-test=rollout-phase]")).To(Succeed())
			show(page, dashboard(cluster.KubeconfigPath, ns)+rolloutPath(ns, "shop"))
			shown, err := page.ShownAfter("[data-test=rollout-phase]")
			Expect(err).NotTo(HaveOccurred())
			recordLoad(page, shown)

			Eventually(page.Text).WithArguments("[data-test=rollout-phase]").Should(Equal("Paused"))
			Eventually(page.Text).WithArguments("[data-test=current-step]").Should(Equal("2/4"))
			Expect(currentStepIndex(page)).To(Equal(1), "the second li[data-test=step] is data-current")
			Expect(page.Count("li[data-test=step]")).To(Equal(4))
			Eventually(page.Attr).WithArguments(canaryWeight, "data-weight").Should(Equal("25"))
			Expect(page.Attr(stableWeight, "data-weight")).To(Equal("75"))
			Expect(page.Text(canaryWeight)).To(ContainSubstring("25%"))
			markLoaded(page)
			screenshot(page, "rollout-paused.png")

			By("Promote: the page follows to the next pause")
			Expect(page.Click("button[data-action=promote]")).To(Succeed())
			Eventually(page.Attr).WithArguments("[data-test=action-result]", "data-ok").Should(Equal("true"))
			Eventually(page.Text).WithArguments("[data-test=current-step]").Should(Equal("4/4"))
			Eventually(page.Attr).WithArguments(canaryWeight, "data-weight").Should(Equal("75"))
			Eventually(page.Text).WithArguments("[data-test=rollout-phase]").Should(Equal("Paused"))
			Expect(currentStepIndex(page)).To(Equal(3))
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			Expect(ro.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(3)))

			By("Promote again: Healthy")
			Expect(page.Click("button[data-action=promote]")).To(Succeed())
			Eventually(page.Text).WithArguments("[data-test=rollout-phase]").WithTimeout(2 * time.Minute).Should(Equal("Healthy"))
			Expect(notReloaded(page)).To(BeTrue(), "the page updated itself: the same document since the first load")
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		})
	})

	It("shows an Application going OutOfSync on a commit and Synced at the new revision after Sync, with its Rollout in the tree", func(ctx context.Context) {
		ns := newNamespace(ctx, "dashboard-app-")
		Expect(repo.Write(shopManifests("1.0"))).To(Succeed())
		first, err := repo.Commit("main", "shop 1.0")
		Expect(err).NotTo(HaveOccurred())
		app := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:             gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: "apps/shop"},
				Destination:        gitopsv1alpha1.ApplicationDestination{Namespace: ns},
				ServiceAccountName: deliverer(ctx, ns, ""),
				// Synced by hand, from the page.
				Interval: metav1.Duration{Duration: 2 * time.Second},
			},
		}
		Expect(k8sClient.Create(ctx, app)).To(Succeed())
		DeferCleanup(deleteApplication, app)

		page := openPage(ctx, browser.Laptop, dashboard(cluster.KubeconfigPath, ns)+fmt.Sprintf("#/ns/%s/applications/shop", ns))
		markLoaded(page)
		Eventually(page.Text).WithArguments("[data-test=app-sync]").Should(Equal("OutOfSync"), "nothing applied yet")
		sync := func(revision string) {
			GinkgoHelper()
			Expect(page.Click("button[data-action=sync]")).To(Succeed())
			Eventually(page.Text).WithArguments("[data-test=app-revision]").Should(Equal(revision))
			Eventually(page.Text).WithArguments("[data-test=app-sync]").Should(Equal("Synced"))
		}
		sync(first)
		Eventually(page.Text).WithArguments("[data-test=app-health]").Should(Equal("Healthy"))

		By("a commit: OutOfSync until synced again")
		Expect(repo.Write(shopManifests("1.1"))).To(Succeed())
		second, err := repo.Commit("main", "shop 1.1")
		Expect(err).NotTo(HaveOccurred())
		Eventually(page.Text).WithArguments("[data-test=app-sync]").Should(Equal("OutOfSync"))
		sync(second)
		Eventually(page.Text).WithArguments("[data-test=app-health]").Should(Equal("Healthy"))
		rolloutNode := `[data-test=tree-node][data-kind=Rollout][data-name=shop]`
		Eventually(page.Attr).WithArguments(rolloutNode, "data-sync").Should(Equal("Synced"))
		Eventually(page.Count).WithArguments("tr[data-test=history-row]").Should(BeNumerically(">=", 2))
		Expect(notReloaded(page)).To(BeTrue(), "the page updated itself: the same document since the first load")
		Eventually(page.Text).WithArguments("[data-test=app-message]").Should(HavePrefix("shop 1.1"),
			"the page shows the synced commit's subject")
		screenshot(page, "application.png")

		By("the list of Applications, in the same page")
		goTo(page, fmt.Sprintf("#/ns/%s/applications", ns))
		row := `tr[data-test=app-row][data-name=shop]`
		Eventually(page.Text).WithArguments(row + ` [data-test=app-sync]`).Should(Equal("Synced"))
		Expect(page.Text(row + ` [data-test=app-health]`)).To(Equal("Healthy"))
		Expect(notReloaded(page)).To(BeTrue())

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		Expect(app.Status.Sync).To(And(HaveField("Status", gitopsv1alpha1.SyncStatusSynced), HaveField("Revision", second),
			HaveField("Commit.Subject", "shop 1.1")))
	})

	It("draws one point per measurement of an analysis run's metric", func(ctx context.Context) {
		ns := newNamespace(ctx, "dashboard-analysis-")
		Expect(k8sClient.Create(ctx, errorRateTemplate(ns, prom, func(m *rolloutsv1alpha1.Metric) {
			m.Count = ptr.To(intstr.FromInt32(3))
		}))).To(Succeed())
		setScraped(ctx, exporter, prom, `demo_error_rate{app="checkout"}`, 0.01)
		ro := deployAndUpdate(ctx, builders.Rollout("checkout").Namespace(ns).Replicas(2).Image("registry.example/app:v1").Canary(
			builders.SetWeight(25),
			rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}},
				Args:      []rolloutsv1alpha1.AnalysisRunArgument{{Name: "app", Value: "checkout"}},
			}},
			builders.Pause(),
		).Obj())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), ro.Status.Message)
			g.Expect(ro.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(2)), "past the analysis")
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		run := stepRun(ctx, ro)
		Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		Expect(run.Status.MetricResults).To(HaveLen(1))
		var phases []string
		for _, m := range run.Status.MetricResults[0].Measurements {
			phases = append(phases, string(m.Phase))
		}
		Expect(phases).To(ContainElement("Successful"))

		page := openPage(ctx, browser.Laptop, dashboard(cluster.KubeconfigPath, ns)+rolloutPath(ns, "checkout"))
		chart := fmt.Sprintf(`[data-test=analysis-run][data-name=%q] svg[data-test=metric-chart][data-metric="error-rate"]`, run.Name)
		Expect(page.WaitVisible(chart)).To(Succeed())
		Eventually(page.Count).WithArguments(chart + ` circle[data-test=measurement]`).Should(Equal(len(phases)))
		Expect(browser.Eval[[]string](page, fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(c => c.getAttribute("data-phase"))`,
			chart+` circle[data-test=measurement]`))).To(Equal(phases), "one point per measurement, in order, with its verdict")
		screenshot(page, "analysis.png")

		By("the list of Rollouts, in the same page")
		markLoaded(page)
		goTo(page, fmt.Sprintf("#/ns/%s/rollouts", ns))
		Eventually(page.Text).WithArguments(`tr[data-test=rollout-row][data-name=checkout] [data-test=phase]`).Should(Equal("Paused"))
		Expect(notReloaded(page)).To(BeTrue())
	})
})

const (
	canaryWeight = `[data-test=route-weight][data-route=shop][data-service=shop-canary]`
	stableWeight = `[data-test=route-weight][data-route=shop][data-service=shop-stable]`
)

func rolloutPath(ns, name string) string { return fmt.Sprintf("#/ns/%s/rollouts/%s", ns, name) }

func newNamespace(ctx context.Context, prefix string) string {
	GinkgoHelper()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
	return namespace.Name
}

// pausedRoutedCanary makes the Rollout "shop", whose canary shifts an
// HTTPRoute's weights in four steps (25%, pause, 75%, pause), and waits
// until its update is paused at the first pause.
func pausedRoutedCanary(ctx context.Context, ns string) *rolloutsv1alpha1.Rollout {
	GinkgoHelper()
	for _, name := range []string{"shop-canary", "shop-stable"} {
		Expect(k8sClient.Create(ctx, builders.Service(ns, name, "shop"))).To(Succeed())
	}
	backend := func(name string, weight int32) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To[gatewayv1.PortNumber](80)},
			Weight:                 ptr.To(weight),
		}}
	}
	Expect(k8sClient.Create(ctx, &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{
			backend("shop-stable", 100), backend("shop-canary", 0)}}}},
	})).To(Succeed())
	ro := deployAndUpdate(ctx, builders.Rollout("shop").Namespace(ns).Replicas(4).Image("registry.example/app:v1").
		Services("shop-canary", "shop-stable").
		Canary(builders.SetWeight(25), builders.Pause(), builders.SetWeight(75), builders.Pause()).
		Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
				Plugins: map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"shop"}`)},
			}
			ro.Spec.Strategy.Canary.ScaleDownDelaySeconds = ptr.To[int32](1)
		}).Obj())
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), ro.Status.Message)
		g.Expect(ro.Status.CurrentStepIndex).To(HaveValue(BeEquivalentTo(1)))
		var route gatewayv1.HTTPRoute
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop"}, &route)).To(Succeed())
		r, err := traffic.FromHTTPRoute(&route, ns)
		g.Expect(err).NotTo(HaveOccurred())
		canary, stable, err := r.Weights("shop-canary", "shop-stable")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect([]int32{canary, stable}).To(Equal([]int32{25, 75}))
	}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
	return ro
}

// shopManifests is an app as a team keeps it in Git: a Rollout and its
// Service, at an image tag.
func shopManifests(tag string) map[string]string {
	return map[string]string{"apps/shop/shop.yaml": fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: shop, image: "registry.example/shop:%s"}]
  strategy:
    canary: {}
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports: [{port: 80}]
`, tag)}
}

// readOnlyKubeconfig makes the service account "reader", which may get,
// list and watch what the dashboard shows in the namespace and change
// nothing, and returns a kubeconfig with a token of it.
func readOnlyKubeconfig(ctx context.Context, ns string) string {
	GinkgoHelper()
	read := []string{"get", "list", "watch"}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{rolloutsv1alpha1.SchemeGroupVersion.Group}, Resources: []string{"rollouts", "analysisruns", "analysistemplates", "experiments"}, Verbs: read},
			{APIGroups: []string{"apps"}, Resources: []string{"replicasets", "deployments"}, Verbs: read},
			{APIGroups: []string{""}, Resources: []string{"pods", "services", "events"}, Verbs: read},
			{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: read},
			{APIGroups: []string{gatewayv1.GroupName}, Resources: []string{"httproutes", "grpcroutes"}, Verbs: read},
			{APIGroups: []string{gitopsv1alpha1.GroupVersion.Group}, Resources: []string{"applications"}, Verbs: read},
		},
	}
	Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"}})).To(Succeed())
	Expect(k8sClient.Create(ctx, role)).To(Succeed())
	Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "reader"}},
	})).To(Succeed())
	return framework.ServiceAccountKubeconfig(ctx, cluster.Config, k8sClient, ns, "reader")
}

// startDashboard runs `kubectl sluice dashboard` on a free port until the
// spec ends, and returns the URL its one line of output names.
func startDashboard(plugin, kubeconfig, ns string) string {
	GinkgoHelper()
	session, err := gexec.Start(exec.Command(plugin, "dashboard", "--port", "0", "--kubeconfig="+kubeconfig, "-n", ns),
		GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		Eventually(session.Terminate()).WithTimeout(30*time.Second).Should(gexec.Exit(), "the dashboard ends on SIGTERM")
	})
	Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(`\n`), "the dashboard says where it listens")
	first, _, _ := bufio.NewReader(bytes.NewReader(session.Out.Contents())).ReadLine()
	Expect(string(first)).To(MatchRegexp(`^Sluice dashboard: http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]+$`))
	return strings.TrimPrefix(string(first), "Sluice dashboard: ")
}

// openPage opens url in a fresh headless Chromium until the spec ends, and
// waits until the page's live stream is connected.
func openPage(ctx context.Context, size browser.Size, url string) *browser.Page {
	GinkgoHelper()
	page := newPage(ctx, size)
	show(page, url)
	return page
}

// newPage starts a headless Chromium with a blank page until the spec ends.
func newPage(ctx context.Context, size browser.Size) *browser.Page {
	GinkgoHelper()
	page, err := browser.Start(ctx, size, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(page.Close)
	return page
}

// show opens url on the page and waits until its live stream is connected.
func show(page *browser.Page, url string) {
	GinkgoHelper()
	Expect(page.Open(url)).To(Succeed())
	Expect(page.WaitAttr("[data-test=live]", "data-state", "open")).To(Succeed(), "the live stream connects")
}

func screenshot(page *browser.Page, name string) {
	GinkgoHelper()
	path, err := page.Screenshot(name)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("screenshot "+name, path)
}

// recordLoad reports the page's first load, as the browser measured it,
// and writes it to page-load.txt beside the screenshots.
func recordLoad(page *browser.Page, shown time.Duration) {
	GinkgoHelper()
	load, err := page.Load()
	Expect(err).NotTo(HaveOccurred())
	report := fmt.Sprintf("%sthe Rollout's phase shown %s after the navigation started\n", load, shown.Round(time.Millisecond))
	AddReportEntry("the Rollout page's first load", report)
	_, err = browser.WriteReport("page-load.txt", []byte(report))
	Expect(err).NotTo(HaveOccurred())
}

// markLoaded marks the page's document; notReloaded is true while the page
// shows that same document, never navigated again.
func markLoaded(page *browser.Page) {
	GinkgoHelper()
	_, err := browser.Eval[float64](page, `window.__sluiceTestMark = performance.timeOrigin`)
	Expect(err).NotTo(HaveOccurred())
}

func notReloaded(page *browser.Page) (bool, error) {
	return browser.Eval[bool](page, `window.__sluiceTestMark === performance.timeOrigin && performance.getEntriesByType("navigation").length === 1`)
}

// goTo moves the page to another of its views, as its own links do.
func goTo(page *browser.Page, hash string) {
	GinkgoHelper()
	_, err := browser.Eval[string](page, fmt.Sprintf(`location.hash = %q`, hash))
	Expect(err).NotTo(HaveOccurred())
}

// currentStepIndex is the index of the li[data-test=step] marked current,
// -1 when none is.
func currentStepIndex(page *browser.Page) (int, error) {
	return browser.Eval[int](page, `Array.from(document.querySelectorAll("li[data-test=step]")).findIndex(e => e.getAttribute("data-current") === "true")`)
}

// confirmIfAsked answers yes when the page asks to confirm an action.
func confirmIfAsked(page *browser.Page) {
	if n, err := page.Count("dialog[data-test=confirm][open]"); err == nil && n > 0 {
		_ = page.Click("dialog[data-test=confirm] button[data-test=confirm-yes]")
	}
}
