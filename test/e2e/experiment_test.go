package e2e

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/promtest"
)

// Standalone Experiments: a baseline and a canary side by side, judged by
// analyses against a real Prometheus scraping an exporter whose error rate
// each spec sets.
var _ = Describe("Experiments on the simulated cluster", Ordered, func() {
	var (
		ns       string
		exporter *promtest.Exporter
		prom     *promtest.Prometheus
	)

	BeforeAll(func(ctx context.Context) {
		exporter, prom = startPrometheus(ctx)
		startManager("--leader-elect=false")
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "experiment-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		Expect(k8sClient.Create(ctx, errorRateTemplate(ns, prom, func(m *rolloutsv1alpha1.Metric) {
			m.FailureCondition = "result[0] > 0.2"
		}))).To(Succeed())
	})

	compare := func(name string) *builders.ExperimentBuilder {
		return builders.Experiment(name).Namespace(ns).
			Template("baseline", "registry.example/app:v1", nil).
			Template("canary", "registry.example/app:v2", ptr.To[int32](2))
	}
	appArg := func(app string) rolloutsv1alpha1.Argument {
		return rolloutsv1alpha1.Argument{Name: "app", Value: ptr.To(app)}
	}
	get := func(ctx context.Context, ex *rolloutsv1alpha1.Experiment) func(Gomega) *rolloutsv1alpha1.Experiment {
		return func(g Gomega) *rolloutsv1alpha1.Experiment {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ex), ex)).To(Succeed())
			return ex
		}
	}

	It("runs its templates, serves one through a Service, and succeeds once its required analysis does", func(ctx context.Context) {
		exporter.Set(`demo_error_rate{app="good"}`, 0.01)
		ex := compare("good").Service("").ScaleDownDelay(10).Analysis("error-rate", "error-rate", true, appArg("good")).Obj()
		Expect(k8sClient.Create(ctx, ex)).To(Succeed())

		By("a ReplicaSet per template, named and annotated as Argo does, and the canary's Service")
		Eventually(func(g Gomega) {
			var svc corev1.Service
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "good-canary"}, &svc)).To(Succeed())
			var rs appsv1.ReplicaSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "good-canary"}, &rs)).To(Succeed())
			g.Expect(rs.Annotations).To(HaveKeyWithValue(rolloutsv1alpha1.ExperimentTemplateNameAnnotationKey, "canary"))
			g.Expect(svc.Spec.Selector).To(HaveKeyWithValue("rollouts-pod-template-hash", rs.Labels["rollouts-pod-template-hash"]))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 1, "registry.example/app:v2": 2}))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		Eventually(get(ctx, ex)).WithContext(ctx).WithTimeout(2 * time.Minute).Should(And(
			HaveField("Status.Phase", rolloutsv1alpha1.AnalysisPhaseSuccessful),
			HaveField("Status.Message", "Required AnalysisRuns completed"),
			HaveField("Status.AvailableAt", Not(BeNil()))))
		var run rolloutsv1alpha1.AnalysisRun
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "good-error-rate"}, &run)).To(Succeed())
		Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		Expect(metav1.IsControlledBy(&run, ex)).To(BeTrue())

		By("scaling down after scaleDownDelaySeconds, the Service going with the pods")
		Eventually(func(g Gomega) {
			g.Expect(podsByImage(ctx, g, ns)).To(BeEmpty())
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "good-canary"}, &corev1.Service{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Service is removed")
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(get(ctx, ex)(Default).Status.TemplateStatuses).To(HaveEach(
			HaveField("Status", rolloutsv1alpha1.TemplateStatusSuccessful)))
	})

	It("fails as soon as one analysis fails, and stops the one that would have passed", func(ctx context.Context) {
		exporter.Set(`demo_error_rate{app="steady"}`, 0.01)
		exporter.Set(`demo_error_rate{app="broken"}`, 0.5)
		ex := compare("bad").ScaleDownDelay(0).
			Analysis("steady", "error-rate", false, appArg("steady")).
			Analysis("broken", "error-rate", false, appArg("broken")).Obj()
		Expect(k8sClient.Create(ctx, ex)).To(Succeed())

		Eventually(get(ctx, ex)).WithContext(ctx).WithTimeout(2 * time.Minute).Should(
			HaveField("Status.Phase", rolloutsv1alpha1.AnalysisPhaseFailed))
		Expect(ex.Status.Message).To(ContainSubstring("error-rate"), "the failed run's message")
		Eventually(func(g Gomega) {
			var steady rolloutsv1alpha1.AnalysisRun
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bad-steady"}, &steady)).To(Succeed())
			g.Expect(steady.Status.Phase.Completed()).To(BeTrue())
			var broken rolloutsv1alpha1.AnalysisRun
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bad-broken"}, &broken)).To(Succeed())
			g.Expect(broken.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseFailed))
			var rs appsv1.ReplicaSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bad-canary"}, &rs)).To(Succeed())
			g.Expect(*rs.Spec.Replicas).To(BeZero())
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})

	// A canary whose second step runs an Experiment of the stable and the
	// canary spec, judged by an analysis of the canary's error rate.
	withExperimentStep := func(name string) *rolloutsv1alpha1.Rollout {
		return builders.Rollout(name).Namespace(ns).Replicas(2).Image("registry.example/app:v1").Canary(
			builders.SetWeight(50),
			rolloutsv1alpha1.CanaryStep{Experiment: &rolloutsv1alpha1.RolloutExperimentStep{
				Templates: []rolloutsv1alpha1.RolloutExperimentTemplate{
					{Name: "baseline", SpecRef: rolloutsv1alpha1.StableSpecRef},
					{Name: "canary", SpecRef: rolloutsv1alpha1.CanarySpecRef},
				},
				Analyses: []rolloutsv1alpha1.RolloutExperimentStepAnalysisTemplateRef{{
					Name: "error-rate", TemplateName: "error-rate", RequiredForCompletion: true,
					Args: []rolloutsv1alpha1.AnalysisRunArgument{{Name: "app", Value: name}},
				}},
				ScaleDownDelaySeconds: ptr.To[int32](0),
			}},
			builders.SetWeight(100),
		).Obj()
	}
	stepExperiment := func(ctx context.Context, g Gomega, ro *rolloutsv1alpha1.Rollout) *rolloutsv1alpha1.Experiment {
		var list rolloutsv1alpha1.ExperimentList
		g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		for i := range list.Items {
			if metav1.IsControlledBy(&list.Items[i], ro) {
				return &list.Items[i]
			}
		}
		g.Expect("no Experiment").To(BeEmpty(), "the Rollout owns no Experiment yet")
		return nil
	}

	It("runs a canary's experiment step and goes on once the Experiment succeeds", func(ctx context.Context) {
		exporter.Set(`demo_error_rate{app="stepped"}`, 0.01)
		ro := deployAndUpdate(ctx, withExperimentStep("stepped"))
		before := ro.Status.StableRS
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).NotTo(Equal(before), "the new revision")
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())

		ex := stepExperiment(ctx, Default, ro)
		Expect(ex.Name).To(Equal(fmt.Sprintf("stepped-%s-2-1", ro.Status.CurrentPodHash)), "Argo's name: rollout, hash, revision, step")
		Expect(ex.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		Expect(ex.Spec.Templates[0].Template.Spec.Containers[0].Image).To(Equal("registry.example/app:v1"))
		Expect(ex.Spec.Templates[1].Template.Spec.Containers[0].Image).To(Equal("registry.example/app:v2"))
		var canaryRS appsv1.ReplicaSet
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: ex.Name + "-canary"}, &canaryRS)).To(Succeed())
		Expect(canaryRS.Labels["rollouts-pod-template-hash"]).NotTo(Equal(ro.Status.CurrentPodHash),
			"the experiment's pods are told apart from the canary's, so its Services do not select them")
		Eventually(func(g Gomega) map[string]int { return podsByImage(ctx, g, ns) }).WithContext(ctx).
			Should(Equal(map[string]int{"registry.example/app:v2": 2}), "the experiment's pods are gone")
	})

	It("aborts the canary when its Experiment fails", func(ctx context.Context) {
		exporter.Set(`demo_error_rate{app="refuted"}`, 0.5)
		ro := deployAndUpdate(ctx, withExperimentStep("refuted"))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), ro.Status.Message)
			g.Expect(ro.Status.Abort).To(BeTrue())
			g.Expect(stepExperiment(ctx, g, ro).Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseFailed))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(ContainElement(HavePrefix("ExperimentFailed: ")))
	})
})
