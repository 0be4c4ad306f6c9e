// Package plan decides what a Rollout's controller does next. It is pure: a
// function from what was observed (the Rollout, its ReplicaSets, Services and
// AnalysisRuns, and the time) to an ordered list of actions, the new status,
// the events worth telling a person, and when to look again. No client, no
// context, no logger; the controller executes the plan.
package plan

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sluicehq/sluice/internal/rolloutmeta"
	"github.com/sluicehq/sluice/traffic"
)

// RevisionAnnotation numbers a ReplicaSet's revision of the Rollout.
const RevisionAnnotation = rolloutmeta.RevisionAnnotation

// Observation is everything the planner reads.
type Observation struct {
	Rollout *rolloutsv1alpha1.Rollout
	// ReplicaSets are the ones the Rollout controls (its controller owner
	// reference), in any order.
	ReplicaSets []*appsv1.ReplicaSet
	// Services holds the Services the strategy names, by name; a name
	// missing from the map was not found.
	Services map[string]*corev1.Service
	// ManagedServices are the Services of the Rollout's namespace that
	// carry its managed-by annotation, whether its strategy names them or
	// not (any more).
	ManagedServices []*corev1.Service
	// AnalysisRuns are the ones the Rollout owns.
	AnalysisRuns []*rolloutsv1alpha1.AnalysisRun
	// Experiments are the ones the Rollout owns (its experiment steps').
	Experiments []*rolloutsv1alpha1.Experiment
	// Templates and ClusterTemplates are the analysis templates the
	// Rollout's steps name, by name; a name missing was not found.
	Templates        map[string]*rolloutsv1alpha1.AnalysisTemplate
	ClusterTemplates map[string]*rolloutsv1alpha1.ClusterAnalysisTemplate
	// Workload is the Deployment spec.workloadRef names, or nil when there
	// is no reference or it was not found.
	Workload *appsv1.Deployment
	// Pods are the pods of the Rollout's ReplicaSets, read only while a
	// restart is pending (see RestartPending).
	Pods []*corev1.Pod
	// Orphans are ReplicaSets in the namespace that the Rollout's selector
	// matches and that no controller owns, such as those left by
	// `kubectl delete rollout --cascade=orphan`.
	Orphans []*appsv1.ReplicaSet
	// Routes are the Gateway API routes the Rollout's traffic routing
	// names, as read; MissingRoutes are those that do not exist.
	Routes        []traffic.Route
	MissingRoutes []traffic.RouteKey
	// Unreadable, when set, names a field the API server stored but that
	// does not decode, such as a resource quantity "invalid" (the CRD
	// leaves quantities unchecked): Rollout holds the rest of the object
	// without it, and the Rollout is InvalidSpec.
	Unreadable *field.Error
	Now        time.Time
}

// Result is the plan: actions to execute in order, then the status to write.
type Result struct {
	Actions []Action
	// Status is the complete new status. The controller writes it only when
	// it differs from the observed one.
	Status rolloutsv1alpha1.RolloutStatus
	// Events are the transitions a person cares about.
	Events []Event
	// RequeueAfter, when not zero, is when a timer (a pause) runs out.
	RequeueAfter time.Duration
}

// Action is one write the controller makes.
type Action interface {
	// String describes the action for logs and test failures.
	String() string
}

// CreateReplicaSet creates a ReplicaSet for the current pod template.
type CreateReplicaSet struct {
	ReplicaSet *appsv1.ReplicaSet
}

// ScaleReplicaSet sets a ReplicaSet's spec.replicas.
type ScaleReplicaSet struct {
	Name     string
	From, To int32
}

// DeleteReplicaSet removes an old ReplicaSet past revisionHistoryLimit.
type DeleteReplicaSet struct {
	Name string
}

// SetRevision renumbers a ReplicaSet that becomes current again (an undo to
// an older template) so its revision is the newest.
type SetRevision struct {
	Name     string
	Revision string
}

// AdoptReplicaSet makes the Rollout the controller of an orphaned
// ReplicaSet, so a Rollout deleted with its ReplicaSets orphaned and applied
// again takes them back instead of starting over.
type AdoptReplicaSet struct {
	Name string
}

func (a AdoptReplicaSet) String() string { return "adopt ReplicaSet " + a.Name }

// SetServiceSelector points a Service at one revision's pods.
type SetServiceSelector struct {
	Service string
	Hash    string
}

func (a CreateReplicaSet) String() string {
	return "create ReplicaSet " + a.ReplicaSet.Name + " with " + itoa(*a.ReplicaSet.Spec.Replicas) + " replicas"
}
func (a ScaleReplicaSet) String() string {
	return "scale ReplicaSet " + a.Name + " from " + itoa(a.From) + " to " + itoa(a.To)
}
func (a DeleteReplicaSet) String() string { return "delete ReplicaSet " + a.Name }
func (a SetRevision) String() string {
	return "set revision of ReplicaSet " + a.Name + " to " + a.Revision
}
func (a SetServiceSelector) String() string {
	return "point Service " + a.Service + " at " + rolloutsv1alpha1.DefaultRolloutUniqueLabelKey + "=" + a.Hash
}

// Event is a Kubernetes event to record on the Rollout.
type Event struct {
	Warning bool
	Reason  string
	Message string
}

// ServiceNames are the Services a Rollout's strategy names and steers: the
// canary and stable Services, or the active and preview ones.
func ServiceNames(ro *rolloutsv1alpha1.Rollout) []string {
	var names []string
	switch bg, canary := ro.Spec.Strategy.BlueGreen, ro.Spec.Strategy.Canary; {
	case bg != nil:
		names = []string{bg.ActiveService, bg.PreviewService}
	case canary != nil:
		names = []string{canary.CanaryService, canary.StableService}
	}
	var named []string
	for _, name := range names {
		if name != "" {
			named = append(named, name)
		}
	}
	return named
}
