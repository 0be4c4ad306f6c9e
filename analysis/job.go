package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/instance/inherit"
)

// The names Argo Rollouts gives a metric's Job, so its tools recognise ours.
const (
	// JobRunUIDLabel labels a metric's Job and its pods with the run's UID.
	JobRunUIDLabel = "analysisrun.argoproj.io/uid"
	// The annotations name the run and the metric a Job measures.
	JobRunNameAnnotation      = "analysisrun.argoproj.io/name"
	JobRunNamespaceAnnotation = "analysisrun.argoproj.io/namespace"
	JobMetricAnnotation       = "analysisrun.argoproj.io/metric-name"
	// The measurement metadata keys that name its Job.
	JobNameKey      = "job-name"
	JobNamespaceKey = "job-namespace"
)

// maxJobName keeps a Job's name short enough for the job-name label the Job
// controller puts on its pods.
const maxJobName = 63

// jobStuckReasons are container waiting reasons a Job never recovers from by
// itself: such a measurement is Inconclusive, so a person decides.
var jobStuckReasons = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true}

// Job measures a metric by running a Kubernetes Job in the run's namespace:
// the Job completing is a Successful measurement, the Job failing a Failed
// one. The Job is owned by the run, so it goes when the run goes.
type Job struct {
	// Client writes Jobs and reads them from the manager's cache.
	Client client.Client
	// APIReader reads around the cache: a Job just created that the cache
	// has not seen yet, and a Job's pods, to spot one stuck pulling its
	// image.
	APIReader client.Reader
	// Clock is the AnalysisRun controller's clock: when a Job's
	// measurement is looked at again, and when it finished.
	Clock clock.PassiveClock
}

// Measure implements Provider: a new measurement creates the Job and is
// Running; later calls look at the Job until it completes or fails. Stop
// deletes the Job of the measurement in flight.
//
// A measurement in flight names its Job in the run's status, which anyone
// who may update the run can write (Argo's AnalysisRun CRD has no status
// subresource). So the name is only a hint: the Job is looked for in the
// run's own namespace, whatever namespace the measurement names, and read
// or deleted only when the run controls it.
func (j Job) Measure(ctx context.Context, req Request) (Measurement, error) {
	switch {
	case req.InFlight == nil:
		return j.start(ctx, req)
	case req.Stop:
		return j.stop(ctx, req)
	default:
		return j.resume(ctx, req)
	}
}

func (j Job) start(ctx context.Context, req Request) (Measurement, error) {
	if req.Metric.Provider.Job == nil {
		return Measurement{}, errors.New("the metric has no job provider")
	}
	job := newMetricJob(req.Run, req.Metric)
	if err := j.Client.Create(ctx, job); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return Measurement{}, fmt.Errorf("creating Job %s: %w", job.Name, err)
		}
		// Created by an earlier attempt whose status write was lost: carry
		// on with it, if it is the run's.
		var existing batchv1.Job
		if err := j.Client.Get(ctx, client.ObjectKeyFromObject(job), &existing); err != nil {
			return Measurement{}, fmt.Errorf("reading Job %s: %w", job.Name, err)
		}
		if !metav1.IsControlledBy(&existing, req.Run) {
			return Measurement{}, fmt.Errorf("job %s exists and is not controlled by this run", job.Name)
		}
	}
	if err := j.collect(ctx, req); err != nil {
		return Measurement{}, err
	}
	return Measurement{
		Phase:    rolloutsv1alpha1.AnalysisPhaseRunning,
		Metadata: jobMetadata(client.ObjectKeyFromObject(job)),
		// The Job's events wake the run when it finishes; this is a fallback.
		ResumeAt: clockOrReal(j.Clock).Now().Add(time.Second),
	}, nil
}

func (j Job) stop(ctx context.Context, req Request) (Measurement, error) {
	key, err := inFlightKey(req)
	if err != nil {
		return Measurement{}, err
	}
	terminated := Measurement{Phase: rolloutsv1alpha1.AnalysisPhaseInconclusive, Message: "Metric Terminated",
		Metadata: jobMetadata(key)}
	job, err := j.controlledJob(ctx, req.Run, key)
	if apierrors.IsNotFound(err) {
		return terminated, nil // gone already
	}
	if err == nil {
		err = j.delete(ctx, job, metav1.DeletePropagationForeground)
	}
	if err != nil {
		return Measurement{Metadata: terminated.Metadata}, err
	}
	return terminated, nil
}

func (j Job) resume(ctx context.Context, req Request) (Measurement, error) {
	key, err := inFlightKey(req)
	if err != nil {
		return Measurement{}, err
	}
	running := Measurement{Phase: rolloutsv1alpha1.AnalysisPhaseRunning, Metadata: jobMetadata(key)}
	job, err := j.controlledJob(ctx, req.Run, key)
	if err != nil {
		return running, err
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			running.Phase = rolloutsv1alpha1.AnalysisPhaseSuccessful
			return running, nil
		case batchv1.JobFailed:
			running.Phase, running.Message = rolloutsv1alpha1.AnalysisPhaseFailed, c.Message
			return running, nil
		}
	}
	if stuck, err := j.stuckPod(ctx, job); err != nil {
		return running, err
	} else if stuck != "" {
		running.Phase, running.Message = rolloutsv1alpha1.AnalysisPhaseInconclusive, stuck
		return running, nil
	}
	// The Job's events wake the run; this is a fallback that backs off the
	// longer the Job takes, as Argo's does.
	now := clockOrReal(j.Clock).Now()
	var elapsed time.Duration
	if started := req.InFlight.StartedAt; started != nil {
		elapsed = max(0, now.Sub(started.Time))
	}
	running.ResumeAt = now.Add(max(time.Second, time.Duration(math.Sqrt(2*elapsed.Seconds())*float64(time.Second))))
	return running, nil
}

// stuckPod describes a pod of the Job whose container cannot start, or "".
func (j Job) stuckPod(ctx context.Context, job *batchv1.Job) (string, error) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return "", err
	}
	var pods corev1.PodList
	if err := j.APIReader.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return "", fmt.Errorf("listing the pods of Job %s: %w", job.Name, err)
	}
	for _, pod := range pods.Items {
		statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
		for _, cs := range statuses {
			if w := cs.State.Waiting; w != nil && jobStuckReasons[w.Reason] {
				return fmt.Sprintf("pod %s, container %s cannot start (%s): %s", pod.Name, cs.Name, w.Reason, w.Message), nil
			}
		}
	}
	return "", nil
}

// collect deletes the run's Jobs of measurements the metric no longer
// keeps, oldest first.
func (j Job) collect(ctx context.Context, req Request) error {
	keep := req.Keep
	if keep <= 0 {
		keep = measurementHistoryLimit
	}
	var jobs batchv1.JobList
	if err := j.Client.List(ctx, &jobs, client.InNamespace(req.Run.Namespace),
		client.MatchingLabels{JobRunUIDLabel: string(req.Run.UID)}); err != nil {
		return fmt.Errorf("listing the run's Jobs: %w", err)
	}
	var mine []batchv1.Job
	for _, job := range jobs.Items {
		// The label alone is no proof: anyone who may create Jobs in the
		// namespace can copy it.
		if job.Annotations[JobMetricAnnotation] == req.Metric.Name && metav1.IsControlledBy(&job, req.Run) {
			mine = append(mine, job)
		}
	}
	sort.Slice(mine, func(a, b int) bool { return mine[a].CreationTimestamp.Before(&mine[b].CreationTimestamp) })
	for i := 0; i < len(mine)-keep; i++ {
		if err := j.delete(ctx, &mine[i], metav1.DeletePropagationBackground); err != nil {
			return err
		}
	}
	return nil
}

// delete deletes a Job the run controls, on condition that the Job of that
// name is still the one read: between the read (perhaps from a stale cache)
// and the delete, another Job, not the run's, may have taken its name.
func (j Job) delete(ctx context.Context, job *batchv1.Job, propagation metav1.DeletionPropagation) error {
	uid := job.UID
	err := j.Client.Delete(ctx, job, client.PropagationPolicy(propagation), client.Preconditions{UID: &uid})
	// A conflict is the precondition failing: the run's Job is gone, and
	// the Job that now has its name is left alone.
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting Job %s: %w", job.Name, err)
	}
	return nil
}

// inFlightKey names the Job of the measurement in flight: the Job the
// measurement names, in the run's namespace, whatever namespace the
// measurement names.
func inFlightKey(req Request) (client.ObjectKey, error) {
	name := req.InFlight.Metadata[JobNameKey]
	if name == "" {
		return client.ObjectKey{}, errors.New("the measurement names no Job")
	}
	return client.ObjectKey{Namespace: req.Run.Namespace, Name: name}, nil
}

// controlledJob reads a Job, and refuses it unless the run controls it. A
// Job just created may not be in the cache yet, so a miss is read again
// from the API server.
func (j Job) controlledJob(ctx context.Context, run *rolloutsv1alpha1.AnalysisRun, key client.ObjectKey) (*batchv1.Job, error) {
	job := &batchv1.Job{}
	err := j.Client.Get(ctx, key, job)
	if apierrors.IsNotFound(err) {
		err = j.APIReader.Get(ctx, key, job)
	}
	if err != nil {
		return nil, fmt.Errorf("reading Job %s: %w", key.Name, err)
	}
	if !metav1.IsControlledBy(job, run) {
		return nil, fmt.Errorf("job %s is not controlled by this run", key.Name)
	}
	return job, nil
}

// jobMetadata names a measurement's Job, as Argo records it.
func jobMetadata(key client.ObjectKey) map[string]string {
	return map[string]string{JobNameKey: key.Name, JobNamespaceKey: key.Namespace}
}

// newMetricJob builds the Job of a metric's next measurement, named as Argo
// names it: `<run UID>.<metric>.<measurement number>`, the metric's name
// cut short when the whole would not fit a label value.
func newMetricJob(run *rolloutsv1alpha1.AnalysisRun, metric rolloutsv1alpha1.Metric) *batchv1.Job {
	spec := metric.Provider.Job
	number := 1
	if res := resultOf(run, metric.Name); res != nil {
		number = int(res.Count+res.Error) + 1
	}
	suffix := "." + strconv.Itoa(number)
	metricName := metric.Name
	if over := len(string(run.UID)) + 1 + len(metricName) + len(suffix) - maxJobName; over > 0 {
		metricName = metricName[:max(len(metricName)-over, 0)]
	}
	labels := map[string]string{}
	for k, v := range spec.Metadata.Labels {
		labels[k] = v
	}
	labels[JobRunUIDLabel] = string(run.UID)
	// The Job is in its run's shard, or its run's manager, which caches
	// only its shard's Jobs, would never see it finish.
	labels = inherit.Shard(run.Labels, labels)
	annotations := map[string]string{}
	for k, v := range spec.Metadata.Annotations {
		annotations[k] = v
	}
	annotations[JobRunNameAnnotation] = run.Name
	annotations[JobRunNamespaceAnnotation] = run.Namespace
	annotations[JobMetricAnnotation] = metric.Name

	jobSpec := *spec.Spec.DeepCopy()
	if jobSpec.Template.Labels == nil {
		jobSpec.Template.Labels = map[string]string{}
	}
	jobSpec.Template.Labels[JobRunUIDLabel] = string(run.UID)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:        string(run.UID) + "." + metricName + suffix,
			Namespace:   run.Namespace,
			Labels:      labels,
			Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(run,
				rolloutsv1alpha1.SchemeGroupVersion.WithKind("AnalysisRun"))},
		},
		Spec: jobSpec,
	}
}
