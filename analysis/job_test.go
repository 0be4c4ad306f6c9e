package analysis

import (
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sluicehq/sluice/internal/instance/inherit"
)

var _ = Describe("a metric's Job", func() {
	const uid = "0d0a3c8e-6f2b-4c55-9a52-8f1f7ab0e2d1"
	run := func(results ...rolloutsv1alpha1.MetricResult) *rolloutsv1alpha1.AnalysisRun {
		r := &rolloutsv1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "web-abc-3", Namespace: "shop", UID: uid}}
		r.Status.MetricResults = results
		return r
	}
	metric := func(name string) rolloutsv1alpha1.Metric {
		return rolloutsv1alpha1.Metric{Name: name, Provider: rolloutsv1alpha1.MetricProvider{Job: &rolloutsv1alpha1.JobMetric{
			Metadata: metav1.ObjectMeta{Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "x"}},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "check", Image: "curl"}},
			}}},
		}}}
	}

	DescribeTable("is named as Argo names it: run UID, metric, measurement number",
		func(m rolloutsv1alpha1.Metric, r *rolloutsv1alpha1.AnalysisRun, want string) {
			job := newMetricJob(r, m)
			Expect(job.Name).To(Equal(want))
			Expect(len(job.Name)).To(BeNumerically("<=", 63))
		},
		Entry("the first measurement", metric("smoke"), run(), uid+".smoke.1"),
		Entry("after measurements and errors", metric("smoke"),
			run(rolloutsv1alpha1.MetricResult{Name: "smoke", Count: 2, Error: 1}), uid+".smoke.4"),
		Entry("another metric's results do not count", metric("smoke"),
			run(rolloutsv1alpha1.MetricResult{Name: "other", Count: 7}), uid+".smoke.1"),
		Entry("a long metric name cut to fit a label", metric(strings.Repeat("m", 40)), run(),
			uid+"."+strings.Repeat("m", 63-len(uid)-3)+".1"),
	)

	It("is owned by the run and labelled so the run's Jobs and pods can be found", func() {
		job := newMetricJob(run(), metric("smoke"))
		Expect(job.Namespace).To(Equal("shop"))
		Expect(metav1.GetControllerOf(job)).To(HaveField("UID", BeEquivalentTo(uid)))
		Expect(job.Labels).To(Equal(map[string]string{"team": "a", JobRunUIDLabel: uid}))
		Expect(job.Annotations).To(Equal(map[string]string{"note": "x", JobRunNameAnnotation: "web-abc-3",
			JobRunNamespaceAnnotation: "shop", JobMetricAnnotation: "smoke"}))
		Expect(job.Spec.Template.Labels).To(HaveKeyWithValue(JobRunUIDLabel, uid))
	})

	It("is in its run's shard, whatever the metric's metadata says", func() {
		r := run()
		r.Labels = map[string]string{inherit.ShardLabel: "a"}
		Expect(newMetricJob(r, metric("smoke")).Labels).To(HaveKeyWithValue(inherit.ShardLabel, "a"))
		m := metric("smoke")
		m.Provider.Job.Metadata.Labels[inherit.ShardLabel] = "b"
		Expect(newMetricJob(run(), m).Labels).NotTo(HaveKey(inherit.ShardLabel),
			"a run in no shard makes Jobs in no shard")
	})

	It("leaves the metric's own spec untouched", func() {
		m := metric("smoke")
		newMetricJob(run(), m)
		Expect(m.Provider.Job.Spec.Template.Labels).To(BeNil())
		Expect(m.Provider.Job.Metadata.Labels).To(Equal(map[string]string{"team": "a"}))
	})
})
