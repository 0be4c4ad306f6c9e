package plan

import (
	"encoding/json"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	jsonpatch "github.com/evanphx/json-patch/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

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
	runs []*rolloutsv1alpha1.AnalysisRun
	// experiments are the Experiments of experiment steps.
	experiments []*rolloutsv1alpha1.Experiment
	templates   map[string]*rolloutsv1alpha1.AnalysisTemplate
	// routes are the Gateway API HTTPRoutes, which plans change with the
	// router's JSON patches; trafficLog records each weight a plan set.
	routes        []*gatewayv1.HTTPRoute
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
		route, err := traffic.FromHTTPRoute(r.DeepCopy(), w.ro.Namespace)
		if err != nil {
			panic(err)
		}
		routes = append(routes, route)
	}
	var managed []*corev1.Service
	for _, svc := range w.services {
		if svc.Annotations[rolloutsv1alpha1.ManagedByRolloutsKey] != "" {
			managed = append(managed, svc)
		}
	}
	return Observation{Rollout: w.ro.DeepCopy(), ReplicaSets: w.rss, Services: w.services, ManagedServices: managed, Workload: w.workload,
		AnalysisRuns: w.runs, Experiments: w.experiments, Templates: w.templates, Routes: routes, MissingRoutes: w.missingRoutes, Now: w.now}
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
		case SupersedeAnalysisRun:
			for _, run := range w.runs {
				if run.Name == a.Name {
					if run.Annotations == nil {
						run.Annotations = map[string]string{}
					}
					run.Annotations[SupersededAnnotation] = "true"
				}
			}
		case TerminateAnalysisRun:
			for _, run := range w.runs {
				if run.Name == a.Name {
					run.Spec.Terminate = true
				}
			}
		case CreateExperiment:
			w.experiments = append(w.experiments, a.Experiment.DeepCopy())
		case TerminateExperiment:
			w.experiment(a.Name).Spec.Terminate = true
		case DeleteExperiment:
			for i, ex := range w.experiments {
				if ex.Name == a.Name {
					w.experiments = append(w.experiments[:i], w.experiments[i+1:]...)
					break
				}
			}
		case SupersedeExperiment:
			w.experiment(a.Name).Annotations[SupersededAnnotation] = "true"
		case ScaleDeployment:
			w.workload.Spec.Replicas = ptr.To(a.To)
		case SetServiceSelector:
			svc := w.services[a.Service]
			svc.Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] = a.Hash
			if svc.Annotations == nil {
				svc.Annotations = map[string]string{}
			}
			svc.Annotations[rolloutsv1alpha1.ManagedByRolloutsKey] = w.ro.Name
		case ReleaseService:
			svc := w.services[a.Name]
			delete(svc.Spec.Selector, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey)
			delete(svc.Annotations, rolloutsv1alpha1.ManagedByRolloutsKey)
		case SetTrafficWeight:
			w.trafficLog = append(w.trafficLog, a.Weight)
			w.patchRoutes(func(s *traffic.Settings, r traffic.Route) []traffic.Op {
				return traffic.WeightPatch(r, s, a.Weights(), a.InProgress)
			})
		case SetManagedRoutes:
			w.patchRoutes(func(s *traffic.Settings, r traffic.Route) []traffic.Op {
				ops, err := traffic.ManagedRulesPatch(r, s, a.Rules)
				if err != nil {
					panic(err)
				}
				return ops
			})
		case SetScaleDownDeadline:
			rs := w.rs(a.Name)
			if a.Deadline == "" {
				delete(rs.Annotations, rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey)
			} else {
				rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = a.Deadline
			}
		default:
			panic(fmt.Sprintf("unknown action %T", a))
		}
	}
	w.ro.Status = res.Status
	w.events = append(w.events, res.Events...)
}

func (w *world) experiment(name string) *rolloutsv1alpha1.Experiment {
	for _, ex := range w.experiments {
		if ex.Name == name {
			return ex
		}
	}
	panic("no Experiment " + name)
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

// run alternates planning and settling until a plan has nothing to do, and
// checks that such a plan, which changes nothing, records no event.
func (w *world) run() {
	GinkgoHelper()
	last, settled := w.runUntilSettled()
	if !settled {
		Fail("the rollout did not settle in 50 reconciles")
	}
	Expect(last.Events).To(BeEmpty(), "a plan that changes nothing records no event")
}

// runQuietly is run without Gomega, for benchmarks; it reports whether the
// rollout settled.
func (w *world) runQuietly() bool {
	_, settled := w.runUntilSettled()
	return settled
}

// runUntilSettled plans, applies and settles until a plan has nothing to
// do, which it returns, or 50 times.
func (w *world) runUntilSettled() (Result, bool) {
	var res Result
	for range 50 {
		before := w.ro.Status.DeepCopy()
		res = Plan(w.observe())
		w.applyQuietly(res)
		w.settle()
		if len(res.Actions) == 0 && apiequality.Semantic.DeepEqual(before, &res.Status) {
			return res, true // nothing left to do until something changes
		}
	}
	return res, false
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

// patchRoutes applies to every route the JSON patch the router would send.
func (w *world) patchRoutes(patchOf func(*traffic.Settings, traffic.Route) []traffic.Op) {
	settings, _ := traffic.SettingsOf(w.ro)
	for i, obj := range w.routes {
		route, err := traffic.FromHTTPRoute(obj, w.ro.Namespace)
		if err != nil {
			panic(err)
		}
		ops := patchOf(settings, route)
		if len(ops) == 0 {
			continue
		}
		doc, _ := json.Marshal(obj)
		opsJSON, _ := json.Marshal(ops)
		patch, err := jsonpatch.DecodePatch(opsJSON)
		if err != nil {
			panic(err)
		}
		patched, err := patch.Apply(doc)
		if err != nil {
			panic(fmt.Sprintf("the router's patch does not apply: %v\n%s", err, opsJSON))
		}
		w.routes[i] = &gatewayv1.HTTPRoute{}
		if err := json.Unmarshal(patched, w.routes[i]); err != nil {
			panic(err)
		}
	}
}
