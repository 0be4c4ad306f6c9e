package gitops

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/jsondiff"
	"github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
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

// NewSyncer makes a Syncer over a client, for objects labelled as owner's.
func NewSyncer(c client.Client, owner Owner) *Syncer {
	// The poller waits for definitions (CRDs, namespaces) to be ready before
	// the objects that need them are applied.
	poller := polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{})
	manager := ssa.NewResourceManager(c, poller, ssa.Owner{Field: FieldManager, Group: owner.Group})
	// Drift checks (a read and a dry-run apply per object) run side by side;
	// the writes that follow stay in order.
	manager.SetConcurrency(driftCheckConcurrency)
	return &Syncer{Client: c, manager: manager}
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

// ComparesLiveMetadata reports whether the comparison of an object with
// Git's reads the live object's label, or annotation, of key: the marks
// RolloutOwnedFields select by, whose coming or going alone changes what
// counts as drift (a route's rules held while the canary runs are Git's
// again once its mark goes).
func ComparesLiveMetadata(annotation bool, key string) bool {
	keys := comparedMetadata()
	if annotation {
		return keys.annotations[key]
	}
	return keys.labels[key]
}

// metadataKeys are label and annotation keys.
type metadataKeys struct{ labels, annotations map[string]bool }

// comparedMetadata are the keys RolloutOwnedFields' selectors name.
var comparedMetadata = sync.OnceValue(func() metadataKeys {
	keys := metadataKeys{labels: map[string]bool{}, annotations: map[string]bool{}}
	add := func(into map[string]bool, selector string) {
		parsed, err := labels.Parse(selector)
		if err != nil {
			panic(fmt.Sprintf("RolloutOwnedFields: selector %q: %v", selector, err))
		}
		requirements, _ := parsed.Requirements()
		for _, r := range requirements {
			into[r.Key()] = true
		}
	}
	for _, rule := range RolloutOwnedFields {
		add(keys.labels, rule.Selector.LabelSelector)
		add(keys.annotations, rule.Selector.AnnotationSelector)
	}
	return keys
})

// ApplyOptions are how one Apply goes.
type ApplyOptions struct {
	// Timeout bounds the wait for definitions (CRDs, namespaces) to be
	// ready before the objects that need them.
	Timeout time.Duration
	// Ignore are the Application's ignoreDifferences: the fields they name
	// never count as drift, so an object whose only changes are there is
	// not written.
	Ignore *IgnoreRules
	// RespectIgnoreDifferences leaves the ignored fields of an object that
	// exists as they are live when the object is written for another
	// reason; without it Git's whole object is applied, as Argo CD does.
	// An object that is created gets Git's whole object either way.
	RespectIgnoreDifferences bool
	// Options are the Application's sync options; an object's own
	// (argocd.argoproj.io/sync-options) override them (SyncOptions.ForObject).
	Options SyncOptions
}

// Apply applies objects in stages and returns what it did to each, with
// the sync options of the Application and of each object: objects that
// ask for Replace are written whole (replace.go), the others applied
// server-side; Force recreates an object whose change an immutable field
// refuses.
func (s *Syncer) Apply(ctx context.Context, objects []*unstructured.Unstructured, o ApplyOptions) (*ssa.ChangeSet, error) {
	if err := copyable(objects); err != nil {
		return nil, err
	}
	opts := ssa.DefaultApplyOptions()
	opts.WaitTimeout = o.Timeout
	opts.DriftIgnoreRules = RolloutOwnedFields
	var applied, forced []*unstructured.Unstructured
	var definitions, replaced []*unstructured.Unstructured
	for _, u := range objects {
		own := o.Options.ForObject(u.GetAnnotations())
		switch {
		case own.Replace && utils.IsClusterDefinition(u):
			definitions = append(definitions, u)
		case own.Replace:
			replaced = append(replaced, u)
		case own.Force:
			forced = append(forced, u)
		default:
			applied = append(applied, u)
		}
	}
	changes := ssa.NewChangeSet()
	// Definitions first, as the staged apply orders them, and waited for:
	// the objects of their kinds and in them come next.
	if err := s.replaceAll(ctx, definitions, o.Options, changes); err != nil {
		return changes, err
	}
	if len(definitions) > 0 {
		if err := s.manager.WaitForSet(changes.ToObjMetadataSet(), ssa.WaitOptions{Interval: opts.WaitInterval, Timeout: o.Timeout}); err != nil {
			return changes, err
		}
	}
	// An object with Force (its own or the Application's) that exists
	// already is applied with Force before the stages: its kind and
	// namespace exist, since it does. A new one is only created, in its
	// stage, where Force has nothing to do.
	existing, err := s.splitExisting(ctx, forced)
	if err != nil {
		return changes, err
	}
	if len(existing) > 0 {
		forceOpts := opts
		forceOpts.Force = true
		cs, err := s.manager.ApplyAll(ctx, existing, forceOpts)
		if err != nil {
			return changes, err
		}
		changes.Append(cs.Entries)
	}
	for _, u := range forced {
		if !slices.Contains(existing, u) {
			applied = append(applied, u)
		}
	}
	if len(applied) > 0 {
		cs, err := s.applyServerSide(ctx, applied, opts, o)
		if cs != nil {
			changes.Append(cs.Entries)
		}
		if err != nil {
			return changes, err
		}
	}
	return changes, s.replaceAll(ctx, replaced, o.Options, changes)
}

// applyServerSide applies objects with server-side apply, staged, leaving
// the Application's ignored fields out of the drift check.
func (s *Syncer) applyServerSide(ctx context.Context, objects []*unstructured.Unstructured, opts ssa.ApplyOptions,
	o ApplyOptions) (*ssa.ChangeSet, error) {
	if o.Ignore.Empty() {
		return s.manager.ApplyAllStaged(ctx, objects, opts)
	}
	if o.RespectIgnoreDifferences {
		// The ssa engine leaves out of the comparison what the rules name
		// and, writing an object that drifted elsewhere, drops those
		// fields from it (another applier owns them) or sets them to the
		// live value: the object's ignored fields stay as they are.
		rules, err := s.ignoreRules(ctx, objects, o.Ignore)
		if err != nil {
			return nil, err
		}
		opts.DriftIgnoreRules = append(slices.Clip(RolloutOwnedFields), rules...)
		return s.manager.ApplyAllStaged(ctx, objects, opts)
	}
	// Git's whole object for what drifted outside the ignored fields:
	// which drifted is told with the rules, and the apply goes without
	// them, so it writes the ignored fields too.
	unchanged, write, err := s.untouched(ctx, objects, o.Ignore)
	if err != nil {
		return nil, err
	}
	changes := ssa.NewChangeSet()
	if len(write) > 0 {
		applied, err := s.manager.ApplyAllStaged(ctx, write, opts)
		if applied != nil {
			changes.Append(applied.Entries)
		}
		if err != nil {
			return changes, err
		}
	}
	changes.Append(unchanged)
	return changes, nil
}

// untouched splits objects into those that did not drift outside their
// ignored fields, with their change set entries, and those to write. An
// object whose dry run fails (its CRD or namespace comes in this apply)
// is written, and the apply tells the rest.
func (s *Syncer) untouched(ctx context.Context, objects []*unstructured.Unstructured, ignore *IgnoreRules) (
	[]ssa.ChangeSetEntry, []*unstructured.Unstructured, error) {
	entries := make([]*ssa.ChangeSetEntry, len(objects))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(driftCheckConcurrency)
	for i, o := range objects {
		g.Go(func() error {
			opts, err := s.diffOptions(gctx, o, ignore)
			if err != nil {
				return err
			}
			entry, _, _, err := s.manager.Diff(gctx, o.DeepCopy(), opts)
			if err == nil {
				entries[i] = entry
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var unchanged []ssa.ChangeSetEntry
	var write []*unstructured.Unstructured
	for i, e := range entries {
		if e != nil && (e.Action == ssa.UnchangedAction || e.Action == ssa.SkippedAction) {
			unchanged = append(unchanged, *e)
			continue
		}
		write = append(write, objects[i])
	}
	return unchanged, write, nil
}

// ignoreRules are the ssa rules of the objects the Application's
// ignoreDifferences match, each selecting its object alone.
func (s *Syncer) ignoreRules(ctx context.Context, objects []*unstructured.Unstructured, ignore *IgnoreRules) ([]jsondiff.IgnoreRule, error) {
	var rules []jsondiff.IgnoreRule
	for _, o := range objects {
		rule, err := s.ruleFor(ctx, o, ignore)
		if err != nil {
			return nil, err
		}
		if rule != nil {
			rules = append(rules, *rule)
		}
	}
	return rules, nil
}

// ruleFor is the ssa rule of one object's ignored fields, reading the
// object's live state first when they depend on it.
func (s *Syncer) ruleFor(ctx context.Context, o *unstructured.Unstructured, ignore *IgnoreRules) (*jsondiff.IgnoreRule, error) {
	if ignore.Empty() {
		return nil, nil
	}
	var live *unstructured.Unstructured
	if ignore.NeedsLive(o) {
		live = &unstructured.Unstructured{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		err := s.Client.Get(ctx, client.ObjectKeyFromObject(o), live)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			live = nil // created by this apply: nothing live to ignore
		case err != nil:
			return nil, fmt.Errorf("reading %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	rule, err := ignore.Rule(o, live)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return rule, nil
}

// diffOptions are the dry-run options for one object: the rollout
// controller's fields and the object's ignored ones left out.
func (s *Syncer) diffOptions(ctx context.Context, o *unstructured.Unstructured, ignore *IgnoreRules) (ssa.DiffOptions, error) {
	opts := ssa.DefaultDiffOptions()
	opts.DriftIgnoreRules = RolloutOwnedFields
	rule, err := s.ruleFor(ctx, o, ignore)
	if err != nil {
		return opts, err
	}
	if rule != nil {
		opts.DriftIgnoreRules = append(slices.Clip(RolloutOwnedFields), *rule)
	}
	return opts, nil
}

// splitExisting returns the objects that exist in the cluster.
func (s *Syncer) splitExisting(ctx context.Context, objects []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	var existing []*unstructured.Unstructured
	for _, o := range objects {
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		err := s.Client.Get(ctx, client.ObjectKeyFromObject(o), live)
		switch {
		case err == nil:
			existing = append(existing, o)
		case !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err):
			return nil, fmt.Errorf("reading %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return existing, nil
}

// Drifted lists the objects whose live state differs from what applying
// them would make it, without writing anything: the drift a sync with
// selfHeal off reports. The fields ignore names are left out.
func (s *Syncer) Drifted(ctx context.Context, objects []*unstructured.Unstructured, ignore *IgnoreRules) ([]gitopsv1alpha1.ObjectRef, error) {
	diffs, err := s.Diff(ctx, objects, ignore)
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
// leaving out the fields the rollout controller owns and those ignore
// names (from the comparison and from Live and Desired).
func (s *Syncer) Diff(ctx context.Context, objects []*unstructured.Unstructured, ignore *IgnoreRules) ([]ObjectDiff, error) {
	if err := copyable(objects); err != nil {
		return nil, err
	}
	out := make([]ObjectDiff, 0, len(objects))
	for _, o := range objects {
		opts, err := s.diffOptions(ctx, o, ignore)
		if err != nil {
			return nil, err
		}
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

// Create applies objects the cluster does not hold yet, one request each:
// with nothing live to compare with, a dry run first would tell nothing.
// The requests go side by side (definitions, which others may need, go
// through Apply first). It returns each object's resource version as
// created, in order (empty for one that failed), so the watch event of
// each write can be told from someone else's change.
func (s *Syncer) Create(ctx context.Context, objects []*unstructured.Unstructured) ([]string, error) {
	if err := copyable(objects); err != nil {
		return nil, err
	}
	versions := make([]string, len(objects))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(driftCheckConcurrency)
	for i, o := range objects {
		g.Go(func() error {
			created := o.DeepCopy()
			if err := s.Client.Apply(gctx, client.ApplyConfigurationFromUnstructured(created),
				client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
				return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
			}
			versions[i] = created.GetResourceVersion()
			return nil
		})
	}
	return versions, g.Wait()
}

// Delete deletes objects and waits until they are gone, so a hook of the
// next run can take the name of the one it replaces.
func (s *Syncer) Delete(ctx context.Context, refs []gitopsv1alpha1.ObjectRef, timeout time.Duration) error {
	var deleted []*unstructured.Unstructured
	for _, ref := range refs {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind})
		u.SetNamespace(ref.Namespace)
		u.SetName(ref.Name)
		err := s.Client.Delete(ctx, u, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting %s %s: %w", ref.Kind, ref.Name, err)
		}
		if err == nil {
			deleted = append(deleted, u)
		}
	}
	if len(deleted) == 0 {
		return nil
	}
	return s.manager.WaitForTermination(deleted, ssa.WaitOptions{Interval: 500 * time.Millisecond, Timeout: timeout})
}
