package e2e

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/builders"
)

// Rollouts the API server accepts but Sluice cannot run, as users write
// them: each is Degraded with an InvalidSpec condition naming the field,
// and the Rollouts beside it are not held up.
var _ = Describe("Rollouts with spec errors on the simulated cluster", Ordered, func() {
	var (
		ns        string
		malformed *rolloutsv1alpha1.Rollout
	)

	BeforeAll(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "spec-errors-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		// Stored before the manager starts, so its first list of Rollouts
		// has it: that list must not fail for all of them.
		malformed = applyRollout(ctx, ns, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: malformed-rollout
spec:
  selector:
    matchLabels:
      app: malformed-rollout
  template:
    metadata:
      labels:
        app: malformed-rollout
    spec:
      containers:
      - name: malformed-rollout
        image: registry.example/app:v1
        resources:
          requests:
            memory: invalid # invalid
  strategy:
    canary: {}`)
		startManager("--leader-elect=false")
	})

	It("marks a Rollout with an unparseable resource quantity InvalidSpec, naming it, and runs the others", func(ctx context.Context) {
		neighbour := builders.Rollout("neighbour").Namespace(ns).Image("registry.example/app:v1").Obj()
		Expect(k8sClient.Create(ctx, neighbour)).To(Succeed())
		expectPhase(ctx, neighbour, rolloutsv1alpha1.RolloutPhaseHealthy)

		Eventually(func(g Gomega) {
			// Read unstructured: a typed client cannot decode it either.
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(rolloutsv1alpha1.SchemeGroupVersion.WithKind("Rollout"))
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(malformed), u)).To(Succeed())
			phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
			message, _, _ := unstructured.NestedString(u.Object, "status", "message")
			g.Expect(phase).To(Equal(string(rolloutsv1alpha1.RolloutPhaseDegraded)))
			g.Expect(message).To(HavePrefix(`InvalidSpec: spec.template.spec.containers[0].resources.requests[memory]: Invalid value: "invalid"`))
		}).WithContext(ctx).Should(Succeed())
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(ContainElement(
			HavePrefix(`InvalidSpec: spec.template.spec.containers[0].resources.requests[memory]: Invalid value: "invalid": quantities must match`)))
		Eventually(func(g Gomega) {
			var pods corev1.PodList
			g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": "malformed-rollout"})).To(Succeed())
			g.Expect(pods.Items).To(BeEmpty())
		}).WithContext(ctx).Should(Succeed())

		By("fixed: the Rollout runs")
		Expect(k8sClient.Patch(ctx, malformed, client.RawPatch("application/json-patch+json", []byte(
			`[{"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/memory","value":"16Mi"}]`)))).
			To(Succeed())
		expectPhase(ctx, malformed, rolloutsv1alpha1.RolloutPhaseHealthy)
	})

	It("refuses a template beside workloadRef with the InvalidSpec condition alone, in Argo's words", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, deployment(ns, "rollout-ref-deployment", 0, "registry.example/app:v1"))).To(Succeed())
		ro := applyRollout(ctx, ns, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollout-ref-deployment
spec:
  replicas: 1
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: rollout-ref-deployment
  selector:
    matchLabels:
      app: rollout-demo-deploy
  template:
    metadata:
      labels:
        app: rollout-ref-deployment
  strategy:
    blueGreen:
      activeService: rollout-bluegreen-active`)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseDegraded)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		Expect(ro.Status.Conditions).To(HaveLen(1))
		Expect(ro.Status.Conditions[0].Type).To(Equal(rolloutsv1alpha1.InvalidSpec))
		Expect(ro.Status.Conditions[0].Message).To(ContainSubstring("template must be empty for workload reference rollout"))
	})
})
