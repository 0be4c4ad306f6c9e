package e2e

import (
	"context"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/framework"
	"github.com/sluicehq/sluice/test/gitserver"
)

// A team installs Sluice in its own namespace with no cluster-wide rights,
// as Argo Rollouts' --namespaced install does: the chart with namespaced=true
// gives it Roles only, and the manager must do its work with them and leave
// every other namespace alone.
var _ = Describe("Sluice installed in namespaced mode", Ordered, func() {
	const release = "sluice-team"
	var (
		teamA, teamB string
		manager      *framework.Manager
		repo         *gitserver.Repo
	)

	BeforeAll(func(ctx context.Context) {
		for _, ns := range []*string{&teamA, &teamB} {
			namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "team-"}}
			Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
			*ns = namespace.Name
		}
		// The CRDs are the cluster's, installed once by the first release.
		framework.Helm(cluster.KubeconfigPath, "install", release, framework.ChartDir(), "--namespace", teamA,
			"--set", "namespaced=true", "--set", "crds.install=false")
		DeferCleanup(func() { framework.Helm(cluster.KubeconfigPath, "uninstall", release, "--namespace", teamA) })

		var bindings rbacv1.ClusterRoleBindingList
		Expect(k8sClient.List(ctx, &bindings)).To(Succeed())
		for _, b := range bindings.Items {
			for _, s := range b.Subjects {
				if s.Namespace == teamA && b.RoleRef.Name != release+"-metrics-auth" {
					Fail("namespaced mode bound a ClusterRole: " + b.Name + " -> " + b.RoleRef.Name)
				}
			}
		}

		args := framework.HostArgs(cluster.KubeconfigPath, release, teamA)
		Expect(args).To(ContainElements("--namespaced", "--namespace="+teamA))
		kubeconfig := framework.ServiceAccountKubeconfig(ctx, cluster.Config, k8sClient, teamA, release)
		var cache string
		repo, cache = gitRepoAndCache("team-a")
		manager = startManagerAs(kubeconfig, args, "--leader-elect=false", "--git-cache-dir="+cache)
	})

	It("rolls out in its namespace", func(ctx context.Context) {
		ro := builders.Rollout("web").Namespace(teamA).Replicas(2).Image("registry.example/app:v1").
			Canary(builders.SetWeight(50), builders.Pause()).Obj()
		ro = deployAndUpdate(ctx, ro)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
	})

	It("syncs an Application of its namespace, written as Argo CD users write them", func(ctx context.Context) {
		Expect(repo.Write(map[string]string{"config/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: calm\n"})).To(Succeed())
		_, err := repo.Commit("main", "settings")
		Expect(err).NotTo(HaveOccurred())
		app := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: teamA, Name: "settings"},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:             gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: "config"},
				Destination:        gitopsv1alpha1.ApplicationDestination{Namespace: teamA},
				ServiceAccountName: deliverer(ctx, teamA, teamA),
				// The namespace exists; asking to create it must not need
				// a cluster-scoped write the team does not have.
				SyncPolicy: &gitopsv1alpha1.SyncPolicy{
					Automated:   &gitopsv1alpha1.AutomatedSyncPolicy{},
					SyncOptions: []string{"CreateNamespace=true"},
				},
			},
		}
		Expect(k8sClient.Create(ctx, app)).To(Succeed())
		DeferCleanup(deleteApplication, app)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(app.Status.Sync.Status).To(Equal(gitopsv1alpha1.SyncStatusSynced), "%+v", app.Status.Conditions)
			var settings corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: teamA, Name: "settings"}, &settings)).To(Succeed())
			g.Expect(settings.Data).To(HaveKeyWithValue("mode", "calm"))
		}).WithContext(ctx).Should(Succeed())
	})

	It("leaves a Rollout in another namespace alone", func(ctx context.Context) {
		ro := builders.Rollout("web").Namespace(teamB).Replicas(2).Image("registry.example/app:v1").
			Canary(builders.SetWeight(50), builders.Pause()).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		DeferCleanup(func(ctx context.Context) { Expect(k8sClient.Delete(ctx, ro)).To(Succeed()) })
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.ObservedGeneration).To(BeEmpty())
			var sets appsv1.ReplicaSetList
			g.Expect(k8sClient.List(ctx, &sets, client.InNamespace(teamB))).To(Succeed())
			g.Expect(sets.Items).To(BeEmpty())
		}).WithContext(ctx).WithTimeout(5 * time.Second).Should(Succeed())
	})

	It("never lists or watches beyond its namespace", func(ctx context.Context) {
		// Every request the manager sent, as it counts them: each list and
		// watch names the team's namespace. (A cluster-wide one would also
		// have been refused, which fails the spec when the manager stops.)
		Eventually(func(g Gomega) {
			s := scrape(g, manager)
			var reads int
			for _, m := range s.series("controller_clientset_k8s_request_total", nil) {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["verb"] == "List" || labels["verb"] == "Watch" {
					reads++
					g.Expect(labels["namespace"]).To(Equal(teamA), "%v", labels)
				}
			}
			g.Expect(reads).To(BeNumerically(">", 0))
		}).WithContext(ctx).Should(Succeed())
	})
})
