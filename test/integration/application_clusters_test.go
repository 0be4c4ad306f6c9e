package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/controllers/fluxsource"
	"github.com/sluicehq/sluice/gitops/cluster"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/test/simcluster"
)

// Several clusters: a second API server, registered by an Argo CD cluster
// Secret in the manager's namespace, receives an Application's objects.
var _ = Describe("Applications on a registered cluster", Ordered, func() {
	var (
		server    *gitserver.Server
		remote    client.Client
		remoteCfg *rest.Config
		managerNS string // where cluster Secrets are read
		// kubeconfig reaches the second API server, for a Flux
		// Kustomization's kubeConfig.secretRef.
		kubeconfig []byte
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		binDir, err := simcluster.DefaultBinDir()
		Expect(err).NotTo(HaveOccurred())
		env := &envtest.Environment{BinaryAssetsDirectory: binDir, Scheme: scheme.New()}
		admin, err := env.Start()
		DeferCleanup(env.Stop)
		Expect(err).NotTo(HaveOccurred())
		// The cluster is registered with a user of its own, as an operator
		// registers one with a service account's credentials.
		user, err := env.AddUser(envtest.User{Name: "sluice-remote", Groups: []string{"system:masters"}}, admin)
		Expect(err).NotTo(HaveOccurred())
		remoteCfg = user.Config()
		kubeconfig, err = user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		remote, err = client.New(remoteCfg, client.Options{Scheme: scheme.New()})
		Expect(err).NotTo(HaveOccurred())
		// A real cluster's garbage collector, which finishes foreground
		// deletions there.
		startGarbageCollector(ctx, binDir, writeKubeconfig(env, admin, envtest.User{Name: "remote-gc", Groups: []string{"system:masters"}}))

		managerNS = newNamespace(ctx, "sluice-system-")
		startApplicationController(application.Options{ClusterNamespace: managerNS, Concurrency: 2, Kustomizations: true})
		startController("", func(mgr ctrl.Manager) error { return fluxsource.Setup(mgr, instance.Scope{}) })
		registerCluster(ctx, managerNS, "remote", "remote", remoteCfg)
	})

	onRemote := func(ctx context.Context, namespace, name string) func() (*corev1.ConfigMap, error) {
		return func() (*corev1.ConfigMap, error) {
			var cm corev1.ConfigMap
			err := remote.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cm)
			return &cm, err
		}
	}
	failsWith := func(ctx context.Context, app *gitopsv1alpha1.Application, reason string) string {
		GinkgoHelper()
		var message string
		Eventually(func(g Gomega) {
			ready := readyOf(ctx, app)(g)
			g.Expect(ready.Reason).To(Equal(reason), ready.Message)
			message = ready.Message
		}).WithContext(ctx).Should(Succeed())
		return message
	}

	It("applies a Flux Kustomization to the cluster its kubeConfig.secretRef reaches, and heals it there", func(ctx context.Context) {
		ns := newNamespace(ctx, "flux-remote-")
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "edge-kubeconfig"},
			Data: map[string][]byte{"value": kubeconfig}})).To(Succeed())
		repository, _ := pushRepo(server, "flux-remote", map[string]string{"deploy/settings.yaml": configMapManifest("edge", "one")})
		Expect(k8sClient.Create(ctx, gitRepository(ns, "repo", repository.URL))).To(Succeed())
		ks := kustomization(ns, "edge", "repo", "./deploy")
		ks.Spec.TargetNamespace = "edge"
		ks.Spec.KubeConfig = &fluxmeta.KubeConfigReference{SecretRef: &fluxmeta.SecretKeyReference{Name: "edge-kubeconfig"}}
		Expect(remote.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "edge"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, ks)).To(Succeed())

		Eventually(onRemote(ctx, "edge", "edge")).WithContext(ctx).Should(HaveField("Data", HaveKeyWithValue("value", "one")))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "edge", Name: "edge"}, &corev1.ConfigMap{})).
			To(Satisfy(apierrors.IsNotFound), "nothing is applied to the manager's cluster")
		cm, err := onRemote(ctx, "edge", "edge")()
		Expect(err).NotTo(HaveOccurred())
		Expect(remote.Patch(ctx, cm, client.RawPatch("application/merge-patch+json", []byte(`{"data":{"value":"drifted"}}`)))).To(Succeed())
		Eventually(onRemote(ctx, "edge", "edge")).WithContext(ctx).Should(HaveField("Data", HaveKeyWithValue("value", "one")))

		Expect(k8sClient.Delete(ctx, ks)).To(Succeed())
		Eventually(func() error { _, err := onRemote(ctx, "edge", "edge")(); return err }).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound),
			"deleting a Kustomization that prunes deletes its objects there")
	})

	It("applies, self-heals, prunes and deletes on the registered cluster", func(ctx context.Context) {
		repo, first := pushRepo(server, "remote-app", map[string]string{
			"app/a.yaml": configMapManifest("a", "one"), "app/b.yaml": configMapManifest("b", "two"),
		})
		app := newApplication(ctx, managerNS, "remote-app", appDir(repo.URL), "web", true,
			func(a *gitopsv1alpha1.Application) { a.Spec.Destination.Name = "remote" })
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
		Expect(onRemote(ctx, "web", "a")()).To(HaveField("Data", HaveKeyWithValue("value", "one")))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "web", Name: "a"}, &corev1.ConfigMap{})).
			To(Satisfy(apierrors.IsNotFound), "nothing is applied to the manager's cluster")

		By("a change made on the registered cluster is undone: its watch wakes the Application")
		cm, err := onRemote(ctx, "web", "a")()
		Expect(err).NotTo(HaveOccurred())
		changed := time.Now()
		Expect(remote.Patch(ctx, cm, client.RawPatch("application/merge-patch+json", []byte(`{"data":{"value":"drifted"}}`)))).To(Succeed())
		Eventually(onRemote(ctx, "web", "a")).WithContext(ctx).WithTimeout(10 * time.Second).
			Should(HaveField("Data", HaveKeyWithValue("value", "one")))
		AddReportEntry("self-heal on a registered cluster", time.Since(changed).String())

		By("an object that left Git is pruned there")
		second := commitFiles(repo, nil, "app/b.yaml")
		expectSynced(ctx, client.ObjectKeyFromObject(app), second)
		Eventually(func() error { _, err := onRemote(ctx, "web", "b")(); return err }).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound))

		By("deleting the Application deletes its objects there")
		Expect(k8sClient.Delete(ctx, app)).To(Succeed())
		Eventually(func() error { _, err := onRemote(ctx, "web", "a")(); return err }).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound))
		Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app) }).WithContext(ctx).
			Should(Satisfy(apierrors.IsNotFound))
	})

	It("takes a destination by server or by name, not both", func(ctx context.Context) {
		both := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: managerNS, Name: "both"},
			Spec: gitopsv1alpha1.ApplicationSpec{Source: appDir("https://git.example/x.git"),
				Destination: gitopsv1alpha1.ApplicationDestination{Server: remoteCfg.Host, Name: "remote"}}}
		err := k8sClient.Create(ctx, both)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("destination names a cluster by server or by name, not both"))
	})

	It("refuses a cluster to another namespace's Applications until its Secret lists that namespace", func(ctx context.Context) {
		tenant := newNamespace(ctx, "tenant-")
		repo, first := pushRepo(server, "tenant-remote", map[string]string{"app/cm.yaml": configMapManifest("tenant", "t")})
		app := newApplication(ctx, tenant, "tenant-remote", appDir(repo.URL), "tenant-web", true,
			func(a *gitopsv1alpha1.Application) { a.Spec.Destination.Server = remoteCfg.Host })
		DeferCleanup(forgetApplication, app)
		Expect(failsWith(ctx, app, application.ReasonClusterRefused)).To(And(
			ContainSubstring("cluster remote"), ContainSubstring("Applications of namespace "+tenant+" may not use it"),
			ContainSubstring(cluster.AllowedNamespacesAnnotation)))
		Consistently(func() error { _, err := onRemote(ctx, "tenant-web", "tenant")(); return err }).WithContext(ctx).
			WithTimeout(time.Second).Should(Satisfy(apierrors.IsNotFound))

		By("an Application refused from the start is deleted at once: it applied nothing anywhere")
		refused := newApplication(ctx, tenant, "refused", appDir(repo.URL), "tenant-web", true,
			func(a *gitopsv1alpha1.Application) { a.Spec.Destination.Name = "remote" })
		failsWith(ctx, refused, application.ReasonClusterRefused)
		Expect(k8sClient.Delete(ctx, refused)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(refused), refused) }).WithContext(ctx).
			Should(Satisfy(apierrors.IsNotFound))

		By("the Secret lists the namespace: the Application syncs, without a restart")
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: managerNS, Name: "remote"}}
		patchMerge(ctx, secret, fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, cluster.AllowedNamespacesAnnotation, tenant))
		requestSync(ctx, client.ObjectKeyFromObject(app))
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
		Expect(onRemote(ctx, "tenant-web", "tenant")()).To(HaveField("Data", HaveKeyWithValue("value", "t")))
	})

	It("marks an Application whose cluster does not answer, keeps the others syncing, and recovers", func(ctx context.Context) {
		dead := "https://" + freeLoopbackAddress()
		registerCluster(ctx, managerNS, "down", "down", &rest.Config{Host: dead, BearerToken: "not-shown-anywhere"})
		repo, first := pushRepo(server, "down-app", map[string]string{"app/cm.yaml": configMapManifest("down", "d")})
		app := newApplication(ctx, managerNS, "down-app", appDir(repo.URL), "down-web", true, func(a *gitopsv1alpha1.Application) {
			a.Spec.Destination.Name = "down"
			// Retries come quickly, so the recovery below is seen soon.
			a.Spec.SyncPolicy.Retry = &gitopsv1alpha1.RetryStrategy{Limit: -1, Backoff: &gitopsv1alpha1.Backoff{
				Duration: &metav1.Duration{Duration: time.Second}, MaxDuration: &metav1.Duration{Duration: 2 * time.Second}}}
		})
		DeferCleanup(forgetApplication, app)
		message := failsWith(ctx, app, application.ReasonClusterUnreachable)
		Expect(message).To(ContainSubstring("cluster down (" + dead + ") did not answer"))
		Expect(message).NotTo(ContainSubstring("not-shown-anywhere"))
		Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthUnknown), "its objects cannot be read")

		By("an Application on the manager's cluster syncs meanwhile")
		local, localFirst := pushRepo(server, "local-app", map[string]string{"app/cm.yaml": configMapManifest("local", "l")})
		localApp := newApplication(ctx, managerNS, "local-app", appDir(local.URL), managerNS, true)
		DeferCleanup(forgetApplication, localApp)
		expectSynced(ctx, client.ObjectKeyFromObject(localApp), localFirst)

		By("the Secret points at a cluster that answers: the Application recovers without a restart")
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: managerNS, Name: "down"}}
		patchMerge(ctx, secret, fmt.Sprintf(`{"stringData":{"server":%q,"config":%q}}`, remoteCfg.Host, argoConfig(remoteCfg)))
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
		Expect(onRemote(ctx, "down-web", "down")()).To(HaveField("Data", HaveKeyWithValue("value", "d")))
	})

	It("reads a Flux kubeconfig Secret into a handle that reaches the cluster", func(ctx context.Context) {
		kubeconfig := kubeconfigOf(remoteCfg)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "remote"},
			Data: map[string][]byte{"value": kubeconfig}}
		c, err := cluster.FromKubeconfigSecret(s, "")
		Expect(err).NotTo(HaveOccurred())
		reach, err := client.New(c.Config, client.Options{Scheme: scheme.New()})
		Expect(err).NotTo(HaveOccurred())
		Expect(reach.List(ctx, &corev1.NamespaceList{})).To(Succeed())
	})
})

// registerCluster creates (or replaces) a cluster Secret in namespace, as
// Argo CD's declarative setup writes one.
func registerCluster(ctx context.Context, namespace, secretName, clusterName string, cfg *rest.Config) {
	GinkgoHelper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: secretName,
			Labels: map[string]string{cluster.SecretTypeLabel: cluster.SecretTypeCluster}},
		StringData: map[string]string{"name": clusterName, "server": cfg.Host, "config": argoConfig(cfg)},
	}
	Expect(k8sClient.Create(ctx, s)).To(Succeed())
}

// argoConfig is Argo CD's config JSON for a rest.Config's credentials.
func argoConfig(cfg *rest.Config) string {
	GinkgoHelper()
	type tls struct {
		CAData   []byte `json:"caData,omitempty"`
		CertData []byte `json:"certData,omitempty"`
		KeyData  []byte `json:"keyData,omitempty"`
	}
	data, err := json.Marshal(struct {
		BearerToken     string `json:"bearerToken,omitempty"`
		TLSClientConfig tls    `json:"tlsClientConfig"`
	}{cfg.BearerToken, tls{cfg.CAData, cfg.CertData, cfg.KeyData}})
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// kubeconfigOf is a kubeconfig of a rest.Config's server and client
// certificate, as a Flux kubeConfig Secret holds one.
func kubeconfigOf(cfg *rest.Config) []byte {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
current-context: remote
contexts: [{name: remote, context: {cluster: remote, user: admin}}]
clusters: [{name: remote, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: admin, user: {client-certificate-data: %s, client-key-data: %s}}]
`, cfg.Host, b64(cfg.CAData), b64(cfg.CertData), b64(cfg.KeyData))
}
