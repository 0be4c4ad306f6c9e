package analysis

import (
	"context"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/sluicehq/sluice/internal/scheme"
)

// Argo's AnalysisRun CRD has no status subresource, so whoever may update a
// run may write its measurements, and with them the name and namespace of
// the Job a measurement in flight refers to. These specs forge such
// measurements and check the provider acts only on the run's own Jobs.
var _ = Describe("The job provider, given a measurement anyone who updates the run may have written", func() {
	const runUID = types.UID("0d0a3c8e-6f2b-4c55-9a52-8f1f7ab0e2d1")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()

	var run *rolloutsv1alpha1.AnalysisRun
	metric := rolloutsv1alpha1.Metric{Name: "smoke", Provider: rolloutsv1alpha1.MetricProvider{Job: &rolloutsv1alpha1.JobMetric{
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "check", Image: "curl"}},
		}}},
	}}}
	BeforeEach(func() {
		run = &rolloutsv1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "web-abc-3", Namespace: "shop", UID: runUID}}
	})

	// jobOfRun is the Job the run created for its first measurement, as
	// the run's controller reference and labels mark it, moved to namespace
	// and given outcome (none: still running).
	jobOfRun := func(namespace string, uid types.UID, outcome batchv1.JobConditionType) *batchv1.Job {
		job := newMetricJob(run, metric)
		job.Namespace, job.UID = namespace, uid
		job.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{JobRunUIDLabel: string(runUID)}}
		if outcome != "" {
			job.Status.Conditions = []batchv1.JobCondition{{Type: outcome, Status: corev1.ConditionTrue, Message: "from " + namespace}}
		}
		return job
	}
	inFlight := func(metadata map[string]string) *rolloutsv1alpha1.Measurement {
		return &rolloutsv1alpha1.Measurement{Phase: rolloutsv1alpha1.AnalysisPhaseRunning,
			StartedAt: &metav1.Time{Time: now.Add(-time.Minute)}, Metadata: metadata}
	}
	providerOf := func(c client.Client) Job {
		return Job{Client: c, APIReader: c, Clock: clocktesting.NewFakePassiveClock(now)}
	}
	newClient := func(objs ...client.Object) client.WithWatch {
		return fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...).Build()
	}
	exists := func(c client.Client, job *batchv1.Job) bool {
		err := c.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{})
		if apierrors.IsNotFound(err) {
			return false
		}
		Expect(err).NotTo(HaveOccurred())
		return true
	}

	Context("naming a Job in another namespace", func() {
		// The forged Job carries everything a Job of the run carries, even
		// the run's controller reference: only its namespace gives it away.
		var own, elsewhere *batchv1.Job
		var forged map[string]string
		BeforeEach(func() {
			own = jobOfRun("shop", "own-uid", "")
			elsewhere = jobOfRun("kube-system", "elsewhere-uid", batchv1.JobComplete)
			forged = map[string]string{JobNameKey: own.Name, JobNamespaceKey: "kube-system"}
		})

		It("reads the Job of the run's namespace instead, and records that namespace", func() {
			m, err := providerOf(newClient(own, elsewhere)).Measure(ctx, Request{Run: run, Metric: metric, InFlight: inFlight(forged)})
			Expect(err).NotTo(HaveOccurred())
			Expect(m.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning), "the Job in kube-system completed; the run's has not")
			Expect(m.Metadata).To(Equal(map[string]string{JobNameKey: own.Name, JobNamespaceKey: "shop"}))
		})

		It("deletes the Job of the run's namespace when stopped, and leaves the other", func() {
			c := newClient(own, elsewhere)
			_, err := providerOf(c).Measure(ctx, Request{Run: run, Metric: metric, InFlight: inFlight(forged), Stop: true})
			Expect(err).NotTo(HaveOccurred())
			Expect(exists(c, elsewhere)).To(BeTrue())
			Expect(exists(c, own)).To(BeFalse())
		})
	})

	DescribeTable("naming a Job of the run's namespace that the run does not control: neither read nor deleted",
		func(owners []metav1.OwnerReference) {
			job := jobOfRun("shop", "other-uid", batchv1.JobComplete)
			job.OwnerReferences = owners
			c := newClient(job)
			p := providerOf(c)
			named := map[string]string{JobNameKey: job.Name}

			m, err := p.Measure(ctx, Request{Run: run, Metric: metric, InFlight: inFlight(named)})
			Expect(err).To(MatchError(ContainSubstring("not controlled by this run")))
			Expect(m.Phase).NotTo(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))

			_, err = p.Measure(ctx, Request{Run: run, Metric: metric, InFlight: inFlight(named), Stop: true})
			Expect(err).To(MatchError(ContainSubstring("not controlled by this run")))
			Expect(exists(c, job)).To(BeTrue())
		},
		Entry("a Job nobody owns", nil),
		Entry("a Job another run controls", []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "AnalysisRun",
			Name: "other", UID: "another-run", Controller: new(true)}}),
		Entry("a Job the run owns but does not control", []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "AnalysisRun",
			Name: "web-abc-3", UID: runUID, Controller: new(false)}}),
	)

	It("when stopped, deletes the Job only if it is still the one it read", func() {
		// The cache still holds the run's Job; on the server a Job of the
		// same name, not the run's, has replaced it.
		stale := jobOfRun("shop", "own-uid", "")
		replacement := jobOfRun("shop", "replacement-uid", "")
		replacement.OwnerReferences = nil
		server := newClient(replacement)
		cache := interceptor.NewClient(server, interceptor.Funcs{
			Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
				if job, ok := obj.(*batchv1.Job); ok && key == client.ObjectKeyFromObject(stale) {
					stale.DeepCopyInto(job)
					return nil
				}
				return c.Get(ctx, key, obj, opts...)
			},
			// As the API server does: a delete whose UID precondition no
			// longer holds is a conflict.
			Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
				var o client.DeleteOptions
				o.ApplyOptions(opts)
				if o.Preconditions != nil && o.Preconditions.UID != nil {
					current := &batchv1.Job{}
					if err := c.Get(ctx, client.ObjectKeyFromObject(obj), current); err != nil {
						return err
					}
					if current.UID != *o.Preconditions.UID {
						return apierrors.NewConflict(batchv1.Resource("jobs"), obj.GetName(), nil)
					}
				}
				return c.Delete(ctx, obj, opts...)
			},
		})
		p := Job{Client: cache, APIReader: server, Clock: clocktesting.NewFakePassiveClock(now)}
		_, err := p.Measure(ctx, Request{Run: run, Metric: metric, InFlight: inFlight(map[string]string{JobNameKey: stale.Name}), Stop: true})
		Expect(err).NotTo(HaveOccurred(), "the run's Job is gone, which is what stopping wants")
		Expect(exists(server, replacement)).To(BeTrue())
	})

	It("collects only the old Jobs the run controls, not others labelled as its own", func() {
		old := jobOfRun("shop", "old-uid", batchv1.JobComplete)
		old.CreationTimestamp = metav1.NewTime(now.Add(-2 * time.Hour))
		impostor := jobOfRun("shop", "impostor-uid", batchv1.JobComplete)
		impostor.Name, impostor.OwnerReferences = "impostor", nil
		impostor.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
		// Stamps a creation time as the API server does.
		c := interceptor.NewClient(newClient(old, impostor), interceptor.Funcs{
			Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				obj.SetCreationTimestamp(metav1.NewTime(now))
				return c.Create(ctx, obj, opts...)
			},
		})
		run.Status.MetricResults = []rolloutsv1alpha1.MetricResult{{Name: "smoke", Count: 1}}

		m, err := providerOf(c).Measure(ctx, Request{Run: run, Metric: metric, Keep: 1})
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
		Expect(exists(c, old)).To(BeFalse())
		Expect(exists(c, impostor)).To(BeTrue())
	})

	DescribeTable("does not panic on a measurement with fields missing",
		func(m *rolloutsv1alpha1.Measurement, stop bool) {
			own := jobOfRun("shop", "own-uid", "")
			p := providerOf(newClient(own))
			Expect(func() {
				_, _ = p.Measure(ctx, Request{Run: run, Metric: metric, InFlight: m, Stop: stop})
			}).NotTo(Panic())
		},
		Entry("no metadata", &rolloutsv1alpha1.Measurement{}, false),
		Entry("no metadata, stopping", &rolloutsv1alpha1.Measurement{}, true),
		Entry("nothing but a Job name", &rolloutsv1alpha1.Measurement{
			Metadata: map[string]string{JobNameKey: "0d0a3c8e-6f2b-4c55-9a52-8f1f7ab0e2d1.smoke.1"}}, true),
	)

	It("resumes a measurement with no startedAt as though it had just started", func() {
		own := jobOfRun("shop", "own-uid", "")
		m, err := providerOf(newClient(own)).Measure(ctx, Request{Run: run, Metric: metric,
			InFlight: &rolloutsv1alpha1.Measurement{Metadata: map[string]string{JobNameKey: own.Name}}})
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
		Expect(m.ResumeAt).To(Equal(now.Add(time.Second)))
	})
})
