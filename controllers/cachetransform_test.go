package controllers_test

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers"
)

var _ = Describe("The cache's transform", func() {
	transform := controllers.CacheTransform()
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name: "web", Namespace: "shop",
			Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{
				corev1.LastAppliedConfigAnnotation:           `{"kind":"Service"}`,
				rolloutsv1alpha1.ManagedByRolloutsKey:        "web",
				"notifications.argoproj.io/subscribe.on-x.y": "z",
			},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Rollout", Name: "web"}},
		}
	}
	// kept is the metadata every kind keeps.
	kept := func() metav1.ObjectMeta {
		m := meta()
		m.ManagedFields = nil
		delete(m.Annotations, corev1.LastAppliedConfigAnnotation)
		return m
	}

	DescribeTable("keeps what reconcilers read and drops the rest",
		func(in, want client.Object) {
			out, err := transform(in)
			Expect(err).NotTo(HaveOccurred())
			Expect(out).To(Equal(want))
		},
		Entry("a Service keeps its metadata (owner, labels, other annotations), type, selector and ports; not its addresses, policies or status",
			&corev1.Service{ObjectMeta: meta(),
				Spec: corev1.ServiceSpec{
					Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
					Ports:     []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
					ClusterIP: "10.0.0.7", ClusterIPs: []string{"10.0.0.7"}, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
					SessionAffinity: corev1.ServiceAffinityNone, ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
				},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}}},
			},
			&corev1.Service{ObjectMeta: kept(),
				Spec: corev1.ServiceSpec{
					Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
					Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
				},
			}),
		Entry("a Rollout keeps its spec and status whole",
			&rolloutsv1alpha1.Rollout{ObjectMeta: meta(),
				Spec:   rolloutsv1alpha1.RolloutSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "app:v1"}}}}},
				Status: rolloutsv1alpha1.RolloutStatus{StableRS: "abc"}},
			&rolloutsv1alpha1.Rollout{ObjectMeta: kept(),
				Spec:   rolloutsv1alpha1.RolloutSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "app:v1"}}}}},
				Status: rolloutsv1alpha1.RolloutStatus{StableRS: "abc"}}),
		Entry("a ReplicaSet keeps its pod template, which the planner compares with the Rollout's",
			&appsv1.ReplicaSet{ObjectMeta: meta(),
				Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "app:v1"}}}}}},
			&appsv1.ReplicaSet{ObjectMeta: kept(),
				Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "app:v1"}}}}}}),
		Entry("a Deployment's metadata alone (its watch is metadata-only) loses the same two",
			&metav1.PartialObjectMetadata{ObjectMeta: meta()},
			&metav1.PartialObjectMetadata{ObjectMeta: kept()}),
	)

	It("leaves an object without annotations without any", func() {
		out, err := transform(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}})
		Expect(err).NotTo(HaveOccurred())
		Expect(out.(*corev1.Service).Annotations).To(BeNil())
	})

	It("passes a deleted object's tombstone through", func() {
		tombstone := toolscache.DeletedFinalStateUnknown{Key: "shop/web"}
		Expect(transform(tombstone)).To(Equal(tombstone))
	})
})
