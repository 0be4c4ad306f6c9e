package framework

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// The invariants an end-to-end spec checks must catch what they name: each
// is run here on histories written by hand.
var _ = Describe("Rollout invariants over a history", func() {
	// replicaSet is a version of a ReplicaSet of revision hash.
	replicaSet := func(version uint64, uid, hash, image string, replicas, available int32) Record {
		return Record{Version: version, Object: &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, UID: types.UID(uid), Labels: map[string]string{hashLabel: hash}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", hashLabel: hash}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			}},
			Status: appsv1.ReplicaSetStatus{AvailableReplicas: available},
		}}
	}
	// service is a version of Service web selecting revision hash, or
	// every pod of the app when hash is "".
	service := func(version uint64, hash string) Record {
		selector := map[string]string{"app": "web"}
		if hash != "" {
			selector[hashLabel] = hash
		}
		return Record{Version: version, Object: &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec:       corev1.ServiceSpec{Selector: selector},
		}}
	}
	deleted := func(r Record) Record { r.Deleted = true; return r }

	DescribeTable("DuplicateRevisions",
		func(records []Record, want []string) {
			Expect(DuplicateRevisions(records)).To(Equal(want))
		},
		Entry("one ReplicaSet per revision, however often each changes", []Record{
			replicaSet(1, "u1", "aaa", "app:v1", 3, 0),
			replicaSet(2, "u1", "aaa", "app:v1", 3, 3),
			replicaSet(3, "u2", "bbb", "app:v2", 3, 0),
			replicaSet(4, "u1", "aaa", "app:v1", 0, 3),
		}, nil),
		Entry("a revision's ReplicaSet deleted and made again is a second one", []Record{
			replicaSet(1, "u1", "aaa", "app:v1", 3, 3),
			deleted(replicaSet(2, "u1", "aaa", "app:v1", 3, 3)),
			replicaSet(3, "u2", "aaa", "app:v1", 3, 0),
		}, []string{
			"ReplicaSets [web-aaa (u1) web-aaa (u2)] have the same pod template",
			"revision aaa has ReplicaSets [web-aaa (u1) web-aaa (u2)]",
		}),
		Entry("a template under a second hash (a collision count raised) is a second one", []Record{
			replicaSet(1, "u1", "aaa", "app:v1", 3, 3),
			replicaSet(2, "u2", "ccc", "app:v1", 3, 0),
		}, []string{"ReplicaSets [web-aaa (u1) web-ccc (u2)] have the same pod template"}),
		Entry("ReplicaSets no Rollout made are none of its business", []Record{
			{Version: 1, Object: &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "u1"}}},
			{Version: 2, Object: &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "b", UID: "u2"}}},
		}, nil),
	)

	DescribeTable("ServiceViolations of Service web, with at least 3 available pods",
		func(records []Record, want []string) {
			Expect(ServiceViolations(records, "web", 3)).To(Equal(want))
		},
		Entry("selecting every pod of the app before the Rollout pins it is its author's choice", []Record{
			service(1, ""),
			replicaSet(2, "u1", "aaa", "app:v1", 3, 0),
			replicaSet(3, "u1", "aaa", "app:v1", 3, 3),
			service(4, "aaa"),
		}, nil),
		Entry("switching to a ReplicaSet before its pods are available", []Record{
			replicaSet(1, "u1", "aaa", "app:v1", 3, 3),
			service(2, "aaa"),
			replicaSet(3, "u2", "bbb", "app:v2", 3, 1),
			service(4, "bbb"),
			replicaSet(5, "u2", "bbb", "app:v2", 3, 3),
		}, []string{"at version 4: Service web selects web-bbb with 1 available pods (spec.replicas 3), fewer than 3"}),
		Entry("scaling down what the Service selects; each violation once, however many versions it lasts", []Record{
			replicaSet(1, "u1", "aaa", "app:v1", 3, 3),
			service(2, "aaa"),
			replicaSet(3, "u1", "aaa", "app:v1", 1, 3),
			replicaSet(4, "u1", "aaa", "app:v1", 1, 2),
			service(5, "aaa"),
			replicaSet(6, "u1", "aaa", "app:v1", 1, 1),
		}, []string{
			"at version 4: Service web selects web-aaa with 2 available pods (spec.replicas 1), fewer than 3",
			"at version 6: Service web selects web-aaa with 1 available pods (spec.replicas 1), fewer than 3",
		}),
		Entry("a revision with no ReplicaSet, and a Service that lets go of its revision", []Record{
			service(1, "zzz"),
			service(2, ""),
		}, []string{
			"at version 1: Service web selects revision zzz, which has no ReplicaSet",
			"at version 2: Service web no longer pins a revision",
		}),
	)

	It("lists the revisions a Service pinned, each from the version that switched it", func() {
		records := []Record{
			service(1, ""),
			service(2, "aaa"),
			service(3, "aaa"),
			service(4, "bbb"),
		}
		Expect(Selections(records, "web")).To(HaveExactElements(
			And(HaveField("Hash", "aaa"), HaveField("Version", uint64(2))),
			And(HaveField("Hash", "bbb"), HaveField("Version", uint64(4))),
		))
	})
})
