package plan

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/traffic"
)

// world is a tiny, fake cluster for planner tests: it executes a plan's
// actions on in-memory ReplicaSets and Services, writes the planned status
// back, and makes pods available when told to.
type world struct {
	ro       *rolloutsv1alpha1.Rollout
	rss      []*appsv1.ReplicaSet
	services map[string]*corev1.Service
	now      time.Time
	created  int
	events   []Event
	// lastSpecTotal is the pods all ReplicaSets asked for before the last
	// plan was applied.
	lastSpecTotal int32
	// checked turns on Gomega assertions while applying (off in benchmarks).
	checked bool
	// workload is the Deployment a workloadRef names, if any.
	workload *appsv1.Deployment
	// runs are the Rollout's AnalysisRuns; templates the AnalysisTemplates.
	runs      []*rolloutsv1alpha1.AnalysisRun
	templates map[string]*rolloutsv1alpha1.AnalysisTemplate
	// routes are the Gateway API routes, as the router would read them;
	// trafficLog records each weight a plan set on them.
	routes        []traffic.Route
	missingRoutes []traffic.RouteKey
	trafficLog    []int32
}

func newWorld(ro *rolloutsv1alpha1.Rollout, serviceNames ...string) *world {
	w := &world{ro: ro, services: map[string]*corev1.Service{}, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, name := range serviceNames {
		w.services[name] = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": ro.Name}}}
	}
	return w
}

func (w *world) observe() Observation {
	routes := make([]traffic.Route, 0, len(w.routes))
	for _, r := range w.routes {
		routes = append(routes, copyRoute(r))
	}
	return Observation{Rollout: w.ro.DeepCopy(), ReplicaSets: w.rss, Services: w.services, Workload: w.workload,
		AnalysisRuns: w.runs, Templates: w.templates, Routes: routes, MissingRoutes: w.missingRoutes, Now: w.now}
}

// step plans once and applies the result.
func (w *world) step() Result {
	res := Plan(w.observe())
	w.apply(res)
	return res
}

func (w *world) apply(res Result) {
	w.checked = true
	w.applyQuietly(res)
}

// applyQuietly applies a plan; the checks of apply run only under Gomega.
func (w *world) applyQuietly(res Result) {
	w.lastSpecTotal = 0
	for _, rs := range w.rss {
		w.lastSpecTotal += *rs.Spec.Replicas
	}
	for _, a := range res.Actions {
		switch a := a.(type) {
		case CreateReplicaSet:
			rs := a.ReplicaSet.DeepCopy()
			w.created++
			rs.CreationTimestamp = metav1.Time{Time: w.now.Add(time.Duration(w.created) * time.Millisecond)}
			w.rss = append(w.rss, rs)
		case ScaleReplicaSet:
			rs := w.rs(a.Name)
			if w.checked {
				Expect(*rs.Spec.Replicas).To(Equal(a.From), "the planner scaled %s from what it observed", a.Name)
			}
			rs.Spec.Replicas = ptr.To(a.To)
		case DeleteReplicaSet:
			for i, rs := range w.rss {
				if rs.Name == a.Name {
					w.rss = append(w.rss[:i], w.rss[i+1:]...)
					break
				}
			}
		case SetRevision:
			w.rs(a.Name).Annotations[RevisionAnnotation] = a.Revision
		case SyncPodMetadata:
			rs := w.rs(a.ReplicaSet)
			rs.Spec.Template.Labels, rs.Spec.Template.Annotations = withoutRoleMetadata(rs.Spec.Template.Labels, rs.Spec.Template.Annotations, a.From)
			rs.Spec.Template.Labels, rs.Spec.Template.Annotations = withRoleMetadata(rs.Spec.Template.Labels, rs.Spec.Template.Annotations, a.To)
			rs.Annotations[EphemeralMetadataAnnotation] = EncodeMetadata(a.To)
		case CreateAnalysisRun:
			w.runs = append(w.runs, a.Run.DeepCopy())
		case DeleteAnalysisRun:
			for i, run := range w.runs {
				if run.Name == a.Name {
					w.runs = append(w.runs[:i], w.runs[i+1:]...)
					break
				}
			}
		case TerminateAnalysisRun:
			for _, run := range w.runs {
				if run.Name == a.Name {
					run.Spec.Terminate = true
				}
			}
		case ScaleDeployment:
			w.workload.Spec.Replicas = ptr.To(a.To)
		case SetServiceSelector:
			svc := w.services[a.Service]
			svc.Spec.Selector[PodTemplateHashLabel] = a.Hash
			if svc.Annotations == nil {
				svc.Annotations = map[string]string{}
			}
			svc.Annotations[ManagedByAnnotation] = w.ro.Name
		case SetTrafficWeight:
			w.setTrafficWeight(a)
		case SetScaleDownDeadline:
			rs := w.rs(a.Name)
			if a.Deadline == "" {
				delete(rs.Annotations, ScaleDownDeadlineAnnotation)
			} else {
				rs.Annotations[ScaleDownDeadlineAnnotation] = a.Deadline
			}
		default:
			panic(fmt.Sprintf("unknown action %T", a))
		}
	}
	w.ro.Status = res.Status
	w.events = append(w.events, res.Events...)
}

func (w *world) rs(name string) *appsv1.ReplicaSet {
	for _, rs := range w.rss {
		if rs.Name == name {
			return rs
		}
	}
	panic("no ReplicaSet " + name)
}

// settle makes every ReplicaSet's pods exist and be available.
func (w *world) settle() {
	for _, rs := range w.rss {
		n := *rs.Spec.Replicas
		rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = n, n, n
	}
}

// run alternates planning and settling until a plan has nothing to do.
func (w *world) run() {
	if !w.runQuietly() {
		Fail("the rollout did not settle in 50 reconciles")
	}
}

// runQuietly is run without Gomega, for benchmarks; it reports whether the
// rollout settled.
func (w *world) runQuietly() bool {
	for range 50 {
		before := w.ro.Status.DeepCopy()
		res := Plan(w.observe())
		w.applyQuietly(res)
		w.settle()
		if len(res.Actions) == 0 && apiequality.Semantic.DeepEqual(before, &res.Status) {
			return true // nothing left to do until something changes
		}
	}
	return false
}

// counts returns spec.replicas by image, for assertions that read as the
// user thinks: how many pods of v1 and of v2.
func (w *world) counts() map[string]int32 {
	out := map[string]int32{}
	for _, rs := range w.rss {
		if n := *rs.Spec.Replicas; n > 0 {
			out[rs.Spec.Template.Spec.Containers[0].Image] += n
		}
	}
	return out
}

// setImage changes the Rollout's template, as a new commit does.
func (w *world) setImage(image string) {
	w.ro.Spec.Template.Spec.Containers[0].Image = image
	w.ro.Generation++
}

// setTrafficWeight does what the Gateway API router does to the routes.
func (w *world) setTrafficWeight(a SetTrafficWeight) {
	settings, _ := traffic.SettingsOf(w.ro)
	w.trafficLog = append(w.trafficLog, a.Weight)
	for i := range w.routes {
		route := &w.routes[i]
		for _, rule := range route.Rules {
			if !(traffic.Route{Rules: []traffic.Rule{rule}}).Serves(settings.CanaryService, settings.StableService) {
				continue // a rule that does not send to both is not weighted
			}
			for j := range rule.Backends {
				switch rule.Backends[j].Name {
				case settings.CanaryService:
					rule.Backends[j].Weight = ptr.To(a.Weight)
				case settings.StableService:
					rule.Backends[j].Weight = ptr.To(settings.MaxWeight - a.Weight)
				}
			}
		}
		if route.Labels == nil {
			route.Labels = map[string]string{}
		}
		if a.InProgress {
			route.Labels[settings.LabelKey] = settings.LabelValue
		} else {
			delete(route.Labels, settings.LabelKey)
		}
	}
}

func copyRoute(r traffic.Route) traffic.Route {
	out := traffic.Route{Key: r.Key, Labels: map[string]string{}}
	for k, v := range r.Labels {
		out.Labels[k] = v
	}
	for _, rule := range r.Rules {
		out.Rules = append(out.Rules, traffic.Rule{Name: rule.Name, Backends: append([]traffic.Backend(nil), rule.Backends...)})
	}
	return out
}
