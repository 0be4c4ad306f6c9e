package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
)

// An Application that waits for its objects (spec.wait) and syncs a canary
// Rollout with a pause step: the pause is where the Rollout waits for a
// person, so the Application has settled there (Synced, Suspended, Ready),
// not stuck Progressing; a promotion makes it Healthy.
var _ = Describe("An Application waiting on a paused Rollout on the simulated cluster", Ordered, func() {
	var (
		dest   string
		app    *gitopsv1alpha1.Application
		plugin string
		first  string
		second string
	)

	rollout := func(tag string) map[string]string {
		return map[string]string{"apps/web/rollout.yaml": fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "registry.example/web:%s"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {}
`, tag)}
	}
	run := func(args ...string) *gexec.Session {
		GinkgoHelper()
		session, err := gexec.Start(exec.Command(plugin, append(args, "--kubeconfig="+cluster.KubeconfigPath)...), GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(session).WithTimeout(2 * time.Minute).Should(gexec.Exit())
		return session
	}
	current := func(ctx context.Context, g Gomega) *gitopsv1alpha1.Application {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		return app
	}

	BeforeAll(func(ctx context.Context) {
		repo, cache := gitRepoAndCache("web")
		startManager("--leader-elect=false", "--git-cache-dir="+cache)
		var err error
		plugin, err = gexec.Build("github.com/sluicehq/sluice/cmd/kubectl-sluice")
		Expect(err).NotTo(HaveOccurred())
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "wait-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		dest = namespace.Name

		Expect(repo.Write(rollout("1.0"))).To(Succeed())
		first, err = repo.Commit("main", "web 1.0")
		Expect(err).NotTo(HaveOccurred())
		app = &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "web"},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:             gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: "apps/web"},
				Destination:        gitopsv1alpha1.ApplicationDestination{Namespace: dest},
				ServiceAccountName: deliverer(ctx, dest, ""),
				SyncPolicy:         &gitopsv1alpha1.SyncPolicy{Automated: &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}},
				Interval:           metav1.Duration{Duration: 2 * time.Second},
				Wait:               true,
			},
		}
		Expect(k8sClient.Create(ctx, app)).To(Succeed())
		DeferCleanup(deleteApplication, app)
		Eventually(func(g Gomega) {
			a := current(ctx, g)
			g.Expect(a.Status.Sync.Revision).To(Equal(first))
			g.Expect(a.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthHealthy), a.Status.Health.Message)
			g.Expect(meta.IsStatusConditionTrue(a.Status.Conditions, appplan.ConditionReady)).To(BeTrue())
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		Expect(repo.Write(rollout("1.1"))).To(Succeed())
		second, err = repo.Commit("main", "web 1.1")
		Expect(err).NotTo(HaveOccurred())
	})

	It("is Synced, Suspended and Ready at the pause step, naming the Rollout and its step, and Healthy once promoted", func(ctx context.Context) {
		Eventually(func(g Gomega) {
			a := current(ctx, g)
			g.Expect(a.Status.Sync).To(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusSynced), HaveField("Revision", second)))
			g.Expect(a.Status.Health).To(Equal(gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthSuspended,
				Message: "Rollout web: paused at step 2 of 2: CanaryPauseStep, waiting for promotion"}))
			ready := meta.FindStatusCondition(a.Status.Conditions, appplan.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "a paused Rollout settles the wait: %s", ready.Message)
			g.Expect(ready.Message).To(ContainSubstring("Rollout web: paused at step 2 of 2"))
			g.Expect(meta.FindStatusCondition(a.Status.Conditions, appplan.ConditionReconciling)).To(BeNil())
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		Expect(run("promote", "web", "-n", dest)).To(gexec.Exit(0))
		Eventually(func(g Gomega) {
			var ro rolloutsv1alpha1.Rollout
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "web"}, &ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			a := current(ctx, g)
			g.Expect(a.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthHealthy), a.Status.Health.Message)
			g.Expect(a.Status.Sync.Status).To(Equal(gitopsv1alpha1.SyncStatusSynced))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})

	It("goes back to the first commit with kubectl sluice app rollback, automated sync off, OutOfSync against main after", func(ctx context.Context) {
		history := run("app", "history", "web", "-n", dest)
		Expect(history).To(gexec.Exit(0))
		Expect(history.Out).To(gbytes.Say(`ID\s+DEPLOYED\s+REVISION`))
		Expect(history.Out).To(gbytes.Say(`0\s+\S+\s+` + second))

		rollback := run("app", "rollback", "web", "-n", dest, "--wait", "--timeout=1m")
		Expect(rollback).To(gexec.Exit(0))
		Expect(rollback.Out).To(gbytes.Say("rolling back to " + first))
		Expect(rollback.Out).To(gbytes.Say("synced revision " + first))
		Eventually(func(g Gomega) {
			a := current(ctx, g)
			g.Expect(a.Spec.SyncPolicy.Automated).To(BeNil(), "automated sync is off")
			g.Expect(a.Status.History[0].Revision).To(Equal(first))
			g.Expect(a.Status.Sync).To(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusOutOfSync), HaveField("Revision", second)))
			var ro rolloutsv1alpha1.Rollout
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "web"}, &ro)).To(Succeed())
			g.Expect(ro.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/web:1.0"))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})
})
