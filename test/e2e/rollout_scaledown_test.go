package e2e

import (
	"context"
	"strconv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers/rollout/plan"
)

var _ = Describe("A blue-green Rollout's scale-down delay on the simulated cluster", Ordered, func() {
	BeforeAll(func() {
		startManager("--leader-elect=false")
	})

	It("keeps scaleDownDelayRevisionLimit old revisions up for a day, and scales the rest down when the limit is lowered", func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "scaledown-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns := namespace.Name
		createServices(ctx, ns, "bluegreen-scaledowndelay", "bluegreen-scaledowndelay-active")
		ro := applyRollout(ctx, ns, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: bluegreen-scaledowndelay
spec:
  replicas: 1
  strategy:
    blueGreen:
      activeService: bluegreen-scaledowndelay-active
      scaleDownDelaySeconds: 86400 # one day
      scaleDownDelayRevisionLimit: 2
  selector:
    matchLabels:
      app: bluegreen-scaledowndelay
  template:
    metadata:
      labels:
        app: bluegreen-scaledowndelay
    spec:
      containers:
      - name: bluegreen-scaledowndelay
        image: registry.example/app:v1
        resources:
          requests:
            memory: 16Mi
            cpu: 1m`)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)

		// counts is status.replicas, then the pods of revisions 1 to 4.
		counts := func(g Gomega) []int {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			out := []int{int(ro.Status.Replicas), 0, 0, 0, 0}
			var replicaSets appsv1.ReplicaSetList
			g.Expect(k8sClient.List(ctx, &replicaSets, client.InNamespace(ns))).To(Succeed())
			var pods corev1.PodList
			g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
			for _, rs := range replicaSets.Items {
				revision, _ := strconv.Atoi(rs.Annotations[plan.RevisionAnnotation])
				for _, pod := range pods.Items {
					if pod.DeletionTimestamp == nil && pod.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] == rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] && revision <= 4 {
						out[revision]++
					}
				}
			}
			return out
		}
		update := func() {
			GinkgoHelper()
			touchTemplate(ctx, ro)
			expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		}

		update()
		Eventually(counts).WithContext(ctx).Should(Equal([]int{2, 1, 1, 0, 0}))
		Expect([]int32{ro.Status.UpdatedReplicas, ro.Status.ReadyReplicas, ro.Status.AvailableReplicas}).To(Equal([]int32{1, 1, 1}),
			"updated, ready, available")

		update()
		update()
		Eventually(counts).WithContext(ctx).Should(Equal([]int{3, 0, 1, 1, 1}), "revisions 3 and 2 kept, 1 scaled down")

		Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"strategy":{"blueGreen":{"scaleDownDelayRevisionLimit":1}}}}`)))).To(Succeed())
		Eventually(counts).WithContext(ctx).Should(Equal([]int{2, 0, 0, 1, 1}), "revision 2 scaled down at once")
	})
})
