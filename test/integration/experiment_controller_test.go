package integration

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers/experiment"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("The Experiment controller", Ordered, func() {
	var (
		writes *writeCounter
		ns     string
	)

	BeforeAll(func() {
		writes = startController("blue", func(mgr ctrl.Manager) error {
			return experiment.Setup(mgr, experiment.Options{Scope: instance.Scope{ID: "blue"}})
		})
		ns = newNamespaceWithFakeKubelet("experiment-")
	})

	It("reconciles only the Experiments labelled with its instance id", func(ctx context.Context) {
		labelled := func(name, id string) *rolloutsv1alpha1.Experiment {
			b := builders.Experiment(name).Namespace(ns).Template("main", "app:v1", nil).ScaleDownDelay(1)
			if id != "" {
				b.Edit(func(ex *rolloutsv1alpha1.Experiment) {
					ex.Labels = map[string]string{rolloutsv1alpha1.LabelKeyControllerInstanceID: id}
				})
			}
			ex := b.Obj()
			ex.UID = "" // the API server sets it
			return ex
		}
		ours, theirs, unlabelled := labelled("ours", "blue"), labelled("theirs", "green"), labelled("unlabelled", "")
		for _, ex := range []*rolloutsv1alpha1.Experiment{ours, theirs, unlabelled} {
			Expect(k8sClient.Create(ctx, ex)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ours), ours)).To(Succeed())
			g.Expect(ours.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
		}).WithContext(ctx).Should(Succeed())
		for _, ex := range []*rolloutsv1alpha1.Experiment{theirs, unlabelled} {
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ex), ex)).To(Succeed())
			Expect(ex.Status.Phase).To(BeEmpty(), "%s is another controller's", ex.Name)
		}
		var rss appsv1.ReplicaSetList
		Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
		Expect(rss.Items).To(HaveLen(1))
		Expect(rss.Items[0].Name).To(Equal("ours-main"))
	})

	It("ends a terminated Experiment and then writes nothing while it is reconciled again", func(ctx context.Context) {
		ours := &rolloutsv1alpha1.Experiment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ours"}, ours)).To(Succeed())
		Expect(k8sClient.Patch(ctx, ours, client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"terminate":true}}`)))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ours), ours)).To(Succeed())
			g.Expect(ours.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
			var rs appsv1.ReplicaSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "ours-main"}, &rs)).To(Succeed())
			g.Expect(*rs.Spec.Replicas).To(BeZero(), "scaled down after scaleDownDelaySeconds")
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		By("poking it: no write")
		writes.waitQuiet(ctx)
		writes.reset()
		for i := range 3 {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{"test.sluice.dev/poke":"%d"}}}`, i)
			Expect(k8sClient.Patch(ctx, ours, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())
		}
		writes.waitQuiet(ctx)
		Expect(writes.total()).To(BeZero(), writes.summary())
	})
})
