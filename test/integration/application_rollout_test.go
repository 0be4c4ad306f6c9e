package integration

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/controllers/rollout"
	"github.com/sluicehq/sluice/traffic"
)

// An Application and the Rollout controller side by side: what the rollout
// controller takes over, a sync leaves alone.
var _ = Describe("An Application delivering a Rollout with a workloadRef", Ordered, func() {
	It("leaves the Deployment scaled down by the Rollout at zero, however often it syncs", func(ctx context.Context) {
		server := startGitServer()
		cache := GinkgoT().TempDir()
		startController("", func(mgr ctrl.Manager) error {
			if err := rollout.Setup(mgr, rollout.Options{}); err != nil {
				return err
			}
			return application.Setup(mgr, application.Options{CacheDir: cache})
		})
		ns := newNamespaceWithFakeKubelet("workload-")

		repo, err := server.Create("workload")
		Expect(err).NotTo(HaveOccurred())
		Expect(repo.Write(map[string]string{"app/app.yaml": deploymentManifest("web", "registry.example/web:1.0", 2) + `---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web, scaleDown: onsuccess}
  strategy:
    canary: {}
`})).To(Succeed())
		_, err = repo.Commit("main", "web behind a Rollout")
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, selfHealingEverySecond(ns, repo.URL))).To(Succeed())

		replicas := func() (string, error) {
			var d appsv1.Deployment
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &d); err != nil {
				return "", err
			}
			return fmt.Sprintf("%d, managed by %q", *d.Spec.Replicas, d.Annotations[rolloutsv1alpha1.ManagedByRolloutsKey]), nil
		}
		Eventually(replicas).WithContext(ctx).Should(Equal(`0, managed by "web"`), "the Rollout took over")
		Consistently(replicas).WithContext(ctx).WithTimeout(4*time.Second).Should(Equal(`0, managed by "web"`),
			"syncs every second, self-heal on, and the Deployment stays scaled down")
	})
})

var _ = Describe("An Application delivering a route whose weights a Rollout holds", Ordered, func() {
	It("leaves the rules alone while the route carries Sluice's in-progress mark, whatever the label is called", func(ctx context.Context) {
		server := startGitServer()
		startApplicationController(application.Options{})
		ns := newNamespaceWithFakeKubelet("route-")

		repo, err := server.Create("route")
		Expect(err).NotTo(HaveOccurred())
		Expect(repo.Write(map[string]string{"app/route.yaml": `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  rules:
  - backendRefs:
    - {name: web-stable, port: 80, weight: 100}
    - {name: web-canary, port: 80, weight: 0}
`})).To(Succeed())
		_, err = repo.Commit("main", "a route")
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, selfHealingEverySecond(ns, repo.URL))).To(Succeed())
		route := &gatewayv1.HTTPRoute{}
		weights := func() ([]int32, error) {
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, route); err != nil {
				return nil, err
			}
			var out []int32
			for _, b := range route.Spec.Rules[0].BackendRefs {
				out = append(out, ptr.Deref(b.Weight, 1))
			}
			return out, nil
		}
		Eventually(weights).WithContext(ctx).Should(Equal([]int32{100, 0}))

		By("the router's patch for a Rollout with inProgressLabelKey: team/canary")
		patch := fmt.Sprintf(`{"metadata":{"labels":{"team/canary":"in-progress"},"annotations":{%q:"true"}},`+
			`"spec":{"rules":[{"backendRefs":[{"name":"web-stable","port":80,"weight":80},{"name":"web-canary","port":80,"weight":20}]}]}}`,
			traffic.InProgressAnnotation)
		Expect(k8sClient.Patch(ctx, route, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
		Consistently(weights).WithContext(ctx).WithTimeout(4*time.Second).Should(Equal([]int32{80, 20}),
			"syncs every second, self-heal on, and the weights stay")

		By("the canary done: the mark goes, and Git's weights are back")
		unmark := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, traffic.InProgressAnnotation)
		Expect(k8sClient.Patch(ctx, route, client.RawPatch(types.MergePatchType, []byte(unmark)))).To(Succeed())
		Eventually(weights).WithContext(ctx).Should(Equal([]int32{100, 0}))
	})
})

// selfHealingEverySecond is an Application "web" syncing the repository's
// app/ into ns every second, with prune and self-heal.
func selfHealingEverySecond(ns, repoURL string) *gitopsv1alpha1.Application {
	return &gitopsv1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: gitopsv1alpha1.ApplicationSpec{
			Source:      appDir(repoURL),
			Destination: gitopsv1alpha1.ApplicationDestination{Namespace: ns},
			SyncPolicy:  &gitopsv1alpha1.SyncPolicy{Automated: &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true}},
			Interval:    metav1.Duration{Duration: time.Second},
		},
	}
}
