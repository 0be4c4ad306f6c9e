package integration

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/analysis"
	"github.com/sluicehq/sluice/controllers/analysisrun"
)

// The job provider against a real API server. The API server alone runs no
// Job controller, so the specs play it: they set the Job's outcome.
var _ = Describe("The AnalysisRun controller's job provider", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startController("", func(mgr ctrl.Manager) error { return analysisrun.Setup(mgr, analysisrun.Options{}) })
		ns = newNamespace(context.Background(), "analysis-job-")
	})

	newJobRun := func(name string) *rolloutsv1alpha1.AnalysisRun {
		return &rolloutsv1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: rolloutsv1alpha1.AnalysisRunSpec{Metrics: []rolloutsv1alpha1.Metric{{
				Name: "smoke",
				Provider: rolloutsv1alpha1.MetricProvider{Job: &rolloutsv1alpha1.JobMetric{
					Metadata: metav1.ObjectMeta{Labels: map[string]string{"team": "shop"}},
					Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "check", Image: "curlimages/curl"}},
					}}},
				}},
			}}},
		}
	}
	// startedJob waits for the run's measurement in flight and returns its Job.
	startedJob := func(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun) *batchv1.Job {
		GinkgoHelper()
		job := &batchv1.Job{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(run), run)).To(Succeed())
			g.Expect(run.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
			g.Expect(run.Status.MetricResults).To(HaveLen(1))
			m := run.Status.MetricResults[0].Measurements
			g.Expect(m).To(HaveLen(1))
			g.Expect(m[0].Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
			g.Expect(m[0].FinishedAt).To(BeNil())
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: m[0].Metadata[analysis.JobNameKey]}, job)).To(Succeed())
		}).WithContext(ctx).Should(Succeed())
		return job
	}
	// finish sets a Job's outcome as the Job controller does.
	finish := func(ctx context.Context, job *batchv1.Job, outcome batchv1.JobConditionType) {
		GinkgoHelper()
		now := metav1.Now()
		job.Status.StartTime = &now
		if outcome == batchv1.JobComplete {
			job.Status.Succeeded = 1
			job.Status.CompletionTime = &now
			job.Status.Conditions = []batchv1.JobCondition{
				{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
				{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
			}
		} else {
			job.Status.Failed = 1
			job.Status.Conditions = []batchv1.JobCondition{
				{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now,
					Reason: batchv1.JobReasonBackoffLimitExceeded, Message: "Job has reached the specified backoff limit"},
				{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now,
					Reason: batchv1.JobReasonBackoffLimitExceeded, Message: "Job has reached the specified backoff limit"},
			}
		}
		Expect(k8sClient.Status().Update(ctx, job)).To(Succeed())
	}

	It("creates the metric's Job, owned by the run and labelled as Argo labels it", func(ctx context.Context) {
		run := newJobRun("created")
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		job := startedJob(ctx, run)

		Expect(job.Name).To(Equal(string(run.UID) + ".smoke.1"))
		Expect(metav1.GetControllerOf(job)).To(HaveField("UID", run.UID))
		Expect(job.Labels).To(HaveKeyWithValue(analysis.JobRunUIDLabel, string(run.UID)))
		Expect(job.Labels).To(HaveKeyWithValue("team", "shop"))
		Expect(job.Annotations).To(HaveKeyWithValue(analysis.JobMetricAnnotation, "smoke"))
		Expect(job.Annotations).To(HaveKeyWithValue(analysis.JobRunNameAnnotation, "created"))
		Expect(job.Spec.Template.Labels).To(HaveKeyWithValue(analysis.JobRunUIDLabel, string(run.UID)))
	})

	It("is Successful when the Job completes", func(ctx context.Context) {
		run := newJobRun("completes")
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		finish(ctx, startedJob(ctx, run), batchv1.JobComplete)

		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)
		result := run.Status.MetricResults[0]
		Expect(result.Successful).To(Equal(int32(1)))
		Expect(result.Measurements).To(HaveLen(1), "the finished measurement replaced the one in flight")
		Expect(result.Measurements[0].FinishedAt).NotTo(BeNil())
	})

	It("is Failed when the Job fails, with the Job's reason", func(ctx context.Context) {
		run := newJobRun("fails")
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		finish(ctx, startedJob(ctx, run), batchv1.JobFailed)

		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseFailed)
		Expect(run.Status.MetricResults[0].Measurements[0].Message).To(ContainSubstring("backoff limit"))
	})

	It("deletes the Job in flight when the run is terminated, and ends Successful", func(ctx context.Context) {
		run := newJobRun("terminated")
		Expect(k8sClient.Create(ctx, run)).To(Succeed())
		job := startedJob(ctx, run)

		patch := client.MergeFrom(run.DeepCopy())
		run.Spec.Terminate = true
		Expect(k8sClient.Patch(ctx, run, patch)).To(Succeed())

		expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)
		Expect(run.Status.Message).To(Equal("Run Terminated"))
		Expect(run.Status.MetricResults[0].Measurements[0].Message).To(Equal("Metric Terminated"))
		// The API server alone has no garbage collector to finish a
		// foreground deletion: the Job is marked deleted.
		Eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(job), job)
			if !apierrors.IsNotFound(err) {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(job.DeletionTimestamp).NotTo(BeNil())
			}
		}).WithContext(ctx).Should(Succeed())
	})

	// Argo's AnalysisRun CRD has no status subresource: whoever may update a
	// run may rewrite the measurement in flight to name a Job elsewhere.
	Context("when a run's status is forged to name a Job in another namespace", func() {
		var elsewhere string // stands in for kube-system

		BeforeAll(func() {
			namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "analysis-job-elsewhere-"}}
			Expect(k8sClient.Create(context.Background(), namespace)).To(Succeed())
			elsewhere = namespace.Name
		})

		// copyElsewhere creates a Job in the other namespace with the name
		// and labels of the run's Job. Not its controller reference: the
		// suite's garbage collector deletes a Job whose owner is not in its
		// namespace, as a cluster's does.
		copyElsewhere := func(ctx context.Context, own *batchv1.Job) *batchv1.Job {
			GinkgoHelper()
			job := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Namespace: elsewhere, Name: own.Name, Labels: own.Labels,
					Annotations: own.Annotations},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{analysis.JobRunUIDLabel: own.Labels[analysis.JobRunUIDLabel]}},
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "check", Image: "curlimages/curl"}},
					},
				}},
			}
			Expect(k8sClient.Create(ctx, job)).To(Succeed())
			return job
		}
		// forgeJobNamespace rewrites the measurement in flight to name its
		// Job in namespace, as a user who may update the run can.
		forgeJobNamespace := func(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun, namespace string) {
			GinkgoHelper()
			Eventually(func(g Gomega) {
				g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(run), run)).To(Succeed())
				original := run.DeepCopy()
				g.Expect(run.Status.MetricResults).To(HaveLen(1))
				g.Expect(run.Status.MetricResults[0].Measurements).To(HaveLen(1))
				run.Status.MetricResults[0].Measurements[0].Metadata[analysis.JobNamespaceKey] = namespace
				g.Expect(k8sClient.Patch(ctx, run, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{}))).To(Succeed())
			}).WithContext(ctx).Should(Succeed())
		}

		It("reads the run's own Job as the result, not the one named", func(ctx context.Context) {
			run := newJobRun("forged-read")
			Expect(k8sClient.Create(ctx, run)).To(Succeed())
			own := startedJob(ctx, run)
			finish(ctx, copyElsewhere(ctx, own), batchv1.JobComplete)

			forgeJobNamespace(ctx, run, elsewhere)
			finish(ctx, own, batchv1.JobFailed)

			expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseFailed)
			measurement := run.Status.MetricResults[0].Measurements[0]
			Expect(measurement.Message).To(ContainSubstring("backoff limit"))
			Expect(measurement.Metadata).To(HaveKeyWithValue(analysis.JobNamespaceKey, ns))
		})

		It("deletes the run's own Job when the run is terminated, not the one named", func(ctx context.Context) {
			run := newJobRun("forged-terminate")
			Expect(k8sClient.Create(ctx, run)).To(Succeed())
			own := startedJob(ctx, run)
			other := copyElsewhere(ctx, own)

			forgeJobNamespace(ctx, run, elsewhere)
			patch := client.MergeFrom(run.DeepCopy())
			run.Spec.Terminate = true
			Expect(k8sClient.Patch(ctx, run, patch)).To(Succeed())

			expectRunPhase(ctx, run, rolloutsv1alpha1.AnalysisPhaseSuccessful)
			Expect(run.Status.Message).To(Equal("Run Terminated"))
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(other), other)).To(Succeed())
			Expect(other.DeletionTimestamp).To(BeNil())
			Eventually(func(g Gomega) {
				err := k8sClient.Get(ctx, client.ObjectKeyFromObject(own), own)
				if !apierrors.IsNotFound(err) {
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(own.DeletionTimestamp).NotTo(BeNil())
				}
			}).WithContext(ctx).Should(Succeed())
		})
	})
})
