package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/test/gitserver"
)

// The repositories of test/repos, shaped as teams shape theirs, synced by
// the real Application controller from a real Git server: each is checked
// object by object, changed by a commit, then changed by hand and healed.
// The seed's layout here is what once ended the manager (a kustomization's
// Deployment holds Go ints, which the apply engine's copying panics on).
var _ = Describe("Repositories as people write them", Ordered, func() {
	var (
		server *gitserver.Server
		appsNS string // where the specs' own Applications live
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		startApplicationController(application.Options{})
		appsNS = newNamespace(ctx, "repos-")
	})

	// push commits a fixture tree of test/repos as a new repository.
	push := func(fixture, name string) (*gitserver.Repo, string) {
		GinkgoHelper()
		r, err := server.Create(name)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.WriteTree(repoFixture(fixture), "", map[string]string{"REPO_URL": r.URL})).To(Succeed())
		sha, err := r.Commit("main", "first")
		Expect(err).NotTo(HaveOccurred())
		return r, sha
	}
	change := commitFiles
	newApp := func(ctx context.Context, name, repoURL, path, destination string, edits ...func(*gitopsv1alpha1.Application)) client.ObjectKey {
		GinkgoHelper()
		source := gitopsv1alpha1.ApplicationSource{RepoURL: repoURL, TargetRevision: "main", Path: path}
		return client.ObjectKeyFromObject(newApplication(ctx, appsNS, name, source, destination, true, edits...))
	}

	It("the seed's layout: an app of apps delivers kustomizations and plain directories, follows a commit and heals", func(ctx context.Context) {
		for _, ns := range []string{"argocd"} {
			if err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); !apierrors.IsAlreadyExists(err) {
				Expect(err).NotTo(HaveOccurred())
			}
		}
		gitopsRepo, first := push("seed", "gitops-repo")

		By("creating the seed's app of apps with only its repoURL changed")
		parent := readExample("app-of-apps.yaml")
		Expect(unstructured.SetNestedField(parent.Object, gitopsRepo.URL, "spec", "source", "repoURL")).To(Succeed())
		Expect(k8sClient.Create(ctx, parent)).To(Succeed())
		children := []string{"my-app", "my-app-staging", "app2", "ingress-nginx", "monitoring"}
		DeferCleanup(func(ctx context.Context) {
			// The seed's manifests spec creates Applications of these
			// names: they must be gone. They leave their objects, which
			// include Namespaces that nothing here would finish deleting.
			for _, name := range append([]string{"applications"}, children...) {
				app := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: name}}
				err := k8sClient.Patch(ctx, app, client.RawPatch(types.MergePatchType,
					[]byte(`{"metadata":{"annotations":{"gitops.sluice.dev/delete-resources":"false"}}}`)))
				Expect(client.IgnoreNotFound(err)).To(Succeed())
				Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, app))).To(Succeed())
			}
			for _, name := range append([]string{"applications"}, children...) {
				Eventually(func() bool {
					return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: name}, &gitopsv1alpha1.Application{}))
				}).WithContext(ctx).Should(BeTrue(), "Application %s is gone", name)
			}
		})
		expectSynced(ctx, client.ObjectKey{Namespace: "argocd", Name: "applications"}, first)
		Expect(inventoryOf(ctx, client.ObjectKey{Namespace: "argocd", Name: "applications"})).To(ConsistOf(
			"Application argocd/my-app", "Application argocd/my-app-staging", "Application argocd/app2",
			"Application argocd/ingress-nginx", "Application argocd/monitoring"))
		for _, name := range children {
			expectSynced(ctx, client.ObjectKey{Namespace: "argocd", Name: name}, first)
		}

		By("production's kustomization: a Deployment, a Service and a ConfigMap, labelled and pinned")
		Expect(inventoryOf(ctx, client.ObjectKey{Namespace: "argocd", Name: "my-app"})).To(ConsistOf(
			"ConfigMap production/my-app-config", "Service production/my-app", "Deployment production/my-app"))
		prod := get[appsv1.Deployment](ctx, "production", "my-app")
		Expect(prod.Spec.Replicas).To(HaveValue(BeEquivalentTo(3)))
		Expect(prod.Spec.RevisionHistoryLimit).To(HaveValue(BeEquivalentTo(5)))
		Expect(prod.Spec.Strategy.RollingUpdate.MaxUnavailable).To(HaveValue(Equal(intstr.FromInt32(0))))
		Expect(prod.Spec.Strategy.RollingUpdate.MaxSurge).To(HaveValue(Equal(intstr.FromString("25%"))))
		Expect(prod.Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "my-app", "app.kubernetes.io/part-of": "shop"}))
		container := prod.Spec.Template.Spec.Containers[0]
		Expect(container.Image).To(Equal("registry.example/shop/my-app:1.4.2"))
		Expect(container.Ports).To(Equal([]corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}))
		Expect(container.ReadinessProbe.InitialDelaySeconds).To(BeEquivalentTo(5))
		Expect(container.LivenessProbe.TCPSocket.Port).To(Equal(intstr.FromInt32(8080)))
		Expect(container.Resources.Requests.Cpu().String()).To(Equal("100m"))
		Expect(container.EnvFrom[0].ConfigMapRef.Name).To(Equal("my-app-config"))
		Expect(prod.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(30)))
		Expect(prod.Labels).To(HaveKeyWithValue("gitops.sluice.dev/name", "my-app"))
		svc := get[corev1.Service](ctx, "production", "my-app")
		Expect(svc.Spec.Ports).To(HaveLen(1))
		Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(80))
		Expect(svc.Spec.Ports[0].TargetPort).To(Equal(intstr.FromString("http")))
		Expect(get[corev1.ConfigMap](ctx, "production", "my-app-config").Data).To(Equal(map[string]string{"LOG_LEVEL": "info", "MAX_CONNECTIONS": "100"}))

		By("staging's kustomization: production's, smaller, ahead, and patched")
		staging := get[appsv1.Deployment](ctx, "staging", "my-app")
		Expect(staging.Spec.Replicas).To(HaveValue(BeEquivalentTo(1)))
		Expect(staging.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/shop/my-app:1.5.0-rc.1"))
		Expect(get[corev1.ConfigMap](ctx, "staging", "my-app-config").Data).To(HaveKeyWithValue("LOG_LEVEL", "debug"))

		By("a plain directory in production: app2")
		Expect(inventoryOf(ctx, client.ObjectKey{Namespace: "argocd", Name: "app2"})).To(ConsistOf(
			"Deployment production/app2", "Service production/app2"))
		Expect(get[appsv1.Deployment](ctx, "production", "app2").Spec.Template.Spec.Containers[0].Ports[0].ContainerPort).To(BeEquivalentTo(9000))

		By("infrastructure: a kustomization that sets a namespace, and a directory of objects that name theirs")
		Expect(inventoryOf(ctx, client.ObjectKey{Namespace: "argocd", Name: "ingress-nginx"})).To(ConsistOf(
			"Namespace /ingress-nginx", "IngressClass /nginx", "ServiceAccount ingress-nginx/ingress-nginx",
			"ConfigMap ingress-nginx/ingress-nginx-controller", "Deployment ingress-nginx/ingress-nginx-controller",
			"Service ingress-nginx/ingress-nginx-controller"))
		var class networkingv1.IngressClass
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "nginx"}, &class)).To(Succeed())
		Expect(class.Spec.Controller).To(Equal("k8s.io/ingress-nginx"))
		nginx := get[appsv1.Deployment](ctx, "ingress-nginx", "ingress-nginx-controller")
		Expect(nginx.Spec.Replicas).To(HaveValue(BeEquivalentTo(2)))
		Expect(nginx.Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser).To(HaveValue(BeEquivalentTo(101)))
		lb := get[corev1.Service](ctx, "ingress-nginx", "ingress-nginx-controller")
		Expect(lb.Spec.Type).To(Equal(corev1.ServiceTypeLoadBalancer))
		Expect([]int32{lb.Spec.Ports[0].Port, lb.Spec.Ports[1].Port}).To(Equal([]int32{80, 443}))
		var exporter appsv1.DaemonSet
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "monitoring", Name: "node-exporter"}, &exporter)).To(Succeed())
		Expect(exporter.Spec.Template.Spec.Containers[0].Ports[0].HostPort).To(BeEquivalentTo(9100))
		Expect(exporter.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable).To(HaveValue(Equal(intstr.FromInt32(1))))
		Expect(get[corev1.Service](ctx, "monitoring", "node-exporter").Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))

		By("committing: more replicas, a new tag, the ConfigMap generated, and app2's Application removed from Git")
		kustomization := readFixture("seed", "apps/production/my-app/kustomization.yaml")
		kustomization = strings.Replace(kustomization, "- configmap.yaml\n", "", 1)
		kustomization = strings.Replace(kustomization, `newTag: "1.4.2"`, `newTag: "1.4.3"`, 1)
		kustomization += "configMapGenerator:\n- name: my-app-config\n  literals:\n  - LOG_LEVEL=info\n  - MAX_CONNECTIONS=\"200\"\n"
		second := change(gitopsRepo, map[string]string{
			"apps/production/my-app/kustomization.yaml": kustomization,
			"apps/production/my-app/deployment.yaml": strings.Replace(
				readFixture("seed", "apps/production/my-app/deployment.yaml"), "replicas: 3", "replicas: 4", 1),
		}, "apps/production/my-app/configmap.yaml", "argocd/applications/app2.yaml")
		// The seed's Applications poll every three minutes: ask now, as a
		// push webhook or `kubectl sluice app sync` does.
		for _, name := range []string{"applications", "my-app", "my-app-staging"} {
			requestSync(ctx, client.ObjectKey{Namespace: "argocd", Name: name})
		}
		expectSynced(ctx, client.ObjectKey{Namespace: "argocd", Name: "my-app"}, second)
		expectSynced(ctx, client.ObjectKey{Namespace: "argocd", Name: "my-app-staging"}, second)
		expectSynced(ctx, client.ObjectKey{Namespace: "argocd", Name: "applications"}, second)
		By("the seed's app of apps does not prune (automated: {}): the Application removed from Git stays, OutOfSync")
		var parentApp gitopsv1alpha1.Application
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "applications"}, &parentApp)).To(Succeed())
		Expect(parentApp.Status.Resources).To(ContainElement(SatisfyAll(
			HaveField("ObjectRef.Name", "app2"), HaveField("Status", gitopsv1alpha1.SyncStatusOutOfSync))))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "argocd", Name: "app2"}, &gitopsv1alpha1.Application{})).To(Succeed())
		prod = get[appsv1.Deployment](ctx, "production", "my-app")
		Expect(prod.Spec.Replicas).To(HaveValue(BeEquivalentTo(4)))
		Expect(prod.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/shop/my-app:1.4.3"))
		generated := prod.Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name
		Expect(generated).To(MatchRegexp(`^my-app-config-[a-z0-9]{10}$`), "kustomize's hashed name, referenced")
		Expect(get[corev1.ConfigMap](ctx, "production", generated).Data).To(HaveKeyWithValue("MAX_CONNECTIONS", "200"))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "production", Name: "my-app-config"}, &corev1.ConfigMap{})).
			To(Satisfy(apierrors.IsNotFound), "the ConfigMap no longer in Git is pruned")
		stagingGenerated := get[appsv1.Deployment](ctx, "staging", "my-app").Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name
		Expect(get[corev1.ConfigMap](ctx, "staging", stagingGenerated).Data).To(HaveKeyWithValue("LOG_LEVEL", "debug"))

		By("changing and deleting by hand: self-heal puts Git's back")
		patchMerge(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "my-app"}}, `{"spec":{"replicas":9}}`)
		Eventually(func() *int32 { return get[appsv1.Deployment](ctx, "production", "my-app").Spec.Replicas }).
			WithContext(ctx).WithTimeout(10 * time.Second).Should(HaveValue(BeEquivalentTo(4)))
		Expect(k8sClient.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "my-app"}})).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "production", Name: "my-app"}, &corev1.Service{})
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
		patchMerge(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: generated}}, `{"data":{"LOG_LEVEL":"trace"}}`)
		Eventually(func() map[string]string { return get[corev1.ConfigMap](ctx, "production", generated).Data }).
			WithContext(ctx).WithTimeout(10 * time.Second).Should(HaveKeyWithValue("LOG_LEVEL", "info"))
	})

	It("a kustomize base with staging and production overlays: patches, images, replicas and generated names", func(ctx context.Context) {
		webRepo, first := push("overlays", "web")
		stagingNS, prodNS := appsNS+"-web-staging", appsNS+"-web-production"
		stagingApp := newApp(ctx, "web-staging", webRepo.URL, "overlays/staging", stagingNS)
		prodApp := newApp(ctx, "web-production", webRepo.URL, "overlays/production", prodNS)
		expectSynced(ctx, stagingApp, first)
		expectSynced(ctx, prodApp, first)

		By("staging: a name prefix, one replica, a release candidate, merged configuration and a patched container")
		staging := get[appsv1.Deployment](ctx, stagingNS, "staging-web")
		Expect(staging.Spec.Replicas).To(HaveValue(BeEquivalentTo(1)))
		Expect(staging.Labels).To(HaveKeyWithValue("app.kubernetes.io/name", "web"))
		Expect(staging.Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "web"}), "the label is not added to selectors")
		web := staging.Spec.Template.Spec.Containers[0]
		Expect(web.Image).To(Equal("registry.example/web:2.1.0-rc.3"))
		Expect(web.Resources.Requests.Memory().String()).To(Equal("64Mi"))
		config := web.EnvFrom[0].ConfigMapRef.Name
		Expect(config).To(MatchRegexp(`^staging-web-config-[a-z0-9]{10}$`))
		Expect(staging.Spec.Template.Spec.Volumes[0].ConfigMap.Name).To(Equal(config))
		Expect(get[corev1.ConfigMap](ctx, stagingNS, config).Data).To(Equal(map[string]string{
			"FEATURE_SEARCH": "on", "app.properties": "server.port=8080\ncache.ttl.seconds=60\n"}))
		credentials := web.Env[0].ValueFrom.SecretKeyRef.Name
		Expect(credentials).To(MatchRegexp(`^staging-web-credentials-[a-z0-9]{10}$`))
		Expect(get[corev1.Secret](ctx, stagingNS, credentials).Data).To(Equal(map[string][]byte{
			"username": []byte("web"), "password": []byte("base-password")}))
		Expect(get[corev1.Service](ctx, stagingNS, "staging-web").Spec.Ports[0].TargetPort).To(Equal(intstr.FromInt32(8080)))
		Expect(inventoryOf(ctx, stagingApp)).To(ConsistOf(
			"ConfigMap "+stagingNS+"/"+config, "Secret "+stagingNS+"/"+credentials,
			"Service "+stagingNS+"/staging-web", "Deployment "+stagingNS+"/staging-web"))

		By("production: a new image name, a JSON 6902 patch, a replaced secret from a file, and an HPA")
		prod := get[appsv1.Deployment](ctx, prodNS, "web")
		Expect(prod.Spec.Replicas).To(HaveValue(BeEquivalentTo(4)))
		Expect(prod.Spec.RevisionHistoryLimit).To(HaveValue(BeEquivalentTo(3)))
		web = prod.Spec.Template.Spec.Containers[0]
		Expect(web.Image).To(Equal("registry.example/prod/web:2.0.3"))
		Expect(web.Env).To(ContainElement(corev1.EnvVar{Name: "REGION", Value: "eu-west-1"}))
		Expect(web.Resources.Limits.Memory().String()).To(Equal("1Gi"))
		prodSecret := web.Env[0].ValueFrom.SecretKeyRef.Name
		Expect(prodSecret).To(MatchRegexp(`^web-credentials-[a-z0-9]{10}$`))
		Expect(get[corev1.Secret](ctx, prodNS, prodSecret).Data).To(Equal(map[string][]byte{
			"username": []byte("web-prod"), "password": []byte("not-a-real-production-password")}))
		var hpa autoscalingv2.HorizontalPodAutoscaler
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: prodNS, Name: "web"}, &hpa)).To(Succeed())
		Expect(hpa.Spec.MinReplicas).To(HaveValue(BeEquivalentTo(4)))
		Expect(hpa.Spec.MaxReplicas).To(BeEquivalentTo(12))
		Expect(hpa.Spec.Metrics[0].Resource.Target.AverageUtilization).To(HaveValue(BeEquivalentTo(70)))

		By("committing a change to the base's configuration file: new generated names everywhere, the old ones pruned")
		second := change(webRepo, map[string]string{"base/config/app.properties": "server.port=8080\ncache.ttl.seconds=120\n"})
		expectSynced(ctx, stagingApp, second)
		expectSynced(ctx, prodApp, second)
		newConfig := get[appsv1.Deployment](ctx, stagingNS, "staging-web").Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name
		Expect(newConfig).NotTo(Equal(config))
		Expect(get[corev1.ConfigMap](ctx, stagingNS, newConfig).Data).To(HaveKeyWithValue("app.properties", ContainSubstring("ttl.seconds=120")))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: stagingNS, Name: config}, &corev1.ConfigMap{})).To(Satisfy(apierrors.IsNotFound))
		Expect(get[appsv1.Deployment](ctx, stagingNS, "staging-web").Spec.Template.Spec.Volumes[0].ConfigMap.Name).To(Equal(newConfig))

		By("changing a generated Secret and deleting the HPA by hand: self-heal puts Git's back")
		patchMerge(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: prodNS, Name: prodSecret}},
			`{"stringData":{"password":"hunter2"}}`)
		Eventually(func() []byte { return get[corev1.Secret](ctx, prodNS, prodSecret).Data["password"] }).
			WithContext(ctx).WithTimeout(10 * time.Second).Should(Equal([]byte("not-a-real-production-password")))
		Expect(k8sClient.Delete(ctx, &hpa)).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: prodNS, Name: "web"}, &autoscalingv2.HorizontalPodAutoscaler{})
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
	})

	It("a plain directory of many kinds: a CRD with its resources, an Ingress, policies, and a Rollout with its template", func(ctx context.Context) {
		platformRepo, first := push("plain", "platform")
		dest := appsNS + "-platform"
		app := newApp(ctx, "platform", platformRepo.URL, "deploy", dest, func(app *gitopsv1alpha1.Application) {
			app.Spec.Source.Directory = &gitopsv1alpha1.DirectorySource{Recurse: true}
		})
		expectSynced(ctx, app, first)
		Expect(inventoryOf(ctx, app)).To(ConsistOf(
			"CustomResourceDefinition /widgets.shop.example.com", "Widget "+dest+"/small", "Widget "+dest+"/large",
			"Deployment "+dest+"/api", "Service "+dest+"/api", "HorizontalPodAutoscaler "+dest+"/api",
			"Ingress "+dest+"/api", "NetworkPolicy "+dest+"/api-ingress", "PodDisruptionBudget "+dest+"/api",
			"Rollout "+dest+"/checkout", "Service "+dest+"/checkout", "AnalysisTemplate "+dest+"/success-rate"),
			"every manifest of the tree, and nothing that is not one")

		By("each object as written, numbers included")
		var crd apiextensionsv1.CustomResourceDefinition
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "widgets.shop.example.com"}, &crd)).To(Succeed())
		Expect(crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["size"].Minimum).To(HaveValue(BeEquivalentTo(1)))
		Expect(widgetSpec(ctx, dest, "small")).To(Equal(map[string]any{"size": int64(3), "ratio": 0.25, "colour": "blue"}))
		Expect(widgetSpec(ctx, dest, "large")).To(Equal(map[string]any{"size": int64(40), "ratio": 1.5}))
		Expect(get[appsv1.Deployment](ctx, dest, "api").Spec.ProgressDeadlineSeconds).To(HaveValue(BeEquivalentTo(300)))
		Expect(get[corev1.Service](ctx, dest, "api").Spec.Ports[0].TargetPort).To(Equal(intstr.FromInt32(8443)))
		var hpa autoscalingv2.HorizontalPodAutoscaler
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "api"}, &hpa)).To(Succeed())
		Expect(hpa.Spec.Behavior.ScaleDown.StabilizationWindowSeconds).To(HaveValue(BeEquivalentTo(300)))
		Expect(hpa.Spec.MaxReplicas).To(BeEquivalentTo(10))
		var ingress networkingv1.Ingress
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "api"}, &ingress)).To(Succeed())
		Expect(ingress.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number).To(BeEquivalentTo(443))
		Expect(ingress.Annotations).To(HaveKeyWithValue("nginx.ingress.kubernetes.io/proxy-read-timeout", "120"))
		var policy networkingv1.NetworkPolicy
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "api-ingress"}, &policy)).To(Succeed())
		Expect(policy.Spec.Ingress[0].Ports[0].Port).To(HaveValue(Equal(intstr.FromInt32(8443))))
		var pdb policyv1.PodDisruptionBudget
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "api"}, &pdb)).To(Succeed())
		Expect(pdb.Spec.MinAvailable).To(HaveValue(Equal(intstr.FromInt32(1))))
		var ro rolloutsv1alpha1.Rollout
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "checkout"}, &ro)).To(Succeed())
		Expect(ro.Spec.Replicas).To(HaveValue(BeEquivalentTo(5)))
		Expect(ro.Spec.Strategy.Canary.Steps).To(HaveLen(6))
		Expect(ro.Spec.Strategy.Canary.Steps[1].Pause.Duration).To(HaveValue(Equal(intstr.FromString("1m"))))
		Expect(ro.Spec.Strategy.Canary.MaxSurge).To(HaveValue(Equal(intstr.FromInt32(1))))
		var template rolloutsv1alpha1.AnalysisTemplate
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "success-rate"}, &template)).To(Succeed())
		Expect(template.Spec.Metrics[0].Count).To(HaveValue(Equal(intstr.FromInt32(5))))
		Expect(template.Spec.Metrics[0].FailureLimit).To(HaveValue(Equal(intstr.FromInt32(1))))

		By("committing: a resized widget, a new one, a wider HPA and the NetworkPolicy removed")
		widgets := strings.Replace(readFixture("plain", "deploy/widgets/widgets.yaml"), "size: 3", "size: 5", 1) +
			"---\napiVersion: shop.example.com/v1\nkind: Widget\nmetadata:\n  name: medium\nspec:\n  size: 12\n"
		second := change(platformRepo, map[string]string{
			"deploy/widgets/widgets.yaml": widgets,
			"deploy/hpa.yaml":             strings.Replace(readFixture("plain", "deploy/hpa.yaml"), "maxReplicas: 10", "maxReplicas: 12", 1),
		}, "deploy/networkpolicy.yaml")
		expectSynced(ctx, app, second)
		Expect(widgetSpec(ctx, dest, "small")).To(HaveKeyWithValue("size", int64(5)))
		Expect(widgetSpec(ctx, dest, "medium")).To(Equal(map[string]any{"size": int64(12)}))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "api"}, &hpa)).To(Succeed())
		Expect(hpa.Spec.MaxReplicas).To(BeEquivalentTo(12))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "api-ingress"}, &networkingv1.NetworkPolicy{})).
			To(Satisfy(apierrors.IsNotFound))

		By("changing a custom resource and deleting the Ingress by hand: self-heal puts Git's back")
		widget := &unstructured.Unstructured{}
		widget.SetAPIVersion("shop.example.com/v1")
		widget.SetKind("Widget")
		widget.SetNamespace(dest)
		widget.SetName("large")
		Expect(k8sClient.Patch(ctx, widget, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"size":41}}`)))).To(Succeed())
		Eventually(func() map[string]any { return widgetSpec(ctx, dest, "large") }).
			WithContext(ctx).WithTimeout(10 * time.Second).Should(HaveKeyWithValue("size", int64(40)))
		Expect(k8sClient.Delete(ctx, &ingress)).To(Succeed())
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "api"}, &networkingv1.Ingress{})
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
	})
})

// repoFixture is the path of a tree of test/repos.
func repoFixture(name string) string {
	GinkgoHelper()
	root, err := repo.Root()
	Expect(err).NotTo(HaveOccurred())
	return filepath.Join(root, "test", "repos", name)
}

// readFixture reads one file of a tree of test/repos.
func readFixture(tree, path string) string {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(repoFixture(tree), path))
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// widgetSpec reads a Widget of the plain tree's CRD.
func widgetSpec(ctx context.Context, namespace, name string) map[string]any {
	GinkgoHelper()
	w := &unstructured.Unstructured{}
	w.SetAPIVersion("shop.example.com/v1")
	w.SetKind("Widget")
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, w)).To(Succeed())
	spec, _, err := unstructured.NestedMap(w.Object, "spec")
	Expect(err).NotTo(HaveOccurred())
	return spec
}
