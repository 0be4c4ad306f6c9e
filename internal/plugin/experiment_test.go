package plugin

import (
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

func TestRenderRunningExperiment(t *testing.T) {
	ex := builders.Experiment("compare").Namespace("shop").Duration("10m").
		Template("baseline", "app:v1", nil).Template("canary", "app:v2", ptr.To[int32](2)).Service("").
		Analysis("error-rate", "error-rate", true).Analysis("latency", "latency", false).Obj()
	available := metav1.NewTime(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	ex.Status = rolloutsv1alpha1.ExperimentStatus{
		Phase: rolloutsv1alpha1.AnalysisPhaseRunning, AvailableAt: &available,
		TemplateStatuses: []rolloutsv1alpha1.TemplateStatus{
			{Name: "baseline", Status: rolloutsv1alpha1.TemplateStatusRunning, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
			{Name: "canary", Status: rolloutsv1alpha1.TemplateStatusRunning, Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2,
				ServiceName: "compare-canary", PodTemplateHash: "ccc"},
		},
		AnalysisRuns: []rolloutsv1alpha1.ExperimentAnalysisRunStatus{
			{Name: "error-rate", AnalysisRun: "compare-error-rate", Phase: rolloutsv1alpha1.AnalysisPhaseRunning},
			{Name: "latency", AnalysisRun: "compare-latency", Phase: rolloutsv1alpha1.AnalysisPhaseSuccessful},
		},
	}
	run := &rolloutsv1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "compare-error-rate"}}
	run.Status.MetricResults = []rolloutsv1alpha1.MetricResult{{Name: "error-rate", Phase: rolloutsv1alpha1.AnalysisPhaseRunning, Successful: 1}}
	golden(t, "running-experiment.txt", RenderExperiment(ExperimentView{
		Experiment:   ex,
		ReplicaSets:  []*appsv1.ReplicaSet{templateRS("compare-baseline", "baseline", 1), templateRS("compare-canary", "canary", 2)},
		AnalysisRuns: []*rolloutsv1alpha1.AnalysisRun{run},
	}))
}

func TestExperimentLine(t *testing.T) {
	ex := builders.Experiment("e").Template("a", "x", nil).Template("b", "y", nil).Analysis("m", "t", false).Obj()
	ex.Status.TemplateStatuses = []rolloutsv1alpha1.TemplateStatus{{Name: "a", Status: rolloutsv1alpha1.TemplateStatusRunning},
		{Name: "b", Status: rolloutsv1alpha1.TemplateStatusProgressing}}
	templates, analyses := ExperimentLine(ex)
	if templates != "1/2" || analyses != "0/1" {
		t.Errorf("got %s templates, %s analyses; want 1/2 and 0/1", templates, analyses)
	}
}

// Argo's plugin terminates an experiment with this merge patch
// (utils/experiment's terminateExperimentPatch).
func TestTerminateExperimentIsArgosPatch(t *testing.T) {
	if got := string(TerminateExperiment()); got != `{"spec":{"terminate":true}}` {
		t.Errorf("got %s", got)
	}
}

func templateRS(name, template string, ready int32) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
		rolloutsv1alpha1.ExperimentTemplateNameAnnotationKey: template}}}
	rs.Spec.Replicas = ptr.To(ready)
	rs.Status.Replicas, rs.Status.ReadyReplicas = ready, ready
	return rs
}

func TestRenderRolloutAtAnExperimentStep(t *testing.T) {
	ro := builders.Rollout("web").Namespace("shop").Replicas(2).Canary(builders.SetWeight(50),
		rolloutsv1alpha1.CanaryStep{Experiment: &rolloutsv1alpha1.RolloutExperimentStep{}}, builders.SetWeight(100)).Obj()
	ro.Status = rolloutsv1alpha1.RolloutStatus{
		Phase: rolloutsv1alpha1.RolloutPhaseProgressing, CurrentStepIndex: ptr.To[int32](1), CurrentPodHash: "bbb", StableRS: "aaa",
		Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 2, AvailableReplicas: 2,
		Canary: rolloutsv1alpha1.CanaryStatus{CurrentExperiment: "web-bbb-2-1"},
	}
	ex := builders.Experiment("web-bbb-2-1").Namespace("shop").Template("baseline", "app:v1", nil).Template("canary", "app:v2", nil).
		Analysis("compare", "compare", true).Obj()
	ex.Annotations = map[string]string{"rollout.argoproj.io/revision": "2"}
	ex.Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
	ex.Status.TemplateStatuses = []rolloutsv1alpha1.TemplateStatus{{Name: "baseline", Status: rolloutsv1alpha1.TemplateStatusRunning},
		{Name: "canary", Status: rolloutsv1alpha1.TemplateStatusRunning}}
	golden(t, "experiment-step.txt", RenderRollout(RolloutView{
		Rollout:     ro,
		ReplicaSets: []*appsv1.ReplicaSet{rs("aaa", "1", "app:v1", 1), rs("bbb", "2", "app:v2", 1)},
		Experiments: []*rolloutsv1alpha1.Experiment{ex},
	}))
}
