package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	clusters "github.com/sluicehq/sluice/gitops/cluster"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/test/simcluster"
)

// Two clusters on one machine: the simulated cluster the manager runs
// against, and a second control plane (etcd and kube-apiserver alone)
// registered by an Argo CD cluster Secret in the manager's namespace.
var _ = Describe("One Sluice and a second cluster", Ordered, func() {
	var (
		second       *simcluster.Cluster
		secondClient client.Client
		repo         *gitserver.Repo
		toSecond     *gitopsv1alpha1.Application
		onFirst      *gitopsv1alpha1.Application
		firstNS      string
		head         string // the commit last pushed
		stopped      bool   // the second cluster's API server is stopped
	)

	configMap := func(name, value string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
	}
	onSecond := func(ctx context.Context, name string) func() (string, error) {
		return func() (string, error) {
			var cm corev1.ConfigMap
			err := secondClient.Get(ctx, client.ObjectKey{Namespace: "shop", Name: name}, &cm)
			return cm.Data["value"], err
		}
	}
	ready := func(ctx context.Context, app *gitopsv1alpha1.Application) func(Gomega) metav1.Condition {
		return func(g Gomega) metav1.Condition {
			var live gitopsv1alpha1.Application
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), &live)).To(Succeed())
			c := meta.FindStatusCondition(live.Status.Conditions, appplan.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			return *c
		}
	}
	synced := func(ctx context.Context, app *gitopsv1alpha1.Application, revision string) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			var live gitopsv1alpha1.Application
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), &live)).To(Succeed())
			c := meta.FindStatusCondition(live.Status.Conditions, appplan.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", c.Reason, c.Message)
			g.Expect(live.Status.Sync.Revision).To(Equal(revision))
		}).WithContext(ctx).Should(Succeed(), "Application %s synced %s", app.Name, revision)
	}
	commit := func(files map[string]string, remove ...string) string {
		GinkgoHelper()
		Expect(repo.Write(files)).To(Succeed())
		Expect(repo.Remove(remove...)).To(Succeed())
		sha, err := repo.Commit("main", "change")
		Expect(err).NotTo(HaveOccurred())
		return sha
	}
	newApp := func(ctx context.Context, namespace, name, path string, edit func(*gitopsv1alpha1.Application)) *gitopsv1alpha1.Application {
		GinkgoHelper()
		app := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source: gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: path},
				SyncPolicy: &gitopsv1alpha1.SyncPolicy{
					Automated: &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true},
					// The second cluster runs no garbage collector, which a
					// foreground deletion waits for.
					SyncOptions: []string{"CreateNamespace=true", "PrunePropagationPolicy=background"},
					// Retried soon, so recovery is seen in seconds.
					Retry: &gitopsv1alpha1.RetryStrategy{Limit: -1, Backoff: &gitopsv1alpha1.Backoff{
						Duration: &metav1.Duration{Duration: time.Second}, MaxDuration: &metav1.Duration{Duration: 2 * time.Second}}},
				},
				Interval: metav1.Duration{Duration: 2 * time.Second},
			},
		}
		edit(app)
		Expect(k8sClient.Create(ctx, app)).To(Succeed())
		return app
	}

	BeforeAll(func(ctx context.Context) {
		stateDir, err := os.MkdirTemp("", "sluice-e2e-second-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, stateDir)
		second, err = simcluster.Start(ctx, simcluster.Options{StateDir: stateDir, ControlPlaneOnly: true, Progress: GinkgoWriter})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(second.Stop)
		secondClient, err = client.New(second.Config, client.Options{Scheme: scheme.New()})
		Expect(err).NotTo(HaveOccurred())

		// Registered as Argo CD's declarative setup registers a cluster.
		config, err := json.Marshal(map[string]any{"tlsClientConfig": map[string][]byte{
			"caData": second.Config.CAData, "certData": second.Config.CertData, "keyData": second.Config.KeyData}})
		Expect(err).NotTo(HaveOccurred())
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: chartNamespace, Name: "second-cluster",
				Labels: map[string]string{clusters.SecretTypeLabel: clusters.SecretTypeCluster}},
			StringData: map[string]string{"name": "second", "server": second.Config.Host, "config": string(config)},
		}
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())
		DeferCleanup(func(ctx context.Context) { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, secret))).To(Succeed()) })

		var cache string
		repo, cache = gitRepoAndCache("two-clusters")
		// Outside a pod the manager has no namespace of its own: the flag
		// names the chart's, as $POD_NAMESPACE does in the pod.
		startManager("--leader-elect=false", "--git-cache-dir="+cache, "--cluster-secret-namespace="+chartNamespace, "--cluster-timeout=2s")
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "first-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		firstNS = namespace.Name
	})

	AfterAll(func(ctx context.Context) {
		if stopped { // a failed spec left it stopped
			Expect(second.StartAPIServer()).To(Succeed())
		}
		for _, app := range []*gitopsv1alpha1.Application{onFirst, toSecond} {
			if app != nil {
				deleteApplication(ctx, app)
			}
		}
	})

	It("applies to the second cluster, self-heals and prunes there", func(ctx context.Context) {
		first := commit(map[string]string{
			"second/menu.yaml": configMap("menu", "soup"), "second/extra.yaml": configMap("extra", "bread"),
			"first/cm.yaml": configMap("local", "one"),
		})
		toSecond = newApp(ctx, chartNamespace, "to-second", "second", func(a *gitopsv1alpha1.Application) {
			a.Spec.Destination = gitopsv1alpha1.ApplicationDestination{Name: "second", Namespace: "shop"}
			// Argo CD's background cascade: no garbage collector there.
			a.Finalizers = []string{gitopsv1alpha1.ArgoCDBackgroundFinalizer}
		})
		synced(ctx, toSecond, first)
		Expect(onSecond(ctx, "menu")()).To(Equal("soup"))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "menu"}, &corev1.ConfigMap{}))).
			To(BeTrue(), "nothing of it on the first cluster")

		By("kubectl sluice app list names the destination")
		plugin, err := gexec.Build("github.com/sluicehq/sluice/cmd/kubectl-sluice")
		Expect(err).NotTo(HaveOccurred())
		list, err := gexec.Start(exec.Command(plugin, "app", "list", "--kubeconfig="+cluster.KubeconfigPath, "-n", chartNamespace),
			GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		Eventually(list).WithTimeout(time.Minute).Should(gexec.Exit(0))
		Expect(string(list.Out.Contents())).To(MatchRegexp(`(?m)^NAME +DESTINATION +SYNC +HEALTH +REVISION\n(.*\n)*to-second +second/shop +Synced +Healthy +` + first))

		By("a change made on the second cluster is undone")
		changed := time.Now()
		Expect(secondClient.Patch(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "menu"}},
			client.RawPatch(types.MergePatchType, []byte(`{"data":{"value":"changed by hand"}}`)))).To(Succeed())
		Eventually(onSecond(ctx, "menu")).WithContext(ctx).WithTimeout(10 * time.Second).Should(Equal("soup"))
		healed := time.Since(changed)
		AddReportEntry("self-heal on the second cluster", healed.String())
		fmt.Fprintf(GinkgoWriter, "self-heal on the second cluster took %s\n", healed)

		By("an object that left Git is pruned there")
		head = commit(nil, "second/extra.yaml")
		synced(ctx, toSecond, head)
		Eventually(func() error { _, err := onSecond(ctx, "extra")(); return err }).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound))
	})

	It("degrades only the Application of a stopped cluster, and recovers when it is back", func(ctx context.Context) {
		sa := deliverer(ctx, firstNS, firstNS)
		onFirst = newApp(ctx, firstNS, "on-first", "first", func(a *gitopsv1alpha1.Application) {
			a.Spec.Destination = gitopsv1alpha1.ApplicationDestination{Namespace: firstNS}
			a.Spec.ServiceAccountName = sa
		})
		synced(ctx, onFirst, head)

		By("the second cluster's API server stops")
		Expect(second.StopAPIServer()).To(Succeed())
		stopped = true
		Eventually(func(g Gomega) {
			c := ready(ctx, toSecond)(g)
			g.Expect(c.Reason).To(Equal(application.ReasonClusterUnreachable), c.Message)
			g.Expect(c.Message).To(ContainSubstring("cluster second (" + strings.TrimSuffix(second.Config.Host, "/") + ")"))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())

		By("the Application on the first cluster keeps syncing meanwhile")
		during := commit(map[string]string{"first/cm.yaml": configMap("local", "two"), "second/menu.yaml": configMap("menu", "stew")})
		synced(ctx, onFirst, during)
		Expect(ready(ctx, toSecond)(Default).Reason).To(Equal(application.ReasonClusterUnreachable))

		By("the API server is back: the Application recovers without a restart and applies what changed meanwhile")
		Expect(second.StartAPIServer()).To(Succeed())
		stopped = false
		back := time.Now()
		synced(ctx, toSecond, during)
		Expect(onSecond(ctx, "menu")()).To(Equal("stew"))
		AddReportEntry("recovery after the second cluster is back", time.Since(back).String())
		fmt.Fprintf(GinkgoWriter, "recovered %s after the second cluster was back\n", time.Since(back))

		By("deleting the Application deletes its objects on the second cluster")
		deleteApplication(ctx, toSecond)
		Eventually(func() error { _, err := onSecond(ctx, "menu")(); return err }).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound))
	})
})
