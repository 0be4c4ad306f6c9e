package integration

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
)

// An Application at rest costs what its objects' changes ask, and the
// changes Kubernetes' own controllers make to a Deployment it applied ask
// for a read of its health, not a dry run. This suite runs no deployment
// controller: the spec writes what it writes, as it writes it.
var _ = Describe("An Application at rest", Ordered, ContinueOnFailure, func() {
	var (
		requests *writeCounter
		app      *gitopsv1alpha1.Application
		dest     string
	)
	const web = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {tier: web}
  annotations: {team: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: registry.example/web:1}
`

	BeforeAll(func(ctx context.Context) {
		server := startGitServer()
		requests = startApplicationController(application.Options{})
		appsNS := newNamespace(ctx, "rest-apps-")
		repo, first := pushRepo(server, "rest", map[string]string{"app/web.yaml": web})
		dest = appsNS + "-web"
		app = newApplication(ctx, appsNS, "web", appDir(repo.URL), dest, true, func(app *gitopsv1alpha1.Application) {
			// No poll during the specs: what the manager does is what the
			// changes ask of it.
			app.Spec.Interval = metav1.Duration{Duration: time.Hour}
		})
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
	})

	deployment := func(ctx context.Context) *appsv1.Deployment {
		GinkgoHelper()
		return get[appsv1.Deployment](ctx, dest, "web")
	}

	It("reads the health of a Deployment whose status and revision the deployment controller writes, and dry-runs nothing", func(ctx context.Context) {
		requests.waitRequestsQuiet(ctx)
		requests.reset()
		requests.only(inNamespaces(dest))

		By("writing status as the deployment controller does: the revision annotation with the first status")
		d := deployment(ctx)
		d.Annotations["deployment.kubernetes.io/revision"] = "1"
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1,
			AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			}}
		Expect(k8sClient.Status().Update(ctx, d)).To(Succeed())
		Expect(deployment(ctx).Annotations).To(HaveKeyWithValue("deployment.kubernetes.io/revision", "1"),
			"a status update writes annotations, as the deployment controller relies on")

		Eventually(func(g Gomega) gitopsv1alpha1.HealthStatusCode {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			return app.Status.Health.Status
		}).WithContext(ctx).Should(Equal(gitopsv1alpha1.HealthHealthy), "health follows the Deployment's status")
		requests.waitRequestsQuiet(ctx)
		Expect(requests.dryRuns("deployments")).To(BeZero(), requests.requestSummary())
		Expect(requests.requestsOn("deployments")).To(Equal(1), "one read of the Deployment's health: %s", requests.requestSummary())
		Expect(app.Status.Sync.Status).To(Equal(gitopsv1alpha1.SyncStatusSynced))
	})

	It("puts back a label and an annotation Git sets, changed by hand, and leaves one Git does not set", func(ctx context.Context) {
		patchMerge(ctx, deployment(ctx), `{"metadata":{"labels":{"tier":"edited","added-by-hand":"yes"},"annotations":{"team":"edited"}}}`)
		Eventually(func(g Gomega) {
			d := deployment(ctx)
			g.Expect(d.Labels).To(HaveKeyWithValue("tier", "web"))
			g.Expect(d.Annotations).To(HaveKeyWithValue("team", "shop"))
			g.Expect(d.Labels).To(HaveKeyWithValue("added-by-hand", "yes"), "an apply leaves another manager's label alone")
		}).WithContext(ctx).Should(Succeed(), "self-heal puts Git's label and annotation back")
	})

	It("puts back a spec changed by hand", func(ctx context.Context) {
		patchMerge(ctx, deployment(ctx), `{"spec":{"replicas":3}}`)
		Eventually(func() int32 { return *deployment(ctx).Spec.Replicas }).WithContext(ctx).Should(Equal(int32(1)))
	})
})
