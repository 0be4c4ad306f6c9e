package plan

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("Restarting a Rollout's pods", func() {
	// A healthy 4-replica Rollout (maxUnavailable 1) whose pods were created
	// at minutes 1..4 of the world's clock.
	healthy := func() (*world, []*corev1.Pod) {
		w := newWorld(builders.Rollout("web").Replicas(4).Surge(1, 1).Canary(builders.SetWeight(50)).Obj())
		w.run()
		var pods []*corev1.Pod
		for i := range 4 {
			pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
				Name:              "web-" + itoa(int32(i)),
				CreationTimestamp: metav1.Time{Time: w.now.Add(time.Duration(i+1) * time.Minute)},
			}})
		}
		return w, pods
	}
	plan := func(w *world, pods []*corev1.Pod) Result {
		obs := w.observe()
		obs.Pods = pods
		return Plan(obs)
	}

	It("evicts the oldest pods first, within maxUnavailable, and reports restarting", func() {
		w, pods := healthy()
		w.now = w.now.Add(time.Hour)
		w.ro.Spec.RestartAt = &metav1.Time{Time: w.now}
		res := plan(w, pods)
		Expect(res.Actions).To(Equal([]Action{EvictPod{Name: "web-0"}}))
		Expect(res.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseProgressing))
		Expect(res.Status.Message).To(Equal("rollout is restarting"))
		Expect(res.RequeueAfter).To(Equal(restartRecheck))
	})

	It("evicts nothing while a pod is already unavailable", func() {
		w, pods := healthy()
		w.now = w.now.Add(time.Hour)
		w.ro.Spec.RestartAt = &metav1.Time{Time: w.now}
		w.rss[0].Status.AvailableReplicas = 3
		Expect(plan(w, pods).Actions).To(BeEmpty())
	})

	It("waits for a restartAt in the future", func() {
		w, pods := healthy()
		w.ro.Spec.RestartAt = &metav1.Time{Time: w.now.Add(10 * time.Minute)}
		res := plan(w, pods)
		Expect(res.Actions).To(BeEmpty())
		Expect(res.RequeueAfter).To(Equal(10 * time.Minute))
	})

	It("records restartedAt once every pod is newer, and then leaves it be", func() {
		w, pods := healthy()
		w.ro.Spec.RestartAt = &metav1.Time{Time: w.now.Add(30 * time.Second)}
		w.now = w.now.Add(time.Hour)
		res := plan(w, pods)
		Expect(res.Actions).To(BeEmpty(), "every pod was created after restartAt")
		Expect(res.Status.RestartedAt).To(Equal(w.ro.Spec.RestartAt))
		Expect(eventReasons(res.Events)).To(Equal([]string{"RolloutRestarted"}))
		Expect(res.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))

		w.ro.Status = res.Status
		Expect(RestartPending(w.observe())).To(BeFalse())
	})
})
