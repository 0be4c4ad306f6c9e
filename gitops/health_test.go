package gitops

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func fromYAML(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	// Through JSON, as the API server's objects arrive: numbers are int64.
	data, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("parsing %s: %v", doc, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatalf("parsing %s: %v", doc, err)
	}
	return u
}

func TestHealthOf(t *testing.T) {
	cases := []struct {
		name, reason, object string
		want                 gitopsv1alpha1.HealthStatus
	}{{
		name: "deployment rolled out", reason: "every replica updated and available",
		object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, generation: 2},
spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3, readyReplicas: 3}}`,
		want: healthy(""),
	}, {
		name: "deployment spec not seen", reason: "the controller has not observed the new generation",
		object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, generation: 3},
spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3}}`,
		want: progressing("waiting for the deployment controller to see the new spec"),
	}, {
		name: "deployment updating", reason: "fewer updated replicas than wanted",
		object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, generation: 2},
spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 4, updatedReplicas: 1, availableReplicas: 3}}`,
		want: progressing("1 of 3 replicas updated"),
	}, {
		name: "deployment old replicas", reason: "old replicas still running",
		object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, generation: 2},
spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 4}}`,
		want: progressing("1 old replicas waiting to terminate"),
	}, {
		name: "deployment past deadline", reason: "the Progressing condition says the deadline passed",
		object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, generation: 2}, spec: {replicas: 3},
status: {observedGeneration: 2, replicas: 3, updatedReplicas: 1, conditions: [
  {type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: "ReplicaSet \"web-5d\" has timed out progressing."}]}}`,
		want: degraded(`the deployment exceeded its progress deadline: ReplicaSet "web-5d" has timed out progressing.`),
	}, {
		name: "deployment paused", reason: "a paused deployment is Suspended",
		object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, generation: 2}, spec: {paused: true}, status: {observedGeneration: 1}}`,
		want:   suspended("the deployment is paused"),
	}, {
		name: "statefulset ready", reason: "every pod ready at the current revision",
		object: `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, generation: 1},
spec: {replicas: 2, updateStrategy: {type: RollingUpdate}},
status: {observedGeneration: 1, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2, currentRevision: db-7f, updateRevision: db-7f}}`,
		want: healthy(""),
	}, {
		name: "statefulset pods not ready", reason: "fewer ready pods than replicas",
		object: `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, generation: 1}, spec: {replicas: 3},
status: {observedGeneration: 1, replicas: 3, readyReplicas: 1}}`,
		want: progressing("1 of 3 pods ready"),
	}, {
		name: "statefulset updating", reason: "the update revision differs from the current one",
		object: `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, generation: 2}, spec: {replicas: 2},
status: {observedGeneration: 2, replicas: 2, readyReplicas: 2, updatedReplicas: 1, currentRevision: db-7f, updateRevision: db-8a}}`,
		want: progressing("1 pods at revision db-8a; the update goes on"),
	}, {
		name: "statefulset partition reached", reason: "a partitioned update stops at the partition",
		object: `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, generation: 2},
spec: {replicas: 3, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}},
status: {observedGeneration: 2, replicas: 3, readyReplicas: 3, updatedReplicas: 1, currentRevision: db-7f, updateRevision: db-8a}}`,
		want: healthy(""),
	}, {
		name: "statefulset never observed", reason: "observedGeneration 0 is a new set",
		object: `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, generation: 1}, spec: {replicas: 1}}`,
		want:   progressing("waiting for the statefulset controller to see the new spec"),
	}, {
		name: "daemonset rolling", reason: "not every node runs the new pod",
		object: `{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent, generation: 2},
status: {observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3}}`,
		want: progressing("2 of 3 pods updated"),
	}, {
		name: "daemonset available", reason: "every node runs an available updated pod",
		object: `{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent, generation: 2},
status: {observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3}}`,
		want: healthy(""),
	}, {
		name: "replicaset failing", reason: "ReplicaFailure (quota, admission) is Degraded",
		object: `{apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: web-5d, generation: 1}, spec: {replicas: 2},
status: {observedGeneration: 1, replicas: 0, conditions: [{type: ReplicaFailure, status: "True", reason: FailedCreate, message: "pods \"web-5d-x\" is forbidden: exceeded quota"}]}}`,
		want: degraded(`pods "web-5d-x" is forbidden: exceeded quota`),
	}, {
		name: "replicaset available", reason: "every replica available",
		object: `{apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: web-5d, generation: 1}, spec: {replicas: 2},
status: {observedGeneration: 1, replicas: 2, availableReplicas: 2}}`,
		want: healthy(""),
	}, {
		name: "job running", reason: "no terminal condition yet",
		object: `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate}, status: {active: 1}}`,
		want:   progressing("1 active, 0 succeeded"),
	}, {
		name: "job complete", reason: "the Complete condition",
		object: `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate},
status: {succeeded: 1, conditions: [{type: SuccessCriteriaMet, status: "True"}, {type: Complete, status: "True", reason: CompletionsReached, message: Reached expected number of succeeded pods}]}}`,
		want: healthy("Reached expected number of succeeded pods"),
	}, {
		name: "job failed", reason: "the Failed condition",
		object: `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate},
status: {failed: 7, conditions: [{type: FailureTarget, status: "True"}, {type: Failed, status: "True", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}]}}`,
		want: degraded("Job has reached the specified backoff limit"),
	}, {
		name: "job suspended", reason: "a suspended Job waits for a person",
		object: `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate}, spec: {suspend: true},
status: {conditions: [{type: Suspended, status: "True", reason: JobSuspended, message: Job suspended}]}}`,
		want: suspended("Job suspended"),
	}, {
		name: "job resumed", reason: "a Suspended condition that is False is not suspended",
		object: `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate},
status: {active: 1, conditions: [{type: Suspended, status: "False", reason: JobResumed}]}}`,
		want: progressing("1 active, 0 succeeded"),
	}, {
		name: "cronjob suspended", reason: "spec.suspend",
		object: `{apiVersion: batch/v1, kind: CronJob, metadata: {name: report}, spec: {schedule: "@daily", suspend: true}}`,
		want:   suspended("the cronjob is suspended"),
	}, {
		name: "cronjob last run failed", reason: "scheduled after its last success, and nothing running",
		object: `{apiVersion: batch/v1, kind: CronJob, metadata: {name: report}, spec: {schedule: "@daily"},
status: {lastScheduleTime: "2026-01-02T00:00:00Z", lastSuccessfulTime: "2026-01-01T00:05:00Z"}}`,
		want: degraded("the last run did not succeed"),
	}, {
		name: "cronjob running", reason: "a run in progress may still succeed",
		object: `{apiVersion: batch/v1, kind: CronJob, metadata: {name: report}, spec: {schedule: "@daily"},
status: {active: [{kind: Job, name: report-1}], lastScheduleTime: "2026-01-02T00:00:00Z", lastSuccessfulTime: "2026-01-01T00:05:00Z"}}`,
		want: healthy(""),
	}, {
		name: "cronjob not run yet", reason: "a schedule not reached yet cannot be told from one that never fires",
		object: `{apiVersion: batch/v1, kind: CronJob, metadata: {name: report}, spec: {schedule: "@daily"}}`,
		want:   healthy(""),
	}, {
		name: "pod ready", reason: "a running pod with Ready true",
		object: `{apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {restartPolicy: Always, containers: [{name: app, image: web}]},
status: {phase: Running, conditions: [{type: Ready, status: "True"}]}}`,
		want: healthy(""),
	}, {
		name: "pod crash looping", reason: "a container in back-off is Degraded",
		object: `{apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {restartPolicy: Always, containers: [{name: app, image: web}]},
status: {phase: Running, containerStatuses: [{name: app, ready: false, restartCount: 4,
  state: {waiting: {reason: CrashLoopBackOff, message: back-off 40s restarting failed container}}}]}}`,
		want: degraded("container app: CrashLoopBackOff back-off 40s restarting failed container"),
	}, {
		name: "pod image pull", reason: "an image that does not pull is Degraded while still Pending",
		object: `{apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {containers: [{name: app, image: nope}]},
status: {phase: Pending, containerStatuses: [{name: app, state: {waiting: {reason: ErrImagePull, message: not found}}}]}}`,
		want: degraded("container app: ErrImagePull not found"),
	}, {
		name: "pod failed", reason: "the failed container's exit code",
		object: `{apiVersion: v1, kind: Pod, metadata: {name: task}, spec: {restartPolicy: Never, containers: [{name: run, image: task}]},
status: {phase: Failed, containerStatuses: [{name: run, state: {terminated: {exitCode: 2, reason: Error}}}]}}`,
		want: degraded("container run exited with code 2"),
	}, {
		name: "pod running to completion", reason: "a pod that ends is not Healthy until it succeeds",
		object: `{apiVersion: v1, kind: Pod, metadata: {name: task}, spec: {restartPolicy: Never, containers: [{name: run, image: task}]},
status: {phase: Running}}`,
		want: progressing("running to completion"),
	}, {
		name: "pvc bound", reason: "Bound",
		object: `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, status: {phase: Bound}}`,
		want:   healthy(""),
	}, {
		name: "pvc pending", reason: "Pending waits for a volume",
		object: `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, status: {phase: Pending}}`,
		want:   progressing("waiting for a volume to be bound"),
	}, {
		name: "pvc lost", reason: "Lost",
		object: `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data}, status: {phase: Lost}}`,
		want:   degraded("the bound volume is lost"),
	}, {
		name: "load balancer without address", reason: "a LoadBalancer waits for its ingress address",
		object: `{apiVersion: v1, kind: Service, metadata: {name: edge}, spec: {type: LoadBalancer, ports: [{port: 80}]}, status: {loadBalancer: {}}}`,
		want:   progressing("waiting for the load balancer's address"),
	}, {
		name: "load balancer with address", reason: "an address in status",
		object: `{apiVersion: v1, kind: Service, metadata: {name: edge}, spec: {type: LoadBalancer},
status: {loadBalancer: {ingress: [{ip: 203.0.113.7}]}}}`,
		want: healthy(""),
	}, {
		name: "cluster ip service", reason: "nothing to wait for",
		object: `{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: ClusterIP}}`,
		want:   healthy(""),
	}, {
		name: "ingress without address", reason: "waits for the ingress controller",
		object: `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web}, status: {loadBalancer: {}}}`,
		want:   progressing("waiting for the ingress controller's address"),
	}, {
		name: "ingress with address", reason: "an address in status",
		object: `{apiVersion: networking.k8s.io/v1, kind: Ingress, metadata: {name: web}, status: {loadBalancer: {ingress: [{hostname: lb.example.com}]}}}`,
		want:   healthy(""),
	}, {
		name: "namespace terminating", reason: "a namespace on its way out",
		object: `{apiVersion: v1, kind: Namespace, metadata: {name: shop}, status: {phase: Terminating}}`,
		want:   progressing("the namespace is terminating"),
	}, {
		name: "namespace active", reason: "Active",
		object: `{apiVersion: v1, kind: Namespace, metadata: {name: shop}, status: {phase: Active}}`,
		want:   healthy(""),
	}, {
		name: "hpa able to scale", reason: "AbleToScale true",
		object: `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web},
status: {conditions: [{type: AbleToScale, status: "True", reason: ReadyForNewScale, message: recommended size matches current size}]}}`,
		want: healthy("recommended size matches current size"),
	}, {
		name: "hpa without metrics", reason: "FailedGetResourceMetric is Degraded",
		object: `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web},
status: {conditions: [{type: ScalingActive, status: "False", reason: FailedGetResourceMetric, message: "unable to get metrics for resource cpu"},
  {type: AbleToScale, status: "True", reason: SucceededGetScale}]}}`,
		want: degraded("unable to get metrics for resource cpu"),
	}, {
		name: "hpa at v1", reason: "v1 keeps its conditions in an annotation",
		object: `{apiVersion: autoscaling/v1, kind: HorizontalPodAutoscaler, metadata: {name: web,
annotations: {autoscaling.alpha.kubernetes.io/conditions: '[{"type":"AbleToScale","status":"True","reason":"SucceededGetScale","message":"the HPA controller was able to get the target''s current scale"}]'}}}`,
		want: healthy("the HPA controller was able to get the target's current scale"),
	}, {
		name: "hpa new", reason: "no reading yet",
		object: `{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web}}`,
		want:   progressing("waiting for the autoscaler's first reading"),
	}, {
		name: "apiservice available", reason: "Available true",
		object: `{apiVersion: apiregistration.k8s.io/v1, kind: APIService, metadata: {name: v1beta1.metrics.k8s.io},
status: {conditions: [{type: Available, status: "True", reason: Passed, message: all checks passed}]}}`,
		want: healthy("Passed: all checks passed"),
	}, {
		name: "apiservice unavailable", reason: "Available false",
		object: `{apiVersion: apiregistration.k8s.io/v1, kind: APIService, metadata: {name: v1beta1.metrics.k8s.io},
status: {conditions: [{type: Available, status: "False", reason: MissingEndpoints, message: endpoints for service/metrics-server have no addresses}]}}`,
		want: progressing("MissingEndpoints: endpoints for service/metrics-server have no addresses"),
	}, {
		name: "analysisrun successful", reason: "Successful is Healthy",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, metadata: {name: web-5d-2}, status: {phase: Successful}}`,
		want:   healthy("analysis run successful"),
	}, {
		name: "analysisrun failed", reason: "Failed is Degraded, with the run's message",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, metadata: {name: web-5d-2}, status: {phase: Failed, message: "Metric \"error-rate\" assessed Failed due to failed (3) > failureLimit (2)"}}`,
		want:   degraded(`Metric "error-rate" assessed Failed due to failed (3) > failureLimit (2)`),
	}, {
		name: "analysisrun error", reason: "Error is Degraded",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, metadata: {name: web-5d-2}, status: {phase: Error}}`,
		want:   degraded("analysis run had an error"),
	}, {
		name: "analysisrun running", reason: "Running is Progressing",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, metadata: {name: web-5d-2}, status: {phase: Running}}`,
		want:   progressing("analysis run running"),
	}, {
		name: "analysisrun pending", reason: "Pending is Progressing",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, metadata: {name: web-5d-2}, status: {phase: Pending}}`,
		want:   progressing("analysis run pending"),
	}, {
		name: "analysisrun inconclusive", reason: "Inconclusive waits for a person: Suspended",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, metadata: {name: web-5d-2}, status: {phase: Inconclusive}}`,
		want:   suspended("analysis run inconclusive, waiting for a person to decide"),
	}, {
		name: "analysisrun new", reason: "no status yet",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, metadata: {name: web-5d-2}, spec: {metrics: []}}`,
		want:   progressing("waiting for the analysis run to start"),
	}, {
		name: "experiment running", reason: "Running is Progressing",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Experiment, metadata: {name: web-exp}, status: {phase: Running}}`,
		want:   progressing("experiment running"),
	}, {
		name: "experiment failed", reason: "Failed is Degraded",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Experiment, metadata: {name: web-exp}, status: {phase: Failed, message: analysis failed}}`,
		want:   degraded("analysis failed"),
	}, {
		name: "experiment successful", reason: "Successful is Healthy",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Experiment, metadata: {name: web-exp}, status: {phase: Successful}}`,
		want:   healthy("experiment successful"),
	}, {
		name: "rollout healthy", reason: "phase Healthy at the observed generation",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, generation: 2}, spec: {strategy: {canary: {}}},
status: {observedGeneration: "2", phase: Healthy}}`,
		want: healthy(""),
	}, {
		name: "rollout unobserved", reason: "a spec the rollout controller has not seen yet",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, generation: 3}, spec: {strategy: {canary: {}}},
status: {observedGeneration: "2", phase: Healthy}}`,
		want: progressing("waiting for the rollout controller to see the new spec"),
	}, {
		name: "rollout at a pause step", reason: "Suspended, naming the step and that it waits for promotion",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, generation: 2},
spec: {strategy: {canary: {steps: [{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {duration: 30s}}]}}},
status: {observedGeneration: "2", phase: Paused, message: CanaryPauseStep, currentStepIndex: 1,
  pauseConditions: [{reason: CanaryPauseStep, startTime: "2026-01-01T00:00:00Z"}]}}`,
		want: suspended("paused at step 2 of 4: CanaryPauseStep, waiting for promotion"),
	}, {
		name: "rollout at a timed pause", reason: "a timed pause goes on by itself",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, generation: 2},
spec: {strategy: {canary: {steps: [{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {duration: 30s}}]}}},
status: {observedGeneration: "2", phase: Paused, currentStepIndex: 3, pauseConditions: [{reason: CanaryPauseStep, startTime: "2026-01-01T00:00:00Z"}]}}`,
		want: suspended("paused at step 4 of 4 (a pause of 30s): CanaryPauseStep"),
	}, {
		name: "rollout awaiting blue-green promotion", reason: "BlueGreenPause waits for promotion",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, generation: 1},
spec: {strategy: {blueGreen: {activeService: web, autoPromotionEnabled: false}}},
status: {observedGeneration: "1", phase: Paused, pauseConditions: [{reason: BlueGreenPause, startTime: "2026-01-01T00:00:00Z"}]}}`,
		want: suspended("paused: BlueGreenPause, waiting for promotion"),
	}, {
		name: "rollout paused by spec", reason: "spec.paused",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, generation: 2}, spec: {paused: true, strategy: {canary: {}}},
status: {observedGeneration: "2", phase: Paused, message: manually paused}}`,
		want: suspended("paused by spec.paused, waiting to be resumed"),
	}, {
		name: "rollout aborted", reason: "Degraded with the controller's message",
		object: `{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web, generation: 2}, spec: {strategy: {canary: {}}},
status: {observedGeneration: "2", phase: Degraded, message: "RolloutAborted: Rollout aborted update to revision 2"}}`,
		want: degraded("RolloutAborted: Rollout aborted update to revision 2"),
	}, {
		name: "application", reason: "an Application's own aggregated health",
		object: `{apiVersion: gitops.sluice.dev/v1alpha1, kind: Application, metadata: {name: child}, status: {health: {status: Degraded, message: "Deployment web: x"}}}`,
		want:   degraded("Deployment web: x"),
	}, {
		name: "application new", reason: "not synced yet",
		object: `{apiVersion: gitops.sluice.dev/v1alpha1, kind: Application, metadata: {name: child}}`,
		want:   progressing("not synced yet"),
	}, {
		name: "custom resource ready", reason: "kstatus: a Ready condition that is True is Current",
		object: `{apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {name: web, generation: 1},
status: {conditions: [{type: Ready, status: "True", reason: Ready, message: Certificate is up to date}]}}`,
		want: healthy(""),
	}, {
		name: "custom resource stalled", reason: "kstatus: Stalled is Failed, Degraded",
		object: `{apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, metadata: {name: infra, generation: 1},
status: {observedGeneration: 1, conditions: [{type: Stalled, status: "True", reason: BuildFailed, message: kustomize build failed}]}}`,
		want: degraded("kustomize build failed"),
	}, {
		name: "custom resource not ready", reason: "kstatus: Ready False is in progress",
		object: `{apiVersion: cert-manager.io/v1, kind: Certificate, metadata: {name: web, generation: 1},
status: {conditions: [{type: Ready, status: "False", reason: Issuing, message: Issuing certificate}]}}`,
		want: progressing("Issuing certificate"),
	}, {
		name: "custom resource unobserved", reason: "kstatus: an observedGeneration behind the generation",
		object: `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w, generation: 4}, status: {observedGeneration: 3}}`,
		want:   progressing("Widget generation is 4, but latest observed generation is 3"),
	}, {
		name: "kind without status", reason: "kstatus calls a kind with nothing in status Current",
		object: `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w, generation: 1}, spec: {size: 2}}`,
		want:   healthy(""),
	}, {
		name: "being deleted", reason: "an object on its way out is Progressing, whatever its kind",
		object: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: [example.com/hold]}}`,
		want:   progressing("pending deletion"),
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, HealthOf(fromYAML(t, c.object))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.reason, diff)
			}
		})
	}
	if got := HealthOf(nil); got.Status != gitopsv1alpha1.HealthMissing {
		t.Errorf("a gone object is Missing, got %v", got)
	}
}

func TestReadsLiveHealth(t *testing.T) {
	cases := []struct {
		object string
		want   bool
		reason string
	}{
		{`{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}`, false, "a ConfigMap is healthy once applied"},
		{`{apiVersion: v1, kind: Secret, metadata: {name: s}}`, false, "so is a Secret"},
		{`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: r}}`, false, "and RBAC"},
		{`{apiVersion: argoproj.io/v1alpha1, kind: AnalysisTemplate, metadata: {name: t}}`, false, "a template has no status"},
		{`{apiVersion: v1, kind: Service, metadata: {name: web}, spec: {ports: [{port: 80}]}}`, false, "a ClusterIP Service has nothing to wait for"},
		{`{apiVersion: v1, kind: Service, metadata: {name: edge}, spec: {type: LoadBalancer}}`, true, "a LoadBalancer waits for an address"},
		{`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}`, true, "a workload"},
		{`{apiVersion: argoproj.io/v1alpha1, kind: Rollout, metadata: {name: web}}`, true, "a Rollout"},
		{`{apiVersion: argoproj.io/v1alpha1, kind: AnalysisRun, metadata: {name: run}}`, true, "an AnalysisRun"},
		{`{apiVersion: v1, kind: Namespace, metadata: {name: shop}}`, true, "a Namespace can be terminating"},
		{`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: widgets.example.com}}`, true, "a CRD is Established or not"},
		{`{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}`, true, "a custom resource may have a status that says it failed"},
	}
	for _, c := range cases {
		if got := ReadsLiveHealth(fromYAML(t, c.object)); got != c.want {
			t.Errorf("%s: ReadsLiveHealth = %t, want %t", c.reason, got, c.want)
		}
	}
}
