package gitops

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/render"
	"github.com/sluicehq/sluice/traffic"
)

// driftCheckConcurrency is how many objects' drift is checked at once.
const driftCheckConcurrency = 8

// FieldManager is the one field manager Sluice applies objects with.
const FieldManager = "sluice"

// OwnerGroup prefixes the labels that tie an applied object to its
// Application: gitops.sluice.dev/name and gitops.sluice.dev/namespace.
const OwnerGroup = "gitops.sluice.dev"

// Syncer applies an Application's objects and prunes the stale ones, with
// server-side apply through Flux's ssa engine: only objects that drifted
// are written, custom resource definitions and namespaces go first.
type Syncer struct {
	// Client applies, reads and deletes objects: an uncached client, acting
	// as the Application's service account when it names one.
	Client  client.Client
	manager *ssa.ResourceManager
}

// NewSyncer makes a Syncer over a client.
func NewSyncer(c client.Client) *Syncer {
	// The poller waits for definitions (CRDs, namespaces) to be ready before
	// the objects that need them are applied.
	poller := polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{})
	manager := ssa.NewResourceManager(c, poller, ssa.Owner{Field: FieldManager, Group: OwnerGroup})
	// Drift checks (a read and a dry-run apply per object) run side by side;
	// the writes that follow stay in order.
	manager.SetConcurrency(driftCheckConcurrency)
	return &Syncer{Client: c, manager: manager}
}

// Label marks objects as an Application's.
func (s *Syncer) Label(objects []*unstructured.Unstructured, app *gitopsv1alpha1.Application) {
	s.manager.SetOwnerLabels(objects, app.Name, app.Namespace)
}

// RolloutOwnedFields are the fields the rollout controller sets, which a
// sync must neither apply nor count as drift: the rules of a route that
// carries the in-progress label hold the canary's weights and header rules,
// the selector of a Service a Rollout manages is pinned to one
// ReplicaSet's pods, and a workloadRef's Deployment is scaled down as the
// Rollout takes over. Git holds each of them (the rules and the selector
// are atomic in their schemas), so applying Git's value would undo the
// rollout controller's. (A Rollout's status is not in Git's objects, so
// server-side apply leaves it alone by itself.)
var RolloutOwnedFields = []jsondiff.IgnoreRule{{
	Paths: []string{"/spec/rules"},
	Selector: &jsondiff.Selector{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute|GRPCRoute",
		LabelSelector: traffic.DefaultInProgressLabelKey},
}, {
	// The same, when the Rollout names its own inProgressLabelKey: the
	// router then marks the route with this annotation too.
	Paths: []string{"/spec/rules"},
	Selector: &jsondiff.Selector{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute|GRPCRoute",
		AnnotationSelector: traffic.InProgressAnnotation},
}, {
	Paths:    []string{"/spec/selector"},
	Selector: &jsondiff.Selector{Kind: "Service", AnnotationSelector: rolloutsv1alpha1.ManagedByRolloutsKey},
}, {
	// A Deployment a Rollout's workloadRef scales down (scaleDown
	// onsuccess or progressively) carries the same annotation.
	Paths:    []string{"/spec/replicas"},
	Selector: &jsondiff.Selector{Group: "apps", Kind: "Deployment", AnnotationSelector: rolloutsv1alpha1.ManagedByRolloutsKey},
}}

// Apply applies objects in stages and returns what it did to each.
func (s *Syncer) Apply(ctx context.Context, objects []*unstructured.Unstructured, timeout time.Duration) (*ssa.ChangeSet, error) {
	if err := copyable(objects); err != nil {
		return nil, err
	}
	opts := ssa.DefaultApplyOptions()
	opts.WaitTimeout = timeout
	opts.DriftIgnoreRules = RolloutOwnedFields
	return s.manager.ApplyAllStaged(ctx, objects, opts)
}

// Drifted lists the objects whose live state differs from what applying
// them would make it, without writing anything: the drift a sync with
// selfHeal off reports.
func (s *Syncer) Drifted(ctx context.Context, objects []*unstructured.Unstructured) ([]gitopsv1alpha1.ObjectRef, error) {
	diffs, err := s.Diff(ctx, objects)
	if err != nil {
		return nil, err
	}
	var drifted []gitopsv1alpha1.ObjectRef
	for _, d := range diffs {
		if d.Action != ssa.UnchangedAction && d.Action != ssa.SkippedAction {
			drifted = append(drifted, d.Ref)
		}
	}
	return drifted, nil
}

// Prune deletes the stale objects that still carry app's labels and did not
// opt out of pruning. It returns the refs it left in place: opted out, or
// no longer the Application's, so the inventory keeps the first.
func (s *Syncer) Prune(ctx context.Context, stale []gitopsv1alpha1.ObjectRef, app *gitopsv1alpha1.Application,
	policy metav1.DeletionPropagation) (kept []gitopsv1alpha1.ObjectRef, deleted int, err error) {
	owner := s.manager.GetOwnerLabels(app.Name, app.Namespace)
	for _, ref := range stale {
		u, err := s.live(ctx, ref)
		if err != nil {
			return kept, deleted, err
		}
		if u == nil {
			continue
		}
		if !carries(u.GetLabels(), owner) {
			continue // someone else's now: not ours to delete, nor to track
		}
		if PruneDisabled(u.GetAnnotations()) {
			kept = append(kept, ref)
			continue
		}
		if err := s.Client.Delete(ctx, u, client.PropagationPolicy(policy)); client.IgnoreNotFound(err) != nil {
			return kept, deleted, fmt.Errorf("deleting %s %s: %w", ref.Kind, ref.Name, err)
		}
		deleted++
	}
	return kept, deleted, nil
}

// live reads the object of an inventory ref, or nil when it is gone.
func (s *Syncer) live(ctx context.Context, ref gitopsv1alpha1.ObjectRef) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind})
	err := s.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, u)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case meta.IsNoMatchError(err):
		// Its kind is gone (the CRD was deleted), and with it every
		// object of the kind: nothing to prune or delete, and no reason
		// to fail every sync from now on.
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s %s: %w", ref.Kind, ref.Name, err)
	}
	return u, nil
}

// ObjectDiff is what applying one object would do to it.
type ObjectDiff struct {
	Ref gitopsv1alpha1.ObjectRef
	// Action is created, configured or unchanged.
	Action ssa.Action
	// Live and Desired are set when configured, without managed fields and
	// with a Secret's values masked.
	Live, Desired *unstructured.Unstructured
}

// Diff tells, with server-side dry runs, what applying objects would do,
// leaving out the fields the rollout controller owns.
func (s *Syncer) Diff(ctx context.Context, objects []*unstructured.Unstructured) ([]ObjectDiff, error) {
	if err := copyable(objects); err != nil {
		return nil, err
	}
	opts := ssa.DefaultDiffOptions()
	opts.DriftIgnoreRules = RolloutOwnedFields
	out := make([]ObjectDiff, 0, len(objects))
	for _, o := range objects {
		entry, live, desired, err := s.manager.Diff(ctx, o, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, ObjectDiff{Ref: RefOf(o), Action: entry.Action, Live: live, Desired: desired})
	}
	return out, nil
}

// copyable refuses objects that hold a value that is not JSON-typed. The
// apply engine deep-copies each object in a goroutine of its own, where
// such a value panics beyond any recover and ends the manager; render
// normalizes what it makes, and this guard keeps any other producer's
// slip an error of one sync.
func copyable(objects []*unstructured.Unstructured) error {
	for _, o := range objects {
		if err := render.CheckJSONTyped("apply", o); err != nil {
			return err
		}
	}
	return nil
}
