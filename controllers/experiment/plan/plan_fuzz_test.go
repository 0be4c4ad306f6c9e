package plan

import (
	"fmt"
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

// FuzzPlan plans Experiments a tenant could write (odd names, counts,
// durations, deadlines and delays, missing templates) from whatever state
// their status and ReplicaSets are in, for a number of passes with pods,
// runs and time moving on, and checks that the planner never panics and
// never plans what cannot be executed: a negative replica count, a write
// to a ReplicaSet or run that is not there, two creates of one object, or
// anything at all for an invalid spec.
//
//	go test ./controllers/experiment/plan -run XXX -fuzz FuzzPlan -fuzztime 60s
func FuzzPlan(f *testing.F) {
	f.Add([]byte{2, 1, 3, 0, 2, 1, 1, 0, 5, 9, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{1, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0})
	f.Add([]byte{3, 7, 7, 7, 2, 2, 2, 2, 2, 255, 128, 64, 32, 16, 8, 4, 2, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzBytes{data: data}
		w := newFuzzWorld(&in)
		for tick := range 40 {
			obs := w.observation()
			res := Plan(obs)
			if msg := validate(obs.Experiment); msg != "" && len(res.Actions) > 0 {
				t.Fatalf("tick %d: planned %v for an invalid spec (%s)", tick, res.Actions, msg)
			}
			if err := w.apply(res); err != nil {
				t.Fatalf("tick %d: %v", tick, err)
			}
			w.perturb(&in)
		}
	})
}

type fuzzBytes struct {
	data []byte
	at   int
}

func (b *fuzzBytes) next() int {
	if b.at >= len(b.data) {
		return 0
	}
	b.at++
	return int(b.data[b.at-1])
}

func (b *fuzzBytes) pick(n int) int { return b.next() % n }

type fuzzWorld struct {
	ex   *rolloutsv1alpha1.Experiment
	rs   map[string]*appsv1.ReplicaSet
	svc  map[string]*corev1.Service
	runs map[string]*rolloutsv1alpha1.AnalysisRun
	now  time.Time
}

func newFuzzWorld(in *fuzzBytes) *fuzzWorld {
	names := []string{"a", "b", "", "a-b"}
	durations := []string{"", "0s", "30s", "-5s", "1h", "soon", "2147483647s"}
	b := builders.Experiment("fz")
	for i := range in.pick(4) {
		var replicas *int32
		if r := in.pick(6); r > 0 {
			replicas = ptr.To(int32(r - 2))
		}
		b.Template(names[in.pick(len(names))], fmt.Sprintf("app:v%d", i), replicas)
		if in.pick(2) == 0 {
			b.Service(names[in.pick(len(names))])
		}
	}
	b.Duration(durations[in.pick(len(durations))])
	if in.pick(2) == 0 {
		b.ProgressDeadline(int32(in.next()) - 10)
	}
	if in.pick(2) == 0 {
		b.ScaleDownDelay(int32(in.next()) - 10)
	}
	for range in.pick(3) {
		b.Analysis(names[in.pick(len(names))], []string{"t", "missing"}[in.pick(2)], in.pick(2) == 0)
	}
	ex := b.Obj()
	ex.Spec.Terminate = in.pick(8) == 0
	phases := []rolloutsv1alpha1.AnalysisPhase{"", "Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"}
	ex.Status.Phase = phases[in.pick(len(phases))]
	if in.pick(2) == 0 {
		ex.Status.AvailableAt = &metav1.Time{Time: epoch.Add(-time.Duration(in.next()) * time.Second)}
	}
	w := &fuzzWorld{ex: ex, rs: map[string]*appsv1.ReplicaSet{}, svc: map[string]*corev1.Service{},
		runs: map[string]*rolloutsv1alpha1.AnalysisRun{}, now: epoch}
	for i := range ex.Spec.Templates {
		t := &ex.Spec.Templates[i]
		if in.pick(2) == 0 || t.Name == "" || t.Selector == nil {
			continue
		}
		rs := NewReplicaSet(ex, t, nil, int32(in.pick(4)))
		if in.pick(3) == 0 {
			rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] =
				[]string{"garbage", epoch.Add(time.Duration(in.next()-128) * time.Second).Format(time.RFC3339)}[in.pick(2)]
		}
		w.rs[rs.Name] = rs
	}
	return w
}

func (w *fuzzWorld) observation() Observation {
	obs := Observation{Experiment: w.ex.DeepCopy(), Now: w.now,
		Templates: map[string]*rolloutsv1alpha1.AnalysisTemplate{"t": analysisTemplate("t")}}
	for _, rs := range w.rs {
		obs.ReplicaSets = append(obs.ReplicaSets, rs.DeepCopy())
	}
	for _, s := range w.svc {
		obs.Services = append(obs.Services, s.DeepCopy())
	}
	for _, r := range w.runs {
		obs.AnalysisRuns = append(obs.AnalysisRuns, r.DeepCopy())
	}
	return obs
}

func (w *fuzzWorld) apply(res Result) error {
	for _, a := range res.Actions {
		switch a := a.(type) {
		case CreateReplicaSet:
			if _, ok := w.rs[a.ReplicaSet.Name]; ok {
				return fmt.Errorf("%s: it exists", a)
			}
			if *a.ReplicaSet.Spec.Replicas < 0 {
				return fmt.Errorf("%s: negative", a)
			}
			w.rs[a.ReplicaSet.Name] = a.ReplicaSet.DeepCopy()
		case ScaleReplicaSet:
			rs, ok := w.rs[a.Name]
			if !ok || a.To < 0 || *rs.Spec.Replicas != a.From {
				return fmt.Errorf("%s: not possible", a)
			}
			rs.Spec.Replicas = ptr.To(a.To)
			rs.Status.Replicas = min(rs.Status.Replicas, a.To)
			rs.Status.ReadyReplicas = min(rs.Status.ReadyReplicas, a.To)
			rs.Status.AvailableReplicas = min(rs.Status.AvailableReplicas, a.To)
		case SetScaleDownDeadline:
			rs, ok := w.rs[a.Name]
			if !ok {
				return fmt.Errorf("%s: no such ReplicaSet", a)
			}
			rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = a.Deadline
			if a.Deadline == "" {
				delete(rs.Annotations, rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey)
			}
		case CreateService:
			if _, ok := w.svc[a.Service.Name]; ok {
				return fmt.Errorf("%s: it exists", a)
			}
			w.svc[a.Service.Name] = a.Service.DeepCopy()
		case DeleteService:
			if _, ok := w.svc[a.Name]; !ok {
				return fmt.Errorf("%s: no such Service", a)
			}
			delete(w.svc, a.Name)
		case CreateAnalysisRun:
			if _, ok := w.runs[a.Run.Name]; ok {
				return fmt.Errorf("%s: it exists", a)
			}
			w.runs[a.Run.Name] = a.Run.DeepCopy()
		case TerminateAnalysisRun:
			run, ok := w.runs[a.Name]
			if !ok {
				return fmt.Errorf("%s: no such run", a)
			}
			run.Spec.Terminate = true
		default:
			return fmt.Errorf("unknown action %s", a)
		}
	}
	w.ex.Status = res.Status
	return nil
}

// perturb moves pods, runs and time along as the input says.
func (w *fuzzWorld) perturb(in *fuzzBytes) {
	for _, rs := range w.rs {
		if in.pick(2) == 0 {
			n := min(int32(in.pick(4)), *rs.Spec.Replicas)
			rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = *rs.Spec.Replicas, n, n
		}
	}
	phases := []rolloutsv1alpha1.AnalysisPhase{"", "Running", "Successful", "Failed", "Error", "Inconclusive"}
	for _, run := range w.runs {
		if !run.Status.Phase.Completed() && in.pick(3) == 0 {
			run.Status.Phase = phases[in.pick(len(phases))]
		}
	}
	if in.pick(16) == 0 {
		w.ex.Spec.Terminate = true
	}
	w.now = w.now.Add(time.Duration(in.pick(120)) * time.Second)
}
