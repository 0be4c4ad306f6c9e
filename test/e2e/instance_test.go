package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/framework"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Two managers installed side by side, as two teams (or Sluice next to
// Argo Rollouts) share a cluster: each started with its own --instance-id,
// each must handle the objects labelled
// argo-rollouts.argoproj.io/controller-instance-id=<its id> and nothing
// else. Objects of an instance no manager here runs ("red"), and objects
// with no label (a manager without an instance id's), must stay untouched
// while the owners' objects progress.
var _ = Describe("Two managers with different instance ids on one cluster", Ordered, func() {
	const label = rolloutsv1alpha1.LabelKeyControllerInstanceID
	// owners are the instances that run here; strangers are labels no
	// manager here serves ("" is no label at all).
	owners, strangers := []string{"blue", "green"}, []string{"red", ""}
	var (
		ns       string
		managers = map[string]*framework.Manager{}
		repo     *gitserver.Repo
	)
	labelled := func(obj client.Object, id string) {
		if id == "" {
			return
		}
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[label] = id
		obj.SetLabels(labels)
	}
	nameOf := func(id string) string {
		if id == "" {
			return "unlabelled"
		}
		return id
	}

	BeforeAll(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "instances-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name

		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"errorRate":0.01}`))
		}))
		DeferCleanup(web.Close)
		Expect(k8sClient.Create(ctx, &rolloutsv1alpha1.AnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "error-rate"},
			Spec:       rolloutsv1alpha1.AnalysisTemplateSpec{Metrics: []rolloutsv1alpha1.Metric{errorRateMetric(web.URL)}},
		})).To(Succeed())

		var blueCache string
		repo, blueCache = gitRepoAndCache("instances")
		greenCache, err := os.MkdirTemp("", "sluice-e2e-git-cache-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, greenCache)
		// Leader election stays on, as the chart runs the manager: each
		// instance elects its own leader.
		managers["blue"] = startManager("--instance-id=blue", "--git-cache-dir="+blueCache)
		managers["green"] = startManager("--instance-id=green", "--git-cache-dir="+greenCache)
	})

	It("each leads its own Lease", func(ctx context.Context) {
		for _, id := range owners {
			Eventually(func() (bool, error) { return managers[id].Leads("sluice.sluice.dev-" + id) }).
				WithContext(ctx).Should(BeTrue(), id)
		}
	})

	It("each rolls out its own Rollouts and measures the AnalysisRuns they create, labelled as theirs", func(ctx context.Context) {
		rollout := func(id string) *rolloutsv1alpha1.Rollout {
			ro := builders.Rollout(nameOf(id)).Namespace(ns).Replicas(2).Image("registry.example/app:v1").Canary(
				builders.SetWeight(50),
				rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
					Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}},
				}},
			).Obj()
			labelled(ro, id)
			return ro
		}
		for _, id := range strangers {
			ro := rollout(id)
			Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		}
		owned := map[string]*rolloutsv1alpha1.Rollout{}
		for _, id := range owners {
			owned[id] = deployAndUpdate(ctx, rollout(id))
		}

		for _, id := range owners {
			ro := owned[id]
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
				g.Expect(ro.Status.ObservedGeneration).To(Equal(itoa(ro.Generation)), "the update is seen")
				g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
				g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash), "promoted past the analysis")
			}).WithContext(ctx).Should(Succeed())
			run := stepRun(ctx, ro)
			Expect(run.Labels).To(HaveKeyWithValue(label, id), "the run belongs to its Rollout's instance")
			Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		}

		By("leaving the Rollouts of other instances, and unlabelled ones, untouched")
		Consistently(func(g Gomega) {
			for _, id := range strangers {
				var ro rolloutsv1alpha1.Rollout
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: nameOf(id)}, &ro)).To(Succeed())
				g.Expect(ro.Status.ObservedGeneration).To(BeEmpty(), nameOf(id))
				g.Expect(ro.Status.Phase).To(BeEmpty(), nameOf(id))
			}
			var sets appsv1.ReplicaSetList
			g.Expect(k8sClient.List(ctx, &sets, client.InNamespace(ns))).To(Succeed())
			for _, rs := range sets.Items {
				g.Expect(metav1.GetControllerOf(&rs).Name).To(BeElementOf(owners), "ReplicaSet %s", rs.Name)
			}
		}).WithContext(ctx).WithTimeout(5 * time.Second).Should(Succeed())

		By("each manager serving the metrics of its own Rollouts and runs only")
		expectOnlyOwn(ctx, managers, "rollout_info", ns, func(id string) string { return id })
		runs := map[string]string{}
		for _, id := range owners {
			runs[id] = stepRun(ctx, owned[id]).Name
		}
		expectOnlyOwn(ctx, managers, "analysis_run_info", ns, func(id string) string { return runs[id] })
	})

	It("each measures only its own AnalysisRuns", func(ctx context.Context) {
		// The web metric's server is the one the template names.
		var template rolloutsv1alpha1.AnalysisTemplate
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "error-rate"}, &template)).To(Succeed())
		runOf := func(id string) *rolloutsv1alpha1.AnalysisRun {
			run := &rolloutsv1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "check-" + nameOf(id)}}
			run.Spec.Metrics = template.Spec.Metrics
			labelled(run, id)
			Expect(k8sClient.Create(ctx, run)).To(Succeed())
			return run
		}
		for _, id := range append(append([]string{}, strangers...), owners...) {
			runOf(id)
		}
		for _, id := range owners {
			Eventually(func(g Gomega) {
				var run rolloutsv1alpha1.AnalysisRun
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "check-" + id}, &run)).To(Succeed())
				g.Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful), run.Status.Message)
			}).WithContext(ctx).Should(Succeed())
		}
		Consistently(func(g Gomega) {
			for _, id := range strangers {
				var run rolloutsv1alpha1.AnalysisRun
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "check-" + nameOf(id)}, &run)).To(Succeed())
				g.Expect(run.Status.Phase).To(BeEmpty(), nameOf(id))
				g.Expect(run.Status.StartedAt).To(BeNil(), nameOf(id))
			}
		}).WithContext(ctx).WithTimeout(5 * time.Second).Should(Succeed())
		expectOnlyOwn(ctx, managers, "analysis_run_info", ns, func(id string) string { return "check-" + id })
	})

	It("each syncs only its own Applications", func(ctx context.Context) {
		files := map[string]string{}
		for _, id := range append(append([]string{}, strangers...), owners...) {
			files[nameOf(id)+"/settings.yaml"] = fmt.Sprintf(
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-%s\ndata:\n  owner: %s\n", nameOf(id), nameOf(id))
		}
		Expect(repo.Write(files)).To(Succeed())
		_, err := repo.Commit("main", "settings of every instance")
		Expect(err).NotTo(HaveOccurred())
		sa := deliverer(ctx, ns, ns)
		for _, id := range append(append([]string{}, strangers...), owners...) {
			app := &gitopsv1alpha1.Application{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: nameOf(id)},
				Spec: gitopsv1alpha1.ApplicationSpec{
					Source:             gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: nameOf(id)},
					Destination:        gitopsv1alpha1.ApplicationDestination{Namespace: ns},
					ServiceAccountName: sa,
					SyncPolicy:         &gitopsv1alpha1.SyncPolicy{Automated: &gitopsv1alpha1.AutomatedSyncPolicy{}},
				},
			}
			labelled(app, id)
			Expect(k8sClient.Create(ctx, app)).To(Succeed())
			DeferCleanup(deleteApplication, app)
		}

		for _, id := range owners {
			Eventually(func(g Gomega) {
				var app gitopsv1alpha1.Application
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: id}, &app)).To(Succeed())
				g.Expect(app.Status.Sync.Status).To(Equal(gitopsv1alpha1.SyncStatusSynced), "%+v", app.Status.Conditions)
				var settings corev1.ConfigMap
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings-" + id}, &settings)).To(Succeed())
				g.Expect(settings.Data).To(HaveKeyWithValue("owner", id))
			}).WithContext(ctx).Should(Succeed())
		}
		Consistently(func(g Gomega) {
			for _, id := range strangers {
				var app gitopsv1alpha1.Application
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: nameOf(id)}, &app)).To(Succeed())
				g.Expect(app.Status.Conditions).To(BeEmpty(), nameOf(id))
				g.Expect(app.Finalizers).To(BeEmpty(), "%s: no manager of its instance runs to remove a finalizer", nameOf(id))
				g.Expect(app.Status.Sync.Status).To(BeEmpty(), nameOf(id))
				var settings corev1.ConfigMap
				err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings-" + nameOf(id)}, &settings)
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "settings-%s: %v", nameOf(id), err)
			}
		}).WithContext(ctx).WithTimeout(5 * time.Second).Should(Succeed())
		expectOnlyOwn(ctx, managers, "sluice_application_info", ns, func(id string) string { return id })
	})
})

// errorRateMetric is a web metric that passes while url answers an error
// rate under 5%.
func errorRateMetric(url string) rolloutsv1alpha1.Metric {
	return rolloutsv1alpha1.Metric{
		Name: "error-rate", SuccessCondition: "result < 0.05",
		Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{URL: url, JSONPath: "{$.errorRate}"}},
	}
}

// expectOnlyOwn checks that each manager's metrics family names its own
// instance's object of the namespace, and no other instance's: what a
// manager serves comes from its cache, so this shows what it holds.
func expectOnlyOwn(ctx context.Context, managers map[string]*framework.Manager, family, ns string, nameOf func(id string) string) {
	GinkgoHelper()
	for id, m := range managers {
		Eventually(func(g Gomega) {
			s := scrape(g, m)
			g.Expect(s.series(family, map[string]string{"namespace": ns, "name": nameOf(id)})).NotTo(BeEmpty(), "%s of %s", family, id)
			for other := range managers {
				if other != id {
					g.Expect(s.series(family, map[string]string{"namespace": ns, "name": nameOf(other)})).To(BeEmpty(),
						"%s: the %s manager holds %s's", family, id, other)
				}
			}
		}).WithContext(ctx).Should(Succeed())
	}
}
