package e2e

import (
	"context"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/simcluster"
)

var _ = Describe("The simulated cluster", func() {
	var ns string

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sim-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
	})

	It("runs a 5-replica Deployment to 5 ready pods", func(ctx context.Context) {
		deploy := deployment(ns, "web", 5, "registry.example/web:1.0")
		Expect(k8sClient.Create(ctx, deploy)).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(deploy), deploy)).To(Succeed())
			g.Expect(deploy.Status.ReadyReplicas).To(Equal(int32(5)))
			g.Expect(deploy.Status.AvailableReplicas).To(Equal(int32(5)))
		}).WithContext(ctx).Should(Succeed())

		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": "web"})).To(Succeed())
		Expect(pods.Items).To(HaveLen(5))
		for _, p := range pods.Items {
			Expect(p.Spec.NodeName).NotTo(BeEmpty(), "the scheduler placed %s", p.Name)
			Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
		}
	})

	It("holds a pod back until its readiness delay has passed, and never starts the never-ready image", func(ctx context.Context) {
		delayed := deployment(ns, "delayed", 1, "registry.example/web:1.0")
		delayed.Spec.Template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			InitialDelaySeconds: 3,
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
		}
		stuck := deployment(ns, "stuck", 1, simcluster.NeverReadyImage)
		Expect(k8sClient.Create(ctx, delayed)).To(Succeed())
		Expect(k8sClient.Create(ctx, stuck)).To(Succeed())

		var readyPod corev1.Pod
		Eventually(func(g Gomega) {
			var pods corev1.PodList
			g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": "delayed"})).To(Succeed())
			g.Expect(pods.Items).To(HaveLen(1))
			readyPod = pods.Items[0]
			g.Expect(podReady(readyPod)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
		readyAt := readyCondition(readyPod).LastTransitionTime
		Expect(readyAt.Sub(readyPod.CreationTimestamp.Time).Seconds()).To(BeNumerically(">=", 2),
			"Ready came %s after creation; the probe asks for 3s", readyAt.Sub(readyPod.CreationTimestamp.Time))

		// The delayed pod is Ready, so kwok has had every chance to start
		// the other one as well.
		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": "stuck"})).To(Succeed())
		Expect(pods.Items).To(HaveLen(1))
		Expect(pods.Items[0].Spec.NodeName).NotTo(BeEmpty())
		Expect(pods.Items[0].Status.Phase).To(Equal(corev1.PodPending))
		Expect(podReady(pods.Items[0])).To(BeFalse())
	})
})

func deployment(ns, name string, replicas int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

func readyCondition(p corev1.Pod) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c
		}
	}
	return corev1.PodCondition{}
}

func podReady(p corev1.Pod) bool {
	return readyCondition(p).Status == corev1.ConditionTrue
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
