package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The manager's event recorder writes events.k8s.io Events the API server
// takes, folds an exact repeat into the first Event's series, and keeps
// Events that say different things apart.
var _ = Describe("The manager's event recorder", func() {
	It("writes Events, counts repeats in a series and keeps different messages apart", func(ctx SpecContext) {
		ns := newNamespace(ctx, "events-")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())

		mgr := newTestManager(cfg, "")
		stop := runManager(mgr)
		DeferCleanup(stop)
		rec := mgr.GetEventRecorder("sluice-test")
		rec.Eventf(cm, nil, corev1.EventTypeNormal, "Synced", "Sync", "applied %d objects", 3)
		eventually := func() []eventsv1.Event {
			var events eventsv1.EventList
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
				g.Expect(events.Items).NotTo(BeEmpty())
			}).WithContext(ctx).Should(Succeed())
			return events.Items
		}
		first := eventually()[0]
		Expect(first.Note).To(Equal("applied 3 objects"))
		Expect(first.ReportingController).To(Equal("sluice-test"))
		Expect(first.Regarding.Name).To(Equal("web"))

		rec.Eventf(cm, nil, corev1.EventTypeNormal, "Synced", "Sync", "applied %d objects", 3)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(&first), &first)).To(Succeed())
			g.Expect(first.Series).NotTo(BeNil())
			g.Expect(first.Series.Count).To(BeEquivalentTo(2))
		}).WithContext(ctx).Should(Succeed())

		rec.Eventf(cm, nil, corev1.EventTypeNormal, "Synced", "Sync", "applied %d objects", 4)
		Eventually(func(g Gomega) []string {
			var events eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			var notes []string
			for _, e := range events.Items {
				notes = append(notes, e.Note)
			}
			return notes
		}).WithContext(ctx).Should(ConsistOf("applied 3 objects", "applied 4 objects"))
	})
})
