package integration

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("The Rollout controller", Ordered, func() {
	var (
		writes *writeCounter
		ns     string
	)

	BeforeAll(func() {
		writes = startRolloutController("")
		ns = newNamespaceWithFakeKubelet("controller-")
	})

	It("marks an invalid Rollout InvalidSpec, naming the field, with one event, and touches nothing", func(ctx context.Context) {
		ro := builders.Rollout("no-selector").Namespace(ns).Replicas(2).Canary(builders.SetWeight(50)).Obj()
		ro.Spec.Selector.MatchLabels = map[string]string{"app": "something-else"}
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			g.Expect(ro.Status.Message).To(ContainSubstring("InvalidSpec: spec.selector: Invalid value"))
			g.Expect(ro.Status.ObservedGeneration).To(Equal("1"))
		}).WithContext(ctx).Should(Succeed())
		Eventually(warningReasons).WithContext(ctx).WithArguments(ns).Should(Equal([]string{"InvalidSpec"}))

		var rss appsv1.ReplicaSetList
		Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
		Expect(rss.Items).To(BeEmpty())

		By("reconciling it again and again: no hot loop, no write")
		writes.waitQuiet(ctx)
		writes.reset()
		for i := range 3 {
			patch := fmt.Sprintf(`{"metadata":{"annotations":{"test.sluice.dev/poke":"%d"}}}`, i)
			Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())
		}
		writes.waitQuiet(ctx)
		Expect(writes.total()).To(BeZero(), writes.summary())
	})

	It("adopts the ReplicaSet Argo Rollouts made for the same template instead of replacing it", func(ctx context.Context) {
		// As Argo left it: a ReplicaSet named by Argo's template hash,
		// controlled by the Rollout, and the Rollout's status pointing at it.
		ro := builders.Rollout("moved").Namespace(ns).Replicas(2).Canary(builders.SetWeight(50)).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Labels = map[string]string{rolloutsv1alpha1.LabelKeyControllerInstanceID: "argo"} // not ours yet
			}).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		hash := plan.PodTemplateHash(&ro.Spec.Template, nil) // equal to Argo's: see hash_test.go
		template := *ro.Spec.Template.DeepCopy()
		template.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] = hash
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{
				Name: "moved-" + hash, Namespace: ns,
				Labels:          template.Labels,
				Annotations:     map[string]string{plan.RevisionAnnotation: "7"},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, rolloutsv1alpha1.SchemeGroupVersion.WithKind("Rollout"))},
			},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: template.Labels},
				Template: template,
			},
		}
		Expect(k8sClient.Create(ctx, rs)).To(Succeed())
		ro.Status = rolloutsv1alpha1.RolloutStatus{StableRS: hash, CurrentPodHash: hash}
		Expect(k8sClient.Status().Update(ctx, ro)).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(BeEmpty(), "a Rollout of another instance is left alone")
		}).WithContext(ctx).WithTimeout(time.Second).Should(Succeed())

		By("handing the Rollout over: removing the instance label")
		Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json",
			[]byte(`{"metadata":{"labels":{"`+rolloutsv1alpha1.LabelKeyControllerInstanceID+`":null}}}`)))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
		}).WithContext(ctx).Should(Succeed())
		var rss appsv1.ReplicaSetList
		Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns), client.MatchingLabels{"app": "moved"})).To(Succeed())
		Expect(rss.Items).To(HaveLen(1))
		Expect(rss.Items[0].Name).To(Equal("moved-" + hash))
		Expect(rss.Items[0].Annotations[plan.RevisionAnnotation]).To(Equal("7"), "its revision is kept")
	})

	It("notices a Service created after the Rollout that names it", func(ctx context.Context) {
		ro := builders.Rollout("late-svc").Namespace(ns).Replicas(1).Services("", "late-svc").Canary().Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Message).To(ContainSubstring(`service "late-svc" not found`))
		}).WithContext(ctx).Should(Succeed())

		svc := builders.Service(ns, "late-svc", "late-svc")
		Expect(k8sClient.Create(ctx, svc)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(svc), svc)).To(Succeed())
			g.Expect(svc.Spec.Selector).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, ro.Status.StableRS))
		}).WithContext(ctx).Should(Succeed())
	})
})

var _ = Describe("A controller with --instance-id", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startRolloutController("blue")
		ns = newNamespaceWithFakeKubelet("instance-")
	})

	It("reconciles only the Rollouts labelled with its instance id", func(ctx context.Context) {
		ours := builders.Rollout("ours").Namespace(ns).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Labels = map[string]string{rolloutsv1alpha1.LabelKeyControllerInstanceID: "blue"}
		}).Obj()
		theirs := builders.Rollout("theirs").Namespace(ns).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Labels = map[string]string{rolloutsv1alpha1.LabelKeyControllerInstanceID: "green"}
		}).Obj()
		unlabelled := builders.Rollout("unlabelled").Namespace(ns).Obj()
		for _, ro := range []*rolloutsv1alpha1.Rollout{ours, theirs, unlabelled} {
			Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ours), ours)).To(Succeed())
			g.Expect(ours.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
		}).WithContext(ctx).Should(Succeed())
		for _, ro := range []*rolloutsv1alpha1.Rollout{theirs, unlabelled} {
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			Expect(ro.Status.ObservedGeneration).To(BeEmpty(), "%s is another controller's", ro.Name)
		}
		var rss appsv1.ReplicaSetList
		Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
		Expect(rss.Items).To(HaveLen(1))
		Expect(rss.Items[0].Labels["app"]).To(Equal("ours"))
	})
})

// warningReasons lists the reasons of the Warning events in a namespace.
func warningReasons(ctx context.Context, ns string) ([]string, error) {
	var events eventsv1.EventList
	if err := k8sClient.List(ctx, &events, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var reasons []string
	for _, e := range events.Items {
		if e.Type == corev1.EventTypeWarning {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons, nil
}

var _ = Describe("A Rollout whose analysis template is missing", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startRolloutController("")
		ns = newNamespaceWithFakeKubelet("template-")
	})

	It("is InvalidSpec until the template is created, then goes on", func(ctx context.Context) {
		ro := builders.Rollout("late-template").Namespace(ns).Replicas(2).Canary(
			builders.SetWeight(50),
			rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "late"}},
			}},
		).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Message).To(ContainSubstring(`AnalysisTemplate "late" not found`))
		}).WithContext(ctx).Should(Succeed())

		template := &rolloutsv1alpha1.AnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"},
			Spec: rolloutsv1alpha1.AnalysisTemplateSpec{Metrics: []rolloutsv1alpha1.Metric{{
				Name: "m", Provider: rolloutsv1alpha1.MetricProvider{Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: "up"}},
			}}},
		}
		Expect(k8sClient.Create(ctx, template)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
		}).WithContext(ctx).Should(Succeed())
	})

	It("wakes when a template it reaches only by inclusion is created", func(ctx context.Context) {
		inner := "inner-" + ns // cluster-scoped: a name of this spec's own
		outer := &rolloutsv1alpha1.AnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "outer"},
			Spec: rolloutsv1alpha1.AnalysisTemplateSpec{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: inner, ClusterScope: ptr.To(true)}},
			},
		}
		Expect(k8sClient.Create(ctx, outer)).To(Succeed())
		ro := builders.Rollout("nested-template").Namespace(ns).Replicas(2).Canary(
			builders.SetWeight(50),
			rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "outer"}},
			}},
		).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Message).To(ContainSubstring(
				`ClusterAnalysisTemplate "` + inner + `" not found (included by AnalysisTemplate "outer")`))
		}).WithContext(ctx).Should(Succeed())

		template := &rolloutsv1alpha1.ClusterAnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: inner},
			Spec: rolloutsv1alpha1.AnalysisTemplateSpec{Metrics: []rolloutsv1alpha1.Metric{{
				Name: "m", Provider: rolloutsv1alpha1.MetricProvider{Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: "up"}},
			}}},
		}
		Expect(k8sClient.Create(ctx, template)).To(Succeed())
		DeferCleanup(k8sClient.Delete, template)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
		}).WithContext(ctx).Should(Succeed())
	})
})

// A Rollout labelled for an instance while its analysis runs (or a Sluice
// upgraded to one that labels its runs, with --instance-id set): the run
// already made is the Rollout's, so the new instance claims it rather
// than waiting on a run its cache never shows.
var _ = Describe("A Rollout moved to another instance during its analysis", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startRolloutController("")
		startRolloutController("blue")
		ns = newNamespaceWithFakeKubelet("moved-")
	})

	It("keeps its AnalysisRun, relabelled for the instance that now handles it", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, &rolloutsv1alpha1.AnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "check"},
			Spec: rolloutsv1alpha1.AnalysisTemplateSpec{Metrics: []rolloutsv1alpha1.Metric{{
				Name: "check", Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{URL: "http://127.0.0.1:1/"}},
			}}},
		})).To(Succeed())
		ro := builders.Rollout("moved").Namespace(ns).Replicas(2).Canary(
			builders.SetWeight(50),
			rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "check"}},
			}},
		).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
		}).WithContext(ctx).Should(Succeed())
		ro.Spec.Template.Spec.Containers[0].Image = "app:v2"
		Expect(k8sClient.Update(ctx, ro)).To(Succeed())

		runs := func(g Gomega) []rolloutsv1alpha1.AnalysisRun {
			var list rolloutsv1alpha1.AnalysisRunList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			return list.Items
		}
		var name string
		Eventually(func(g Gomega) {
			items := runs(g)
			g.Expect(items).To(HaveLen(1))
			g.Expect(items[0].Labels).NotTo(HaveKey(rolloutsv1alpha1.LabelKeyControllerInstanceID), "the unlabelled instance's run")
			name = items[0].Name
		}).WithContext(ctx).Should(Succeed())

		By("labelling the Rollout for the blue instance")
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"blue"}}}`, rolloutsv1alpha1.LabelKeyControllerInstanceID)
		Expect(k8sClient.Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
		Eventually(func(g Gomega) {
			items := runs(g)
			g.Expect(items).To(HaveLen(1), "the same run, not a second one")
			g.Expect(items[0].Name).To(Equal(name))
			g.Expect(items[0].Labels).To(HaveKeyWithValue(rolloutsv1alpha1.LabelKeyControllerInstanceID, "blue"))
		}).WithContext(ctx).Should(Succeed())

		By("promoting the canary once that run succeeds")
		run := &rolloutsv1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		Expect(k8sClient.Patch(ctx, run, client.RawPatch(types.MergePatchType, []byte(`{"status":{"phase":"Successful"}}`)))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
		}).WithContext(ctx).Should(Succeed())
	})
})
