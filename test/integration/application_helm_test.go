package integration

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
)

// A chart as a team commits one: values for each environment, a subchart
// vendored in charts/, a CRD, a hook and a test.
var shopChart = map[string]string{
	"charts/shop/Chart.yaml": `apiVersion: v2
name: shop
version: 1.0.0
dependencies:
- name: cache
  version: 0.1.0
  repository: https://charts.example.com
`,
	"charts/shop/values.yaml":      "greeting: hello\ncolor: blue\nreplicas: 1\nimage:\n  tag: \"1.0\"\ncache:\n  port: 6379\n",
	"charts/shop/values-prod.yaml": "color: red\nreplicas: 3\n",
	"charts/shop/templates/_helpers.tpl": `{{- define "shop.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}`,
	"charts/shop/templates/settings.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  labels:
    {{- include "shop.labels" . | nindent 4 }}
data:
  greeting: {{ .Values.greeting | quote }}
  color: {{ .Values.color | quote }}
  replicas: {{ .Values.replicas | quote }}
  tag: {{ .Values.image.tag | quote }}
  namespace: {{ .Release.Namespace | quote }}
`,
	// A hook of any kind runs as a PreSync hook; a ConfigMap is healthy,
	// so done, once created (a Job would wait here for a kubelet).
	"charts/shop/templates/migrate.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-1"
    helm.sh/hook-delete-policy: before-hook-creation
data:
  step: migrate
`,
	"charts/shop/templates/tests/smoke.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-smoke
  annotations:
    helm.sh/hook: test
spec:
  containers: [{name: smoke, image: registry.example/curl:1.0}]
`,
	"charts/shop/crds/baskets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: baskets.shop.example.com
spec:
  group: shop.example.com
  names: {kind: Basket, plural: baskets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`,
	"charts/shop/charts/cache/Chart.yaml":  "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
	"charts/shop/charts/cache/values.yaml": "port: 1\n",
	"charts/shop/charts/cache/templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-cache
spec:
  selector: {app: cache}
  ports: [{port: {{ .Values.port }}}]
`,
}

var _ = Describe("Applications of Helm charts", Ordered, func() {
	var appsNS string

	BeforeAll(func(ctx context.Context) {
		startApplicationController(application.Options{})
		appsNS = newNamespace(ctx, "helm-")
	})

	settings := func(ctx context.Context, namespace string) func() map[string]string {
		return func() map[string]string {
			var cm corev1.ConfigMap
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "storefront-settings"}, &cm); err != nil {
				return nil
			}
			return cm.Data
		}
	}

	It("renders a chart with its value files, values, parameters and vendored subchart, and follows a commit to a values file", func(ctx context.Context) {
		server := startGitServer()
		repo, first := pushRepo(server, "shop", shopChart)
		dest := appsNS + "-shop"
		app := newApplication(ctx, appsNS, "shop", gitopsv1alpha1.ApplicationSource{
			RepoURL: repo.URL, TargetRevision: "main", Path: "charts/shop",
			Helm: &gitopsv1alpha1.HelmSource{
				ReleaseName: "storefront",
				ValueFiles:  []string{"values-prod.yaml"},
				Values:      "greeting: hi\ncache:\n  port: 6380\n",
				Parameters: []gitopsv1alpha1.HelmParameter{
					{Name: "replicas", Value: "5"},
					{Name: "image.tag", Value: "2.0", ForceString: true},
				},
			},
		}, dest, true, func(app *gitopsv1alpha1.Application) {
			// The diff below compares with the live objects, which self-heal
			// would otherwise race.
			app.Spec.SyncPolicy.Automated.SelfHeal = false
		})
		key := client.ObjectKeyFromObject(app)
		expectSynced(ctx, key, first)

		By("the values: values-prod.yaml over the chart's, values over both, parameters over all")
		Expect(settings(ctx, dest)()).To(Equal(map[string]string{
			"greeting": "hi", "color": "red", "replicas": "5", "tag": "2.0", "namespace": dest,
		}))
		By("the subchart, with the value its parent gave it")
		svc := get[corev1.Service](ctx, dest, "storefront-cache")
		Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(6380))
		By("the CRD of crds/, and the hook, kept with its annotations; the test left out")
		get[apiextensionsv1.CustomResourceDefinition](ctx, "", "baskets.shop.example.com")
		hook := get[corev1.ConfigMap](ctx, dest, "storefront-migrate")
		Expect(hook.Annotations).To(HaveKeyWithValue("helm.sh/hook", "pre-install,pre-upgrade"))
		Expect(inventoryOf(ctx, key)).NotTo(ContainElement(ContainSubstring("migrate")), "a hook is not in the inventory")
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "storefront-smoke"}, &corev1.Pod{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the test hook is not applied: %v", err)
		Expect(inventoryOf(ctx, key)).NotTo(ContainElement(ContainSubstring("smoke")))

		By("a commit that changes a values file")
		second := commitFiles(repo, map[string]string{"charts/shop/values-prod.yaml": "color: green\nreplicas: 3\n"})
		expectSynced(ctx, key, second)
		Expect(settings(ctx, dest)()).To(HaveKeyWithValue("color", "green"))

		By("kubectl sluice app diff renders the chart as the controller does: no difference")
		session := appDiff(appsNS, "shop", 0)
		Expect(session.Out).To(gbytes.Say("revision " + second))

		By("and shows what a sync would change, values included (automated sync off, so the change waits for it)")
		patchMerge(ctx, app, `{"spec":{"syncPolicy":{"automated":null},"source":{"helm":{"parameters":[{"name":"replicas","value":"7"},{"name":"image.tag","value":"2.0","forceString":true}]}}}}`)
		session = appDiff(appsNS, "shop", 1)
		Expect(session.Out).To(gbytes.Say("ConfigMap " + dest + "/storefront-settings"))
		Expect(session.Out).To(gbytes.Say(`\+  replicas: "7"`))
	})

	It("takes valuesObject; reports a template error with the template and line, and applies nothing of that revision", func(ctx context.Context) {
		server := startGitServer()
		repo, first := pushRepo(server, "broken-chart", shopChart)
		dest := appsNS + "-broken"
		app := newApplication(ctx, appsNS, "broken", gitopsv1alpha1.ApplicationSource{
			RepoURL: repo.URL, TargetRevision: "main", Path: "charts/shop",
			Helm: &gitopsv1alpha1.HelmSource{
				ReleaseName:  "storefront",
				ValuesObject: &runtime.RawExtension{Raw: []byte(`{"color": "purple", "cache": {"port": 7000}}`)},
			},
		}, dest, true)
		key := client.ObjectKeyFromObject(app)
		expectSynced(ctx, key, first)
		Expect(settings(ctx, dest)()).To(HaveKeyWithValue("color", "purple"), "valuesObject, kept by the API server")
		Expect(get[corev1.Service](ctx, dest, "storefront-cache").Spec.Ports[0].Port).To(BeEquivalentTo(7000))

		commitFiles(repo, map[string]string{
			"charts/shop/values.yaml": "greeting: changed\ncolor: blue\nreplicas: 1\nimage:\n  tag: \"1.0\"\n",
			"charts/shop/templates/needs.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n" +
				"  name: needs\ndata:\n  owner: {{ required \"owner is required\" .Values.owner }}\n",
		})
		Eventually(func(g Gomega) {
			ready := readyOf(ctx, app)(g)
			g.Expect(ready.Reason).To(Equal("RenderFailed"), ready.Message)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Message).To(ContainSubstring("shop/templates/needs.yaml:6:"))
			g.Expect(ready.Message).To(ContainSubstring("owner is required"))
		}).WithContext(ctx).Should(Succeed())
		Consistently(settings(ctx, dest)).WithContext(ctx).WithTimeout(2*time.Second).
			Should(HaveKeyWithValue("greeting", "hello"), "nothing of the broken revision is applied")
	})
})
