package plan

import (
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestPlan(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Experiment planner")
}

// world is a small cluster for the planner: it applies a plan's actions to
// its objects, and tests move pods and analysis runs along by hand.
type world struct {
	ex        *rolloutsv1alpha1.Experiment
	rs        map[string]*appsv1.ReplicaSet
	services  map[string]*corev1.Service
	runs      map[string]*rolloutsv1alpha1.AnalysisRun
	templates map[string]*rolloutsv1alpha1.AnalysisTemplate
	now       time.Time
	events    []Event
	// last is the last plan's result.
	last Result
}

var epoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func newWorld(ex *rolloutsv1alpha1.Experiment, templates ...*rolloutsv1alpha1.AnalysisTemplate) *world {
	w := &world{ex: ex, rs: map[string]*appsv1.ReplicaSet{}, services: map[string]*corev1.Service{},
		runs: map[string]*rolloutsv1alpha1.AnalysisRun{}, templates: map[string]*rolloutsv1alpha1.AnalysisTemplate{}, now: epoch}
	for _, t := range templates {
		w.templates[t.Name] = t
	}
	return w
}

// analysisTemplate is a template with one metric and the given arguments.
func analysisTemplate(name string, args ...string) *rolloutsv1alpha1.AnalysisTemplate {
	t := &rolloutsv1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	t.Spec.Metrics = []rolloutsv1alpha1.Metric{{Name: name + "-metric", Provider: rolloutsv1alpha1.MetricProvider{
		Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: "up"}}}}
	for _, a := range args {
		t.Spec.Args = append(t.Spec.Args, rolloutsv1alpha1.Argument{Name: a})
	}
	return t
}

func (w *world) observation() Observation {
	obs := Observation{Experiment: w.ex.DeepCopy(), Templates: w.templates, Now: w.now}
	for _, rs := range w.rs {
		obs.ReplicaSets = append(obs.ReplicaSets, rs.DeepCopy())
	}
	for _, s := range w.services {
		obs.Services = append(obs.Services, s.DeepCopy())
	}
	for _, r := range w.runs {
		obs.AnalysisRuns = append(obs.AnalysisRuns, r.DeepCopy())
	}
	return obs
}

// step plans once and applies the plan, as the controller would.
func (w *world) step() Result {
	res := Plan(w.observation())
	for _, a := range res.Actions {
		w.apply(a)
	}
	w.ex.Status = res.Status
	w.events = append(w.events, res.Events...)
	w.last = res
	return res
}

var uid = 0

func (w *world) apply(a Action) {
	switch a := a.(type) {
	case CreateReplicaSet:
		Expect(w.rs).NotTo(HaveKey(a.ReplicaSet.Name), "created twice")
		rs := a.ReplicaSet.DeepCopy()
		uid++
		rs.UID = types.UID(rs.Name + "-" + string(rune('a'+uid%26)))
		w.rs[rs.Name] = rs
	case ScaleReplicaSet:
		rs := w.rs[a.Name]
		Expect(*rs.Spec.Replicas).To(Equal(a.From))
		rs.Spec.Replicas = &a.To
		// Pods go at once; new ones come when the test says so.
		rs.Status.Replicas = min(rs.Status.Replicas, a.To)
		rs.Status.ReadyReplicas = min(rs.Status.ReadyReplicas, a.To)
		rs.Status.AvailableReplicas = min(rs.Status.AvailableReplicas, a.To)
	case SetScaleDownDeadline:
		rs := w.rs[a.Name]
		if a.Deadline == "" {
			delete(rs.Annotations, rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey)
		} else {
			rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = a.Deadline
		}
	case CreateService:
		Expect(w.services).NotTo(HaveKey(a.Service.Name), "created twice")
		w.services[a.Service.Name] = a.Service.DeepCopy()
	case DeleteService:
		delete(w.services, a.Name)
	case CreateAnalysisRun:
		Expect(w.runs).NotTo(HaveKey(a.Run.Name), "created twice")
		w.runs[a.Run.Name] = a.Run.DeepCopy()
	case TerminateAnalysisRun:
		w.runs[a.Name].Spec.Terminate = true
	default:
		Fail("unknown action " + a.String())
	}
}

// available makes n pods of the template's ReplicaSet available (at most
// its spec.replicas).
func (w *world) available(template string, n int32) {
	rs := w.rs[ReplicaSetName(w.ex, template)]
	Expect(rs).NotTo(BeNil(), "template %s has no ReplicaSet", template)
	n = min(n, *rs.Spec.Replicas)
	rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = *rs.Spec.Replicas, n, n
}

// allAvailable makes every ReplicaSet's pods available.
func (w *world) allAvailable() {
	for _, rs := range w.rs {
		n := *rs.Spec.Replicas
		rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = n, n, n
	}
}

// endRun sets the phase an analysis' run ended with.
func (w *world) endRun(analysis string, phase rolloutsv1alpha1.AnalysisPhase) {
	run := w.runs[RunName(w.ex, analysis)]
	Expect(run).NotTo(BeNil(), "analysis %s has no run", analysis)
	run.Status.Phase = phase
	run.Status.Message = "ended " + string(phase)
}

// finishTerminated ends the runs told to terminate, as the AnalysisRun
// controller does.
func (w *world) finishTerminated() {
	for _, run := range w.runs {
		if run.Spec.Terminate && !run.Status.Phase.Completed() {
			run.Status.Phase, run.Status.Message = rolloutsv1alpha1.AnalysisPhaseSuccessful, "Run Terminated"
		}
	}
}

func (w *world) advance(d time.Duration) { w.now = w.now.Add(d) }

func (w *world) replicas(template string) int32 {
	return *w.rs[ReplicaSetName(w.ex, template)].Spec.Replicas
}

func (w *world) templateStatus(name string) rolloutsv1alpha1.TemplateStatus {
	ts := templateStatus(&w.ex.Status, name)
	Expect(ts).NotTo(BeNil(), "no status for template %s", name)
	return *ts
}

func (w *world) analysisStatus(name string) rolloutsv1alpha1.ExperimentAnalysisRunStatus {
	st := analysisStatus(&w.ex.Status, name)
	Expect(st).NotTo(BeNil(), "no status for analysis %s", name)
	return *st
}

// settle steps, ending terminated runs and advancing the clock to
// each requested requeue, until the plan has nothing left to do.
func (w *world) settle() {
	for range 50 {
		before := w.ex.Status.DeepCopy()
		res := w.step()
		w.finishTerminated()
		if len(res.Actions) > 0 || !equality.Semantic.DeepEqual(before, &w.ex.Status) {
			continue
		}
		if res.RequeueAfter == 0 {
			return
		}
		w.advance(res.RequeueAfter)
	}
	Fail("the experiment did not settle")
}
