package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/traffic"
)

// The whole workflow: a Rollout committed to Git in a kustomization, beside
// a Deployment and a Service, is synced by an Application, a commit starts
// a canary, and the Application's self-heal
// leaves the canary's weights and selectors alone while it runs.
var _ = Describe("A Rollout delivered from Git on the simulated cluster", Ordered, func() {
	var (
		repo *gitserver.Repo
		dest string
	)

	BeforeAll(func(ctx context.Context) {
		var cache string
		repo, cache = gitRepoAndCache("shop")
		startManager("--leader-elect=false", "--git-cache-dir="+cache)
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "gitops-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		dest = namespace.Name + "-shop"
	})

	// manifests is the app's directory as a team keeps it: a kustomization
	// of the Rollout with its Services and route, and a web front end (a
	// Deployment and a Service); a release sets the Rollout's tag in the
	// kustomization, as `kustomize edit set image` does.
	manifests := func(tag string) map[string]string {
		service := func(name string) string {
			return fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\nspec:\n  selector: {app: shop}\n  ports: [{port: 80}]\n", name)
		}
		return map[string]string{
			"apps/shop/kustomization.yaml": fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- services.yaml
- route.yaml
- rollout.yaml
- web.yaml
images:
- name: registry.example/shop
  newTag: %q
`, tag),
			"apps/shop/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-web
spec:
  replicas: 2
  selector: {matchLabels: {app: shop-web}}
  template:
    metadata: {labels: {app: shop-web}}
    spec:
      containers:
      - name: web
        image: registry.example/shop-web:1.0
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: shop-web
spec:
  selector: {app: shop-web}
  ports: [{port: 80, targetPort: 8080}]
`,
			"apps/shop/services.yaml": service("shop-stable") + "---\n" + service("shop-canary"),
			"apps/shop/route.yaml": `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
spec:
  rules:
  - backendRefs:
    - {name: shop-stable, port: 80, weight: 100}
    - {name: shop-canary, port: 80, weight: 0}
`,
			"apps/shop/rollout.yaml": `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  replicas: 4
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: shop, image: registry.example/shop}]
  strategy:
    canary:
      canaryService: shop-canary
      stableService: shop-stable
      scaleDownDelaySeconds: 1
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoute: shop}
      steps:
      - setWeight: 50
      - pause: {}
`,
		}
	}
	routeWeights := func(ctx context.Context) func(Gomega) []int32 {
		return func(g Gomega) []int32 {
			var route gatewayv1.HTTPRoute
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "shop"}, &route)).To(Succeed())
			r, err := traffic.FromHTTPRoute(&route, dest)
			g.Expect(err).NotTo(HaveOccurred())
			c, s, err := r.Weights("shop-canary", "shop-stable")
			g.Expect(err).NotTo(HaveOccurred())
			return []int32{c, s}
		}
	}
	rolloutOf := func(ctx context.Context, g Gomega) *rolloutsv1alpha1.Rollout {
		var ro rolloutsv1alpha1.Rollout
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "shop"}, &ro)).To(Succeed())
		return &ro
	}

	It("syncs the Rollout from Git, starts a canary from a commit, and self-heal leaves the canary alone", func(ctx context.Context) {
		Expect(repo.Write(manifests("1.0"))).To(Succeed())
		_, err := repo.Commit("main", "shop 1.0")
		Expect(err).NotTo(HaveOccurred())
		app := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: dest},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:      gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: "apps/shop"},
				Destination: gitopsv1alpha1.ApplicationDestination{Namespace: dest},
				// It creates its namespace: the platform team's account.
				ServiceAccountName: deliverer(ctx, "default", ""),
				SyncPolicy: &gitopsv1alpha1.SyncPolicy{
					Automated:   &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true},
					SyncOptions: []string{"CreateNamespace=true"},
				},
				Interval: metav1.Duration{Duration: 2 * time.Second},
			},
		}
		Expect(k8sClient.Create(ctx, app)).To(Succeed())
		// Its Git server stops with this container: the Application goes
		// first, so no later spec's manager keeps retrying it, and its
		// objects with it, before its account's rights do.
		DeferCleanup(deleteApplication, app)
		Eventually(func(g Gomega) {
			ro := rolloutOf(ctx, g)
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(podsByImage(ctx, g, dest)).To(Equal(map[string]int{"registry.example/shop:1.0": 4, "registry.example/shop-web:1.0": 2}))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		By("the kustomization's Deployment and Service are there as written, and the Application is Healthy")
		var web appsv1.Deployment
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "shop-web"}, &web)).To(Succeed())
		Expect(web.Spec.Replicas).To(HaveValue(BeEquivalentTo(2)))
		Expect(web.Status.ReadyReplicas).To(BeEquivalentTo(2))
		var webService corev1.Service
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "shop-web"}, &webService)).To(Succeed())
		Expect(webService.Spec.Ports[0].TargetPort).To(Equal(intstr.FromInt32(8080)))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthHealthy), app.Status.Health.Message)
		}).WithContext(ctx).Should(Succeed())

		By("committing a new image")
		Expect(repo.Write(manifests("1.1"))).To(Succeed())
		commit, err := repo.Commit("main", "shop 1.1")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			ro := rolloutOf(ctx, g)
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), ro.Status.Message)
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		Eventually(routeWeights(ctx)).WithContext(ctx).Should(Equal([]int32{50, 50}))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(app.Status.Sync.Revision).To(Equal(commit))
			g.Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthSuspended), "a paused Rollout")
		}).WithContext(ctx).Should(Succeed())

		By("syncing again and again while the canary runs: its weights and selectors stay")
		var canaryService corev1.Service
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "shop-canary"}, &canaryService)).To(Succeed())
		pinned := canaryService.Spec.Selector
		Expect(pinned).To(HaveKey(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey))
		Consistently(func(g Gomega) {
			g.Expect(routeWeights(ctx)(g)).To(Equal([]int32{50, 50}))
			var svc corev1.Service
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "shop-canary"}, &svc)).To(Succeed())
			g.Expect(svc.Spec.Selector).To(Equal(pinned))
		}).WithContext(ctx).WithTimeout(6 * time.Second).Should(Succeed())

		By("promoting: the canary completes, and the route returns to Git's weights")
		ro := &rolloutsv1alpha1.Rollout{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "shop"}, ro)).To(Succeed())
		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
		Eventually(func(g Gomega) {
			ro := rolloutOf(ctx, g)
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(podsByImage(ctx, g, dest)).To(Equal(map[string]int{"registry.example/shop:1.1": 4, "registry.example/shop-web:1.0": 2}))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		Eventually(routeWeights(ctx)).WithContext(ctx).Should(Equal([]int32{0, 100}))

		By("kubectl sluice app sync --wait: returns once the asked sync has happened")
		plugin, err := gexec.Build("github.com/sluicehq/sluice/cmd/kubectl-sluice")
		Expect(err).NotTo(HaveOccurred())
		session, err := gexec.Start(exec.Command(plugin, "app", "sync", dest, "--wait", "--timeout=1m",
			"--kubeconfig="+cluster.KubeconfigPath, "-n", "default"), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(0))
		Expect(session.Out).To(gbytes.Say("synced revision " + commit))

		var route gatewayv1.HTTPRoute
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "shop"}, &route)).To(Succeed())
		Expect(route.Labels).NotTo(HaveKey(traffic.DefaultInProgressLabelKey))
	})
})

// gitRepoAndCache starts a Git server holding one empty repository, and
// makes a Git cache directory for a manager; both go when the container
// that asked ends.
func gitRepoAndCache(name string) (*gitserver.Repo, string) {
	GinkgoHelper()
	dir, err := os.MkdirTemp("", "sluice-e2e-git-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	server, err := gitserver.Start(dir, gitserver.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(server.Stop)
	repo, err := server.Create(name)
	Expect(err).NotTo(HaveOccurred())
	cache, err := os.MkdirTemp("", "sluice-e2e-git-cache-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, cache)
	return repo, cache
}
