package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/simcluster"
)

// kubectl sluice against the simulated cluster: it steers a canary the way
// people do from a terminal.
var _ = Describe("kubectl sluice on the simulated cluster", Ordered, func() {
	var (
		ns     string
		plugin string
	)

	BeforeAll(func(ctx context.Context) {
		var err error
		plugin, err = gexec.Build("github.com/sluicehq/sluice/cmd/kubectl-sluice")
		Expect(err).NotTo(HaveOccurred())
		startManager("--leader-elect=false")
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "plugin-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
	})

	// run runs the plugin and returns its session once it exits.
	run := func(args ...string) *gexec.Session {
		GinkgoHelper()
		cmd := exec.Command(plugin, append(args, "--kubeconfig="+cluster.KubeconfigPath, "-n", ns)...)
		session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(session).WithTimeout(2 * time.Minute).Should(gexec.Exit())
		return session
	}
	phaseOf := func(ctx context.Context, ro *rolloutsv1alpha1.Rollout) func(Gomega) rolloutsv1alpha1.RolloutPhase {
		return func(g Gomega) rolloutsv1alpha1.RolloutPhase {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			return ro.Status.Phase
		}
	}

	It("shows a paused canary, promotes it, and status exits 0 once it is Healthy", func(ctx context.Context) {
		ro := deployAndUpdate(ctx, builders.Rollout("shop").Namespace(ns).Replicas(4).Image("registry.example/app:v1").Canary(
			builders.SetWeight(50), builders.Pause(), builders.SetWeight(100)).Obj())
		Eventually(phaseOf(ctx, ro)).WithContext(ctx).Should(Equal(rolloutsv1alpha1.RolloutPhasePaused))

		get := run("get", "rollout", "shop")
		Expect(get).To(gexec.Exit(0))
		Expect(get.Out).To(gbytes.Say(`Status:\s+Paused`))
		Expect(get.Out).To(gbytes.Say(`Step:\s+2/3 \[###\.+\] \(pause\)`))
		AddReportEntry("kubectl sluice get rollout shop (a paused canary)", string(get.Out.Contents()))

		Expect(run("status", "shop", "--watch=false")).To(gexec.Exit(1), "Paused is not Healthy")
		Expect(run("promote", "shop")).To(gexec.Exit(0))
		Expect(run("status", "shop", "--timeout=2m")).To(gexec.Exit(0))
		Eventually(func(g Gomega) map[string]int { return podsByImage(ctx, g, ns) }).WithContext(ctx).
			Should(Equal(map[string]int{"registry.example/app:v2": 4}))
	})

	It("aborts a canary mid-way, then retries it", func(ctx context.Context) {
		ro := &rolloutsv1alpha1.Rollout{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "shop"}, ro)).To(Succeed())
		Expect(run("set", "image", "shop", "app=registry.example/app:v3")).To(gexec.Exit(0))
		Eventually(phaseOf(ctx, ro)).WithContext(ctx).Should(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(ro.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/app:v3"))

		Expect(run("abort", "shop")).To(gexec.Exit(0))
		Eventually(phaseOf(ctx, ro)).WithContext(ctx).Should(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
		Eventually(func(g Gomega) map[string]int { return podsByImage(ctx, g, ns) }).WithContext(ctx).
			Should(Equal(map[string]int{"registry.example/app:v2": 4}))
		Expect(run("status", "shop", "--timeout=10s")).To(gexec.Exit(1), "Degraded")

		Expect(run("retry", "shop")).To(gexec.Exit(0))
		Eventually(phaseOf(ctx, ro)).WithContext(ctx).Should(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		Expect(run("promote", "shop", "--full")).To(gexec.Exit(0))
		Expect(run("status", "shop", "--timeout=2m")).To(gexec.Exit(0))

		By("undo: back to the revision before")
		undo := run("undo", "shop")
		Expect(undo).To(gexec.Exit(0))
		Eventually(func(g Gomega) string {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			return ro.Spec.Template.Spec.Containers[0].Image
		}).WithContext(ctx).Should(Equal("registry.example/app:v2"))
		list := run("list", "rollouts", "-o", "wide")
		Expect(list).To(gexec.Exit(0))
		Expect(list.Out).To(gbytes.Say(`shop`))
	})

	It("shows which revision each Service of a blue-green Rollout selects, and promotes it", func(ctx context.Context) {
		for _, name := range []string{"cart", "cart-preview"} {
			Expect(k8sClient.Create(ctx, builders.Service(ns, name, "cart"))).To(Succeed())
		}
		ro := deployAndUpdate(ctx, builders.Rollout("cart").Namespace(ns).Replicas(2).Image("registry.example/app:v1").
			BlueGreen("cart", "cart-preview").Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen.AutoPromotionEnabled = ptr.To(false)
		}).Obj())
		Eventually(phaseOf(ctx, ro)).WithContext(ctx).Should(Equal(rolloutsv1alpha1.RolloutPhasePaused))

		get := run("get", "rollout", "cart")
		Expect(get).To(gexec.Exit(0))
		Expect(get.Out).To(gbytes.Say(`Message:\s+BlueGreenPause`))
		Expect(get.Out).To(gbytes.Say(`Active:\s+cart -> revision 1 `))
		Expect(get.Out).To(gbytes.Say(`Preview:\s+cart-preview -> revision 2 `))
		AddReportEntry("kubectl sluice get rollout cart (a blue-green Rollout waiting for promotion)", string(get.Out.Contents()))

		Expect(run("promote", "cart")).To(gexec.Exit(0))
		Expect(run("status", "cart", "--timeout=2m")).To(gexec.Exit(0))
		Expect(run("get", "rollout", "cart").Out).To(gbytes.Say(`Active:\s+cart -> revision 2 `))
	})

	It("shows and lists an experiment, and terminates it with Argo's patch", func(ctx context.Context) {
		ex := builders.Experiment("trial").Namespace(ns).Template("baseline", "registry.example/app:v1", nil).
			Template("candidate", "registry.example/app:v2", nil).ScaleDownDelay(0).Obj()
		Expect(k8sClient.Create(ctx, ex)).To(Succeed())
		phase := func(g Gomega) rolloutsv1alpha1.AnalysisPhase {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ex), ex)).To(Succeed())
			return ex.Status.Phase
		}
		Eventually(phase).WithContext(ctx).Should(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))

		get := run("get", "experiment", "trial")
		Expect(get).To(gexec.Exit(0))
		Expect(get.Out).To(gbytes.Say(`Status:\s+Running`))
		Expect(get.Out).To(gbytes.Say(`Duration:\s+until terminated`))
		Expect(get.Out).To(gbytes.Say(`baseline\s+ReplicaSet\s+trial-baseline\s+Running\s+1/1 ready`))
		Expect(get.Out).To(gbytes.Say(`candidate\s+ReplicaSet\s+trial-candidate\s+Running\s+1/1 ready`))
		AddReportEntry("kubectl sluice get experiment trial (running until terminated)", string(get.Out.Contents()))

		By("Argo's own plugin reading the same Experiment")
		binDir, err := simcluster.DefaultBinDir()
		Expect(err).NotTo(HaveOccurred())
		argo, err := gexec.Start(exec.Command(filepath.Join(binDir, "kubectl-argo-rollouts"), "get", "experiment", "trial",
			"--kubeconfig="+cluster.KubeconfigPath, "-n", ns), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(argo).WithTimeout(time.Minute).Should(gexec.Exit(0))
		Expect(argo.Out).To(gbytes.Say(`Name:\s+trial`))
		Expect(argo.Out).To(gbytes.Say(`Status:\s+\S+ Running`))
		Expect(argo.Out).To(gbytes.Say(`trial-baseline\s+ReplicaSet`))
		Expect(argo.Out).To(gbytes.Say(`trial-candidate\s+ReplicaSet`))
		AddReportEntry("kubectl argo rollouts get experiment trial", string(argo.Out.Contents()))

		list := run("list", "experiments")
		Expect(list).To(gexec.Exit(0))
		Expect(list.Out).To(gbytes.Say(`trial\s+Running\s+2/2\s+0/0`))

		Expect(run("terminate", "experiment", "trial")).To(gexec.Exit(0))
		Expect(ex.Spec.Terminate).To(BeFalse())
		Eventually(phase).WithContext(ctx).Should(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		Expect(ex.Spec.Terminate).To(BeTrue())
		Eventually(func(g Gomega) *gexec.Session { return run("get", "experiment", "trial") }).WithContext(ctx).
			Should(WithTransform(func(s *gexec.Session) string { return string(s.Out.Contents()) },
				MatchRegexp(`trial-candidate\s+Successful\s+scaled down`)))
	})
})
