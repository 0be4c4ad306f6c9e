package application

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/internal/instance"
)

// ownedWatches watches the kinds Applications applied, by metadata only and
// only objects labelled as an Application's, and wakes the owning
// Application on every change or deletion: self-heal in seconds, not at
// the next poll. A kind is watched from the first sync that applies it.
//
// It also notes, per Application, which objects changed and how, so a
// reconcile re-checks those alone: an object whose spec changed, or that
// was deleted, is dirty (a dry run tells whether it drifted); one whose
// status alone changed only needs its health read again. An update that
// leaves the spec as it was but changes labels or annotations is noted
// with their keys: it is drift only if the render sets one of them (a
// server-side apply leaves others' keys alone) or the comparison reads it
// (see relabelled), which a reconcile tells once it has rendered.
// Kubernetes' deployment controller writes
// deployment.kubernetes.io/revision with every Deployment's first status,
// and that alone must not cost a dry run. The controller's own creations
// are expected by resource version and wake nothing, and so are the
// status changes a reconcile has read already (seen).
type ownedWatches struct {
	cache      cache.Cache
	controller controller.Controller
	mu         sync.Mutex
	watched    map[schema.GroupVersionKind]bool
	changes    map[types.NamespacedName]*changes
	// expected holds the resource versions the controller's own writes
	// made, by object.
	expected map[string]string
	// read holds, by object, the resource version a reconcile last read
	// its health at, until an event of a newer one: a status change whose
	// event comes after the read that saw it needs no read of its own.
	read map[string]string
	// owner is the door's pair of labels, which name an object's
	// Application.
	owner gitops.Owner
	// scope is the manager's: with a shard, only the shard's objects are
	// watched, which are those its Applications applied (Desired labels
	// them so).
	scope instance.Scope
	// readTimeout, when set, bounds a read from the cache: a registered
	// cluster's cache waits for a kind's first list, which an unreachable
	// cluster never gives.
	readTimeout time.Duration
}

// changes are what happened to one Application's objects since its last
// reconcile took them.
type changes struct {
	// woken says that a watch event woke the reconcile, even if every
	// change it noted was read already.
	woken bool
	dirty map[string]bool // by refKey
	// status holds the objects whose status alone changed, by refKey,
	// with the resource version of the last such change.
	status map[string]string
	// metadata are, by refKey, the labels and annotations that updates
	// which left the spec as it was added, changed or removed.
	metadata map[string]map[metadataKey]bool
}

// metadataKey is one label or annotation, by its key.
type metadataKey struct {
	annotation bool
	key        string
}

func noChanges() changes {
	return changes{dirty: map[string]bool{}, status: map[string]string{}, metadata: map[string]map[metadataKey]bool{}}
}

// anyMetadata says whether a label or annotation changed on any object.
func (c changes) anyMetadata() bool { return len(c.metadata) > 0 }

// relabelled says whether the labels and annotations that changed on the
// object of key may have made it drift from its render: a key the render
// sets may have been changed by hand, and one the comparison reads on the
// live object (gitops.ComparesLiveMetadata: the rollout controller's
// marks) changes what counts as drift. Any other key is another
// manager's, which a server-side apply leaves alone, unless every key
// counts (anyKey): an object written whole drops the keys it does not
// set, and an ignoreDifferences expression may read any.
func (c changes) relabelled(key string, rendered *unstructured.Unstructured, anyKey bool) bool {
	labels, annotations := rendered.GetLabels(), rendered.GetAnnotations()
	for m := range c.metadata[key] {
		set := labels
		if m.annotation {
			set = annotations
		}
		if _, ours := set[m.key]; ours || anyKey || gitops.ComparesLiveMetadata(m.annotation, m.key) {
			return true
		}
	}
	return false
}

// update is what an update changed in an owned object.
type update struct {
	// spec is true when the object may need an apply: its generation
	// moved, or its deletion began. A kind without generations (a
	// ConfigMap) has no status, so any update of it counts.
	spec bool
	// metadata are the labels and annotations added, changed or removed.
	metadata []metadataKey
}

// updateOf tells what an update changed, from the object before and after.
func updateOf(old, updated client.Object) update {
	if updated.GetGeneration() == 0 || old.GetGeneration() != updated.GetGeneration() ||
		!old.GetDeletionTimestamp().Equal(updated.GetDeletionTimestamp()) {
		return update{spec: true}
	}
	return update{metadata: append(changedKeys(false, old.GetLabels(), updated.GetLabels()),
		changedKeys(true, old.GetAnnotations(), updated.GetAnnotations())...)}
}

// changedKeys are the keys added, changed or removed between two maps of
// labels or of annotations, sorted.
func changedKeys(annotation bool, old, updated map[string]string) []metadataKey {
	var out []metadataKey
	for _, k := range slices.Sorted(maps.Keys(updated)) {
		if v, ok := old[k]; !ok || v != updated[k] {
			out = append(out, metadataKey{annotation: annotation, key: k})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := updated[k]; !ok {
			out = append(out, metadataKey{annotation: annotation, key: k})
		}
	}
	return out
}

// newOwnedWatches makes the watches' cache: cluster-wide, or only namespace
// when one is given (namespaced mode).
func newOwnedWatches(mgr ctrl.Manager, c controller.Controller, namespace string, owner gitops.Owner, scope instance.Scope) (*ownedWatches, error) {
	var namespaces []string
	if namespace != "" {
		namespaces = []string{namespace}
	}
	opts, err := ownedCacheOptions(mgr.GetScheme(), mgr.GetRESTMapper(), namespaces, owner, scope)
	if err != nil {
		return nil, err
	}
	objects, err := cache.New(mgr.GetConfig(), opts)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(objects); err != nil {
		return nil, err
	}
	return newOwned(objects, c, owner, scope), nil
}

// ownedCacheOptions are the options of a watches' cache: metadata of
// objects labelled as owner's, in the scope's shard, in namespaces when
// given.
func ownedCacheOptions(scheme *runtime.Scheme, mapper meta.RESTMapper, namespaces []string, owner gitops.Owner, scope instance.Scope) (cache.Options, error) {
	owned, err := labels.NewRequirement(owner.NameLabel(), selection.Exists, nil)
	if err != nil {
		return cache.Options{}, err
	}
	opts := cache.Options{
		Scheme: scheme, Mapper: mapper,
		DefaultLabelSelector: scope.InShard(labels.NewSelector().Add(*owned)),
		DefaultTransform:     cache.TransformStripManagedFields(),
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts, nil
}

// newRemoteWatches makes the watches of a registered cluster (clusters.go):
// a cache of its own, started now and stopped with ctx, whose events wake
// Applications through the same controller. A read from it waits for a
// kind's first list no longer than the cluster's timeout.
func newRemoteWatches(ctx context.Context, cfg *rest.Config, httpClient *http.Client, scheme *runtime.Scheme, mapper meta.RESTMapper,
	c controller.Controller, namespaces []string, timeout time.Duration, owner gitops.Owner, scope instance.Scope) (*ownedWatches, error) {
	opts, err := ownedCacheOptions(scheme, mapper, namespaces, owner, scope)
	if err != nil {
		return nil, err
	}
	opts.HTTPClient = httpClient
	objects, err := cache.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	go func() {
		if err := objects.Start(ctx); err != nil {
			log.FromContext(ctx).Error(err, "the watches of a registered cluster stopped", "server", cfg.Host)
		}
	}()
	w := newOwned(objects, c, owner, scope)
	w.readTimeout = timeout
	return w, nil
}

func newOwned(c cache.Cache, ctl controller.Controller, owner gitops.Owner, scope instance.Scope) *ownedWatches {
	return &ownedWatches{cache: c, controller: ctl, watched: map[schema.GroupVersionKind]bool{},
		changes: map[types.NamespacedName]*changes{}, expected: map[string]string{}, read: map[string]string{}, owner: owner, scope: scope}
}

// watch starts watching kinds not watched yet.
func (w *ownedWatches) watch(kinds []schema.GroupVersionKind) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, gvk := range kinds {
		if w.watched[gvk] {
			continue
		}
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(gvk)
		if err := w.controller.Watch(source.Kind[client.Object](w.cache, meta, w.handler(gvk))); err != nil {
			return err
		}
		w.watched[gvk] = true
	}
	return nil
}

// handler maps an event on an object of gvk to its Application, noting
// what changed.
func (w *ownedWatches) handler(gvk schema.GroupVersionKind) handler.EventHandler {
	note := func(obj client.Object, u update, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if app, ok := w.noteChange(gvk, obj, u); ok {
			q.Add(reconcile.Request{NamespacedName: app})
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			note(e.Object, update{spec: true}, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			note(e.ObjectNew, updateOf(e.ObjectOld, e.ObjectNew), q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			w.forgetExpected(refOfMeta(gvk, e.Object))
			note(e.Object, update{spec: true}, q)
		},
	}
}

// noteChange records a change to an owned object and names its
// Application; a change the controller made itself wakes nothing.
func (w *ownedWatches) noteChange(gvk schema.GroupVersionKind, obj client.Object, u update) (types.NamespacedName, bool) {
	app, ok := w.owner.Of(obj.GetLabels())
	if !ok {
		return types.NamespacedName{}, false
	}
	key := refKey(refOfMeta(gvk, obj))
	w.mu.Lock()
	defer w.mu.Unlock()
	if version, ok := w.expected[key]; ok && (version == obj.GetResourceVersion() || version == creating) {
		delete(w.expected, key)
		return app, false
	}
	if read, ok := w.read[key]; ok {
		if notNewer(obj.GetResourceVersion(), read) {
			if !u.spec && len(u.metadata) == 0 {
				return app, false // a status a reconcile read already
			}
		} else {
			delete(w.read, key) // every event from now on is newer
		}
	}
	c := w.changes[app]
	if c == nil {
		fresh := noChanges()
		c = &fresh
		w.changes[app] = c
	}
	c.woken = true
	if u.spec {
		c.dirty[key] = true
		return app, true
	}
	c.status[key] = obj.GetResourceVersion()
	if len(u.metadata) > 0 && c.metadata[key] == nil {
		c.metadata[key] = map[metadataKey]bool{}
	}
	for _, m := range u.metadata {
		c.metadata[key][m] = true
	}
	return app, true
}

// creating stands for the resource version of an object the controller is
// creating: its watch event may come before the create returns.
const creating = "creating"

// expectCreate notes that the controller creates an object, so the watch
// event of that creation is not taken for someone else's change. The
// object did not exist, so any event on it meanwhile is the creation's.
func (w *ownedWatches) expectCreate(ref gitopsv1alpha1.ObjectRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expected[refKey(ref)] = creating
}

// created records the resource version a creation made, unless its event
// came already; an empty version (the creation failed) expects nothing.
func (w *ownedWatches) created(ref gitopsv1alpha1.ObjectRef, version string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := refKey(ref)
	switch {
	case w.expected[key] != creating:
	case version == "":
		delete(w.expected, key)
	default:
		w.expected[key] = version
	}
}

func (w *ownedWatches) forgetExpected(ref gitopsv1alpha1.ObjectRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.expected, refKey(ref))
	delete(w.read, refKey(ref))
}

// seen records that a reconcile of app read the object of ref at version,
// for its health: a status change up to that version, noted since the
// reconcile began or whose event is still to come, needs no read of its
// own. Without it, every status change a long reconcile read as it went
// would be read again by the next one.
func (w *ownedWatches) seen(app types.NamespacedName, ref gitopsv1alpha1.ObjectRef, version string) {
	if version == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	key := refKey(ref)
	if c := w.changes[app]; c != nil && !c.dirty[key] && len(c.metadata[key]) == 0 {
		if noted, ok := c.status[key]; ok && notNewer(noted, version) {
			delete(c.status, key)
		}
	}
	if read, ok := w.read[key]; !ok || notNewer(read, version) {
		w.read[key] = version
	}
}

// notNewer reports whether resource version a of an object is not newer
// than b: the same, or older, as the API server's versions of one
// resource compare (as integers: resourceversion.CompareResourceVersion).
// Versions that do not compare are the same or not.
func notNewer(a, b string) bool {
	if a == b {
		return true
	}
	order, err := resourceversion.CompareResourceVersion(a, b)
	return err == nil && order < 0
}

// take returns what changed for an Application since the last call, and
// starts noting afresh.
func (w *ownedWatches) take(app types.NamespacedName) changes {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.changes[app]
	delete(w.changes, app)
	if c == nil {
		return noChanges()
	}
	return *c
}

// putBack returns changes a reconcile took and did not handle, because it
// failed.
func (w *ownedWatches) putBack(app types.NamespacedName, taken changes) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.changes[app]
	if c == nil {
		fresh := noChanges()
		c = &fresh
		w.changes[app] = c
	}
	c.woken = c.woken || taken.woken
	maps.Copy(c.dirty, taken.dirty)
	maps.Copy(c.status, taken.status)
	for key, keys := range taken.metadata {
		if c.metadata[key] == nil {
			c.metadata[key] = map[metadataKey]bool{}
		}
		maps.Copy(c.metadata[key], keys)
	}
}

// forget drops what was noted for an Application that is gone.
func (w *ownedWatches) forget(app types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.changes, app)
}

// watching reports whether every kind of refs is watched, so a change to
// any of them would have been seen.
func (w *ownedWatches) watching(refs []gitopsv1alpha1.ObjectRef) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range refs {
		if !w.watched[schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}] {
			return false
		}
	}
	return true
}

// exists reports, from the watches' cache, whether the cluster holds an
// object labelled as an Application's; known is false when the cache
// cannot tell (a namespace it does not serve, a kind it cannot list).
func (w *ownedWatches) exists(ctx context.Context, ref gitopsv1alpha1.ObjectRef) (exists, known bool) {
	if w.readTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.readTimeout)
		defer cancel()
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind})
	err := w.cache.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, m)
	switch {
	case err == nil:
		return true, true
	case client.IgnoreNotFound(err) == nil:
		return false, true
	default:
		return false, false
	}
}

func refOfMeta(gvk schema.GroupVersionKind, obj client.Object) gitopsv1alpha1.ObjectRef {
	return gitopsv1alpha1.ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// refKey identifies an object whatever the version it was applied at.
func refKey(r gitopsv1alpha1.ObjectRef) string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}
