package e2e

import (
	"context"
	"fmt"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/simcluster"
)

// Pods here turn Ready 12 s after they start (the simulated kubelet honours
// a readiness probe's initialDelaySeconds), well past a progress deadline
// of 3 s: every revision times out first, then recovers.
var _ = Describe("The progress deadline on the simulated cluster", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startManager("--leader-elect=false")
	})

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "deadline-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
	})

	It("turns a canary Degraded whenever its pods are late, first deploy included, and pausing it when complete leaves Progressing alone", func(ctx context.Context) {
		ro := applyRollout(ctx, ns, slowRollout("slow-canary", 2, `
    canary:
      steps:
      - setWeight: 50
      - pause: {}`))

		By("a first deploy: Degraded, then Healthy")
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseDegraded)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)

		By("an update: Degraded, then Paused at the pause step with one new pod")
		touchTemplate(ctx, ro)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseDegraded)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
		Expect(progressingOf(ctx, ro).Reason).To(Equal("RolloutPaused"))

		By("promoted: Degraded while the rest come up, then Healthy")
		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseDegraded)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)

		By("paused by a person once complete: Paused, with Progressing as it was")
		Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"paused":true}}`)))).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
		progressing := progressingOf(ctx, ro)
		Expect(progressing.Reason).To(Equal("NewReplicaSetAvailable"), progressing.Message)
		Expect(progressing.Status).To(Equal(corev1.ConditionTrue))
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(
			ContainElement(HavePrefix("ProgressDeadlineExceeded: ")))
	})

	It("turns a blue-green Rollout Degraded while green is late, then holds it Paused for a promote", func(ctx context.Context) {
		createServices(ctx, ns, "slow-bg", "slow-bg")
		ro := applyRollout(ctx, ns, slowRollout("slow-bg", 1, `
    blueGreen:
      activeService: slow-bg
      autoPromotionEnabled: false`))
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseDegraded)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)

		touchTemplate(ctx, ro)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseDegraded)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(selectedHash(ctx, g, ro, "slow-bg")).To(Equal(ro.Status.CurrentPodHash))
		}).WithContext(ctx).Should(Succeed())
	})

	It("aborts a timed-out blue-green update once progressDeadlineAbort is set", func(ctx context.Context) {
		createServices(ctx, ns, "stuck-bg", "stuck-bg")
		ro := builders.Rollout("stuck-bg").Namespace(ns).Image("registry.example/app:v1").BlueGreen("stuck-bg", "").
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds = new(int32(2))
			}).Obj()
		blue := deployBlue(ctx, ro)

		Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", fmt.Appendf(nil,
			`{"spec":{"progressDeadlineSeconds":2,"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`,
			simcluster.NeverReadyImage)))).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseDegraded)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		Expect(ro.Status.Abort).To(BeFalse(), "no abort without progressDeadlineAbort")
		green := ro.Name + "-" + ro.Status.CurrentPodHash
		Expect(replicasOf(ctx, ns, green)).To(Equal(int32(1)))

		Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"progressDeadlineAbort":true}}`)))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Abort).To(BeTrue())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			g.Expect(ro.Status.Conditions).To(HaveLen(4), "Progressing, Available, Completed and Healthy, as in Argo")
			g.Expect(selectedHash(ctx, g, ro, "stuck-bg")).To(Equal(blue))
			g.Expect(replicasOf(ctx, ns, green)).To(BeZero(), "green scaled down after abortScaleDownDelaySeconds")
		}).WithContext(ctx).Should(Succeed())
	})
})

// slowRollout is a Rollout as users write it, whose pods become Ready 12 s
// after they start, with a progress deadline of 3 s and the given strategy.
func slowRollout(name string, replicas int, strategy string) string {
	return fmt.Sprintf(`
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  progressDeadlineSeconds: 3
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: registry.example/app:v1
        readinessProbe:
          initialDelaySeconds: 12
          httpGet: {path: /, port: 8080}
  strategy:%[3]s
`, name, replicas, strategy)
}

// applyRollout creates the Rollout a YAML manifest describes in ns.
func applyRollout(ctx context.Context, ns, manifest string) *rolloutsv1alpha1.Rollout {
	GinkgoHelper()
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(strings.TrimSpace(manifest)), &obj.Object)).To(Succeed())
	obj.SetNamespace(ns)
	Expect(k8sClient.Create(ctx, obj)).To(Succeed())
	ro := &rolloutsv1alpha1.Rollout{}
	ro.Namespace, ro.Name = ns, obj.GetName()
	return ro
}

// touchTemplate starts a new revision by annotating the pod template.
func touchTemplate(ctx context.Context, ro *rolloutsv1alpha1.Rollout) {
	GinkgoHelper()
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"update":"%d"}}}}}`, ro.Generation)
	Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())
}

// progressingOf is the Rollout's Progressing condition as stored.
func progressingOf(ctx context.Context, ro *rolloutsv1alpha1.Rollout) rolloutsv1alpha1.RolloutCondition {
	GinkgoHelper()
	var got rolloutsv1alpha1.Rollout
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), &got)).To(Succeed())
	for _, c := range got.Status.Conditions {
		if c.Type == rolloutsv1alpha1.RolloutProgressing {
			return c
		}
	}
	Fail("no Progressing condition")
	return rolloutsv1alpha1.RolloutCondition{}
}

// replicasOf is a ReplicaSet's spec.replicas.
func replicasOf(ctx context.Context, ns, name string) (int32, error) {
	var rs appsv1.ReplicaSet
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &rs); err != nil {
		return 0, err
	}
	return *rs.Spec.Replicas, nil
}
