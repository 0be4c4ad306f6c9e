package e2e

import (
	"context"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/analysis"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/simcluster"
)

// A canary gated by a Job, run by the cluster's own Job controller: its
// outcome decides the rollout.
var _ = Describe("A Job-gated canary on the simulated cluster", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startManager("--leader-elect=false")
	})

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-analysis-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		template := &rolloutsv1alpha1.AnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "smoke-test"},
			Spec: rolloutsv1alpha1.AnalysisTemplateSpec{
				Args: []rolloutsv1alpha1.Argument{{Name: "image"}},
				Metrics: []rolloutsv1alpha1.Metric{{
					Name: "smoke",
					Provider: rolloutsv1alpha1.MetricProvider{Job: &rolloutsv1alpha1.JobMetric{
						Spec: batchv1.JobSpec{
							BackoffLimit: ptr.To[int32](0),
							Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
								RestartPolicy: corev1.RestartPolicyNever,
								Containers:    []corev1.Container{{Name: "smoke", Image: "{{args.image}}"}},
							}},
						},
					}},
				}},
			},
		}
		Expect(k8sClient.Create(ctx, template)).To(Succeed())
	})

	gated := func(name, smokeImage string) *rolloutsv1alpha1.Rollout {
		return builders.Rollout(name).Namespace(ns).Replicas(2).Image("registry.example/app:v1").Canary(
			builders.SetWeight(50),
			rolloutsv1alpha1.CanaryStep{Analysis: &rolloutsv1alpha1.RolloutAnalysis{
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "smoke-test"}},
				Args:      []rolloutsv1alpha1.AnalysisRunArgument{{Name: "image", Value: smokeImage}},
			}},
		).Obj()
	}
	appPods := func(ctx context.Context, g Gomega) map[string]int {
		pods := podsByImage(ctx, g, ns)
		for image := range pods {
			if image != "registry.example/app:v1" && image != "registry.example/app:v2" {
				delete(pods, image) // the Job's pod
			}
		}
		return pods
	}

	It("promotes the canary when the Job succeeds", func(ctx context.Context) {
		ro := deployAndUpdate(ctx, gated("passes", "registry.example/smoke:v1"))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
			g.Expect(appPods(ctx, g)).To(Equal(map[string]int{"registry.example/app:v2": 2}))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())

		run := stepRun(ctx, ro)
		Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		var job batchv1.Job
		name := run.Status.MetricResults[0].Measurements[0].Metadata[analysis.JobNameKey]
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &job)).To(Succeed())
		Expect(job.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/smoke:v1"), "the argument was substituted")
		Expect(job.Status.Succeeded).To(Equal(int32(1)))
	})

	It("aborts the canary and returns to stable when the Job fails", func(ctx context.Context) {
		ro := deployAndUpdate(ctx, gated("fails", simcluster.FailImage))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), ro.Status.Message)
			g.Expect(ro.Status.Abort).To(BeTrue())
			g.Expect(appPods(ctx, g)).To(Equal(map[string]int{"registry.example/app:v1": 2}))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(stepRun(ctx, ro).Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseFailed))
	})
})
