package integration

import (
	"context"
	"encoding/json"
	"os/exec"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/builders"
)

// kubectl sluice's dry runs and watches against a real API server: a dry
// run changes nothing, and a watch draws every change.
var _ = Describe("kubectl sluice against the API server", func() {
	var namespace string

	BeforeEach(func(ctx context.Context) {
		namespace = newNamespace(ctx, "plugin-")
	})

	newRollout := func(ctx context.Context) *rolloutsv1alpha1.Rollout {
		GinkgoHelper()
		ro := builders.Rollout("web").Namespace(namespace).Replicas(2).Image("registry.example/web:v1").
			Canary(builders.SetWeight(50), builders.Pause()).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		return ro
	}

	It("lists rollouts as a table, with -o wide's extra columns, and by name", func(ctx context.Context) {
		newRollout(ctx)
		table := runPlugin(0, "list", "rollouts", "-n", namespace)
		Expect(string(table.Out.Contents())).To(MatchRegexp(`^NAMESPACE +NAME +STATUS +STEP +MESSAGE\n` + namespace + ` +web +`))
		wide := runPlugin(0, "list", "rollouts", "-n", namespace, "-o", "wide")
		Expect(wide.Out).To(gbytes.Say(`NAMESPACE +NAME +STATUS +STEP +DESIRED +CURRENT +UPDATED +AVAILABLE +MESSAGE\n` +
			namespace + ` +web +\S* *- +2 +0 +0 +0`))
		Expect(string(runPlugin(0, "list", "rollouts", "-n", namespace, "-o", "name").Out.Contents())).
			To(Equal("rollout.argoproj.io/web\n"))
		var list struct {
			APIVersion, Kind string
			Items            []struct{ APIVersion, Kind string }
		}
		Expect(json.Unmarshal(runPlugin(0, "list", "rollouts", "-n", namespace, "-o", "json").Out.Contents(), &list)).To(Succeed())
		Expect(list.Kind).To(Equal("RolloutList"))
		Expect(list.Items).To(ConsistOf(HaveField("Kind", "Rollout")))
		Expect(list.Items[0].APIVersion).To(Equal("argoproj.io/v1alpha1"))
		empty := newNamespace(ctx, "plugin-empty-")
		Expect(runPlugin(0, "list", "rollouts", "-n", empty).Err).To(gbytes.Say(`No rollouts found in ` + empty + ` namespace.`))
		Expect(runPlugin(1, "list", "rollouts", "-n", namespace, "-o", "table").Err).To(gbytes.Say(`--output "table"`))
	})

	It("changes nothing on abort --dry-run=server, and says it was a dry run", func(ctx context.Context) {
		ro := newRollout(ctx)
		before := ro.ResourceVersion

		server := runPlugin(0, "abort", "web", "-n", namespace, "--dry-run=server")
		Expect(server.Out).To(gbytes.Say(`rollout 'web' aborted \(server dry run\)`))
		local := runPlugin(0, "abort", "web", "-n", namespace, "--dry-run")
		Expect(local.Out).To(gbytes.Say(`patch rollout 'web' status \(application/merge-patch\+json\): \{"status":\{"abort":true\}\}`))
		Expect(local.Out).To(gbytes.Say(`rollout 'web' aborted \(dry run\)`))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		Expect(ro.Status.Abort).To(BeFalse())
		Expect(ro.ResourceVersion).To(Equal(before), "a dry run persists nothing")

		By("without --dry-run, the same command aborts")
		Expect(runPlugin(0, "abort", "web", "-n", namespace).Out).To(gbytes.Say(`rollout 'web' aborted\n`))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		Expect(ro.Status.Abort).To(BeTrue())
	})

	It("asks for no sync on app sync --prune --dry-run=client, and prints the patch it would send", func(ctx context.Context) {
		app := &gitopsv1alpha1.Application{}
		app.Namespace, app.Name = namespace, "shop"
		app.Spec.Source = appDir("https://git.example/shop.git")
		app.Spec.Destination.Namespace = namespace
		Expect(k8sClient.Create(ctx, app)).To(Succeed())
		DeferCleanup(forgetApplication, app)
		before := app.ResourceVersion

		dry := runPlugin(0, "app", "sync", "shop", "--prune", "--dry-run=client", "-n", namespace)
		Expect(dry.Out).To(gbytes.Say(`patch application 'shop' \(application/merge-patch\+json\): .*"` +
			gitopsv1alpha1.PruneRequestAnnotation + `":"true"`))
		Expect(dry.Out).To(gbytes.Say(`application 'shop' asked to sync \(dry run\)`))
		server := runPlugin(0, "app", "sync", "shop", "--prune", "--dry-run=server", "-n", namespace)
		Expect(server.Out).To(gbytes.Say(`application 'shop' asked to sync \(server dry run\)`))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		Expect(app.Annotations).NotTo(HaveKey(gitopsv1alpha1.SyncRequestAnnotation))
		Expect(app.Annotations).NotTo(HaveKey(gitopsv1alpha1.PruneRequestAnnotation))
		Expect(app.ResourceVersion).To(Equal(before), "a dry run persists nothing")

		By("--wait has nothing to wait for on a dry run")
		refused := runPlugin(1, "app", "sync", "shop", "--wait", "--dry-run", "-n", namespace)
		Expect(refused.Err).To(gbytes.Say(`--wait waits for a sync, and a dry run asks for none`))
	})

	It("draws a Rollout again on get rollout --watch when it changes", func(ctx context.Context) {
		ro := newRollout(ctx)
		session, err := gexec.Start(exec.Command(buildPlugin(), "get", "rollout", "web", "--watch", "-n", namespace, "--kubeconfig", kubeconfig),
			GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { session.Kill().Wait(time.Minute) })
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(`Name:\s+web`))

		By("a change of the Rollout's status is drawn")
		patch := client.RawPatch("application/merge-patch+json",
			[]byte(`{"status":{"phase":"Paused","message":"CanaryPauseStep"}}`))
		Expect(k8sClient.Status().Patch(ctx, ro, patch)).To(Succeed())
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(`Message:\s+CanaryPauseStep`))

		By("and so is a change of its spec")
		Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"replicas":5}}`)))).To(Succeed())
		Eventually(session.Out).WithTimeout(time.Minute).Should(gbytes.Say(`Replicas:\s+desired 5`))

		By("an interrupt ends the watch, with success")
		session.Interrupt()
		Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(0))
	})
})

// pluginBinary is kubectl-sluice built for this process, once.
var pluginBinary string

// buildPlugin builds kubectl-sluice the first time it is called, and
// returns its path.
func buildPlugin() string {
	GinkgoHelper()
	if pluginBinary == "" {
		var err error
		pluginBinary, err = gexec.Build("github.com/sluicehq/sluice/cmd/kubectl-sluice")
		Expect(err).NotTo(HaveOccurred())
	}
	return pluginBinary
}
