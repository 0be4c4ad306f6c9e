package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/framework"
)

// installNamespace and installServiceAccount are who config/default runs
// the manager as.
const (
	installNamespace      = "sluice-system"
	installServiceAccount = "sluice"
)

// The manager binary as config/default runs it: as its service account,
// with only the roles config/rbac grants (generated from each controller's
// markers), one controller at a time. A rule a controller needs and its
// role lacks shows here as a manager that never becomes ready (a watch it
// may not make) or work it cannot do (a write the API server refuses).
var _ = Describe("The manager with only the RBAC of config/default", Ordered, func() {
	var asServiceAccount string // a kubeconfig of the manager's service account

	BeforeAll(func(ctx context.Context) {
		for _, o := range rbacOfConfigDefault() {
			Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, o))).To(Succeed(), o.GetKind()+" "+o.GetName())
		}
		// The name and groups the API server gives the service account's
		// token; RBAC binds a ServiceAccount subject to that name.
		asServiceAccount = writeKubeconfig(testEnv, cfg, envtest.User{
			Name:   "system:serviceaccount:" + installNamespace + ":" + installServiceAccount,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + installNamespace, "system:authenticated"},
		})
	})

	// start runs the manager with one controller, electing a leader in the
	// manager's namespace, and waits until it leads and its caches synced.
	start := func(ctx context.Context, controller string) {
		GinkgoHelper()
		leaseName := "rbac-" + controller
		m := framework.StartManager(asServiceAccount, "--controllers="+controller,
			"--leader-elect=true", "--leader-election-namespace="+installNamespace, "--leader-election-id="+leaseName,
			"--git-cache-dir="+GinkgoT().TempDir(), "--notifications-namespace="+installNamespace)
		Eventually(framework.HTTPStatus(m.ProbeURL+"/readyz")).WithContext(ctx).Should(Equal(http.StatusOK),
			"the informers sync: the role allows every list and watch")
		Eventually(func(g Gomega) {
			var lease coordinationv1.Lease
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: installNamespace, Name: leaseName}, &lease)).To(Succeed())
			g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
		}).WithContext(ctx).Should(Succeed(), "the leader-election Role lets it take the Lease")
	}

	It("runs the rollout controller: a Rollout gets its ReplicaSet and its status", func(ctx context.Context) {
		start(ctx, "rollout")
		// Notifications: the Role lets it watch its ConfigMap and Secret
		// by name, and nothing else of the namespace.
		hooks := startReceiver(nil)
		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: installNamespace, Name: "argo-rollouts-notification-configmap"},
			Data: map[string]string{
				"service.webhook.hooks":        "url: " + hooks.url + "/$path\n",
				"trigger.on-rollout-completed": "- send: [completed]\n",
				"template.completed":           "message: '{{.rollout.metadata.name}} completed'\n",
			}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: installNamespace, Name: "argo-rollouts-notification-secret"},
			StringData: map[string]string{"path": "from-the-secret"}})).To(Succeed())
		DeferCleanup(func(ctx context.Context) {
			Expect(k8sClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: installNamespace, Name: "argo-rollouts-notification-configmap"}})).To(Succeed())
			Expect(k8sClient.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: installNamespace, Name: "argo-rollouts-notification-secret"}})).To(Succeed())
		})
		ns := newNamespace(ctx, "rbac-rollout-")
		ro := builders.Rollout("web").Namespace(ns).Replicas(2).Canary(builders.SetWeight(50)).Obj()
		ro.Annotations = map[string]string{"notifications.argoproj.io/subscribe.on-rollout-completed.hooks": ""}
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		Eventually(func() []string { return hooks.bodies("/from-the-secret") }).WithContext(ctx).Should(Equal([]string{"web completed"}))
		Eventually(func(g Gomega) {
			var rss appsv1.ReplicaSetList
			g.Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
			g.Expect(rss.Items).To(HaveLen(1))
			g.Expect(metav1.IsControlledBy(&rss.Items[0], ro)).To(BeTrue())
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.ObservedGeneration).To(Equal("1"))
			g.Expect(ro.Status.CurrentPodHash).NotTo(BeEmpty())
		}).WithContext(ctx).Should(Succeed())
	})

	It("runs the analysisrun controller: a run measures and completes", func(ctx context.Context) {
		start(ctx, "analysisrun")
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"errorRate":0.01}`))
		}))
		DeferCleanup(web.Close)
		ns := newNamespace(ctx, "rbac-analysis-")
		run := &rolloutsv1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: rolloutsv1alpha1.AnalysisRunSpec{Metrics: []rolloutsv1alpha1.Metric{{
				Name: "error-rate", SuccessCondition: "result < 0.05",
				Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{URL: web.URL, JSONPath: "{$.errorRate}"}},
			}}},
		}
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)
	})

	It("runs the application controller: it writes as the Application's service account, and nothing with its own rights", func(ctx context.Context) {
		start(ctx, "application")
		server := startGitServer()
		configMap := func(name string) string {
			return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  k: v\n"
		}
		ns := newNamespace(ctx, "rbac-app-")
		grantNamespaceAdmin(ctx, ns, ns, "deployer")
		source := func(repoURL string) gitopsv1alpha1.ApplicationSource {
			return gitopsv1alpha1.ApplicationSource{RepoURL: repoURL, TargetRevision: "main", Path: "app"}
		}
		noNamespaceCreation := func(app *gitopsv1alpha1.Application) { app.Spec.SyncPolicy.SyncOptions = nil }

		By("syncing as a service account that may write the namespace")
		impersonated, sha := pushRepo(server, "impersonated", map[string]string{"app/cm.yaml": configMap("impersonated")})
		app := newApplication(ctx, ns, "impersonated", source(impersonated.URL), ns, true, noNamespaceCreation,
			func(app *gitopsv1alpha1.Application) { app.Spec.ServiceAccountName = "deployer" })
		expectSynced(ctx, client.ObjectKeyFromObject(app), sha)
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "impersonated"}, &corev1.ConfigMap{})).To(Succeed())

		By("failing to sync with the manager's own rights, which write nothing")
		ownRights, _ := pushRepo(server, "own-rights", map[string]string{"app/cm.yaml": configMap("own-rights")})
		own := newApplication(ctx, ns, "own-rights", source(ownRights.URL), ns, true, noNamespaceCreation)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(own), own)).To(Succeed())
			ready := meta.FindStatusCondition(own.Status.Conditions, appplan.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Message).To(ContainSubstring("forbidden"))
		}).WithContext(ctx).Should(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "own-rights"}, &corev1.ConfigMap{})).
			To(MatchError(ContainSubstring("not found")))
	})
})

// rbacOfConfigDefault builds config/default, as `kubectl apply -k` would,
// and returns its Namespace, service account, roles and bindings.
func rbacOfConfigDefault() []*unstructured.Unstructured {
	GinkgoHelper()
	root, err := repo.Root()
	Expect(err).NotTo(HaveOccurred())
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).
		Run(filesys.MakeFsOnDisk(), filepath.Join(root, "config", "default"))
	Expect(err).NotTo(HaveOccurred())
	out, err := resources.AsYaml()
	Expect(err).NotTo(HaveOccurred())

	wanted := map[string]bool{"Namespace": true, "ServiceAccount": true,
		"Role": true, "ClusterRole": true, "RoleBinding": true, "ClusterRoleBinding": true}
	var objects []*unstructured.Unstructured
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		Expect(err).NotTo(HaveOccurred())
		o := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal(doc, &o.Object)).To(Succeed())
		if wanted[o.GetKind()] {
			objects = append(objects, o)
		}
	}
	Expect(objects).NotTo(BeEmpty())
	return objects
}
