// Package application is the Application controller: it fetches an
// Application's Git source, renders it, applies what changed with
// server-side apply, prunes what left Git, and reports sync, health and
// history. The work is done by gitops/source, gitops/render and gitops; this
// package puts them in order and writes the status.
package application

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/render"
	"github.com/sluicehq/sluice/gitops/source"
	"github.com/sluicehq/sluice/gitops/webhook"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/metrics"
)

// Name is the controller's name in --controllers, logs and events.
const Name = "application"

// The Application controller reads every kind: it watches, by metadata,
// each kind an Application applied (owned.go), and, for an Application
// that acts with the manager's own rights, reads live objects for diffs and
// health. It writes them as a service account it impersonates
// (spec.serviceAccountName, or --default-service-account; tenancy.go), so
// its own role holds no write on them. An installation that lets
// Applications act with the manager's rights grants writes separately, with
// config/rbac/application_write_all.yaml or the chart's
// application.writeAll.
//
// +kubebuilder:rbac:groups=gitops.sluice.dev,resources=applications,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitops.sluice.dev,resources=applications/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=gitops.sluice.dev,resources=applications/finalizers,verbs=update
// +kubebuilder:rbac:groups=*,resources=*,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=impersonate

// SyncRequestAnnotation asks for a sync now, as a person does with
// kubectl sluice app sync: a new value syncs the Application once, even
// one without automated sync, and is then recorded in
// status.lastHandledSyncRequest. RefreshRequestAnnotation (a push event's)
// and Argo CD's refresh annotation only ask to look now: the next
// reconcile asks the remote again and checks every object, whatever the
// interval, and syncs only what automated sync would.
const (
	SyncRequestAnnotation    = "gitops.sluice.dev/requested-at"
	RefreshRequestAnnotation = "gitops.sluice.dev/refresh-requested-at"
	// PruneRequestAnnotation "true" with a sync request also prunes, for an
	// Application whose automated sync does not (kubectl sluice app sync
	// --prune). It goes with the request it came with: a later refresh
	// never prunes.
	PruneRequestAnnotation  = "gitops.sluice.dev/requested-prune"
	argoCDRefreshAnnotation = "argocd.argoproj.io/refresh"
)

// waitRecheck is how often an Application with spec.wait looks at its
// objects' health while they are not healthy yet.
const waitRecheck = 5 * time.Second

// defaultTimeout bounds one fetch, render and apply when spec.timeout is
// unset.
const defaultTimeout = 5 * time.Minute

// maxTimeout bounds spec.timeout, which a tenant sets.
const maxTimeout = 30 * time.Minute

// Reconciler reconciles Applications.
type Reconciler struct {
	// Client writes Applications' status.
	Client client.Client
	// APIReader reads Applications and the Secrets of Git credentials,
	// around the cache.
	APIReader client.Reader
	// Config is what objects are applied with: as the manager, or as an
	// Application's service account.
	Config  *rest.Config
	Mapper  meta.RESTMapper
	Fetcher *source.Fetcher
	// AllowRemoteBases is the operator's choice to let kustomizations
	// reach outside their checkout.
	AllowRemoteBases bool
	// Tenancy is the operator's bound on what Applications may reach.
	Tenancy Tenancy
	// Namespace, in namespaced mode, is the one namespace served.
	Namespace string
	// InstanceID limits the controller to Applications labelled with it,
	// or to Applications with no instance label when empty
	// (instance.Selector).
	InstanceID string
	Recorder   recorder.EventRecorder
	Now        func() time.Time

	failures sync.Map // Application UID -> consecutive failed syncs
	resolved sync.Map // Application UID -> resolution: the last revision asked of the remote
	applied  sync.Map // Application UID -> "<commit>@<generation>" this process applied
	requests sync.Map // Application UID -> the sync request last handled
	// uids says whose entries the maps above hold, so they are dropped
	// when the Application is deleted (or recreated under its name).
	uids  sync.Map // types.NamespacedName -> types.UID
	owned *ownedWatches
}

// resolution is a revision the remote named, and when.
type resolution struct {
	source source.Revision
	url    string
	target string
	at     time.Time
}

// Options configure the Application controller.
type Options struct {
	// InstanceID, when set, limits the controller to Applications labelled
	// argo-rollouts.argoproj.io/controller-instance-id=<InstanceID>;
	// without, to Applications with no such label: the rule of Argo
	// Rollouts' objects, so two managers can share a cluster.
	InstanceID string
	// CacheDir keeps Git checkouts.
	CacheDir string
	// Namespace, when set, is namespaced mode: the controller watches only
	// that namespace, and the objects Applications apply are watched there
	// only. The manager's cache is limited likewise.
	Namespace string
	// GitMaxSize bounds one fetch and checkout, in bytes (source.DefaultMaxSize
	// when zero).
	GitMaxSize int64
	// AllowRemoteBases lets kustomizations load bases and files from
	// outside their repository; off, a reference to one fails the render.
	AllowRemoteBases bool
	// Tenancy is how far Applications may reach.
	Tenancy Tenancy
	// Concurrency is how many Applications sync at once (at least one):
	// a sync waits on Git and on health, and one slow repository must
	// not hold up every tenant's.
	Concurrency int
	// WebhookAddress, when set, is where the receiver of Git push events
	// listens: POST /hooks/git/<namespace>/<application>, checked with the
	// Application's own spec.webhook secret, and, when WebhookSecret (the
	// operator's) is set, POST /hooks/git for every Application.
	WebhookAddress string
	WebhookSecret  []byte
}

// Setup registers the Application controller, and the push-event receiver
// when an address is given.
func Setup(mgr ctrl.Manager, o Options) error {
	cacheDir := o.CacheDir
	r := &Reconciler{
		Client:           mgr.GetClient(),
		APIReader:        mgr.GetAPIReader(),
		Config:           mgr.GetConfig(),
		Mapper:           mgr.GetRESTMapper(),
		Fetcher:          &source.Fetcher{CacheDir: cacheDir, MaxSize: o.GitMaxSize},
		AllowRemoteBases: o.AllowRemoteBases,
		Tenancy:          o.Tenancy,
		Namespace:        o.Namespace,
		InstanceID:       o.InstanceID,
		Recorder:         mgr.GetEventRecorder("sluice-application"),
		Now:              time.Now,
	}
	// An Application's own status writes do not wake it: only a change of
	// its spec, of a sync request (an annotation), or of what it owns
	// (the owned watches) syncs before the retry or the interval is due.
	// Only this instance's Applications: the manager's cache holds no
	// other (controllers.CacheSelectors), and the predicate says so again.
	changed := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	c, err := ctrl.NewControllerManagedBy(mgr).Named(Name).
		For(&gitopsv1alpha1.Application{}, builder.WithPredicates(instance.Predicate(o.InstanceID), changed)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Concurrency, 1)}).Build(r)
	if err != nil {
		return err
	}
	if r.owned, err = newOwnedWatches(mgr, c, o.Namespace); err != nil {
		return err
	}
	metrics.Applications.Register(mgr.GetCache(), mgr.Elected())
	if o.WebhookAddress == "" {
		return nil
	}
	return mgr.Add(webhookServer(o.WebhookAddress, r.webhookReceiver(o.WebhookSecret, mgr.GetLogger().WithName("webhook"))))
}

// RequestRefresh asks every Application of a repository, named by any of
// its URLs, to look at Git now, through the refresh annotation: a push
// event brings a commit in at once, and syncs only what automated sync
// would. Only a person's sync request syncs an Application without it.
func (r *Reconciler) RequestRefresh(ctx context.Context, repoURLs []string) (int, error) {
	var apps gitopsv1alpha1.ApplicationList
	if err := r.Client.List(ctx, &apps); err != nil {
		return 0, err
	}
	asked := 0
	now := r.Now().UTC().Format(time.RFC3339Nano)
	for i := range apps.Items {
		app := &apps.Items[i]
		if !slices.ContainsFunc(repoURLs, func(u string) bool { return webhook.SameRepository(u, app.Spec.Source.RepoURL) }) {
			continue
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, RefreshRequestAnnotation, now)
		if err := r.Client.Patch(ctx, app, client.RawPatch(types.MergePatchType, []byte(patch))); client.IgnoreNotFound(err) != nil {
			return asked, err
		}
		asked++
	}
	return asked, nil
}

// remember notes that the Application of key has uid, forgetting what was
// kept for an earlier Application of the same name.
func (r *Reconciler) remember(key types.NamespacedName, uid types.UID) {
	if previous, loaded := r.uids.Swap(key, uid); loaded && previous.(types.UID) != uid {
		r.forgetUID(previous.(types.UID))
	}
}

// forget drops everything kept in memory for the Application of key, once
// it is deleted: a manager that outlives many Applications does not keep
// them all.
func (r *Reconciler) forget(key types.NamespacedName) {
	if uid, ok := r.uids.LoadAndDelete(key); ok {
		r.forgetUID(uid.(types.UID))
	}
	if r.owned != nil {
		r.owned.changed.Delete(key)
	}
	metrics.Applications.Forget(key)
}

func (r *Reconciler) forgetUID(uid types.UID) {
	for _, m := range []*sync.Map{&r.failures, &r.resolved, &r.applied, &r.requests} {
		m.Delete(uid)
	}
}

// failure is a sync that did not happen, and why.
type failure struct {
	reason string
	err    error
}

func (f *failure) Error() string { return f.err.Error() }

// Reconcile syncs an Application and writes its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, err error) {
	// Read around the cache: a reconcile woken by the objects the last sync
	// applied must see the status that sync wrote, and the cache may not
	// have it yet. One read per sync is cheap next to a sync.
	var app gitopsv1alpha1.Application
	if err := r.APIReader.Get(ctx, req.NamespacedName, &app); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Read around the cache, so the instance is checked here: an
	// Application relabelled for another instance since its event is left
	// to that instance, untouched.
	if !instance.Handles(r.InstanceID, &app) {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if !app.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &app)
	}
	defer metrics.Applications.Reconciling(req.NamespacedName).Done(&err)
	r.remember(req.NamespacedName, app.UID)
	if result, err := r.ensureFinalizer(ctx, &app); err != nil || !result.IsZero() {
		return result, err
	}
	original := app.DeepCopy()
	result := r.reconcile(ctx, &app)
	if !apiequality.Semantic.DeepEqual(original.Status, app.Status) {
		if err := r.Client.Status().Patch(ctx, &app, client.MergeFrom(original)); err != nil {
			return ctrl.Result{}, fmt.Errorf("patching the status: %w", err)
		}
		metrics.Applications.Recorded(original, &app)
	}
	return result, nil
}

func (r *Reconciler) reconcile(ctx context.Context, app *gitopsv1alpha1.Application) ctrl.Result {
	interval := app.Spec.Interval.Duration
	if interval <= 0 {
		interval = 3 * time.Minute
	}
	if app.Spec.Suspend {
		gitops.SetReady(app, false, "Suspended", "syncing is suspended; the last applied state stays in place", false)
		return ctrl.Result{}
	}
	err := r.sync(ctx, app)
	var f *failure
	if err == nil {
		r.failures.Delete(app.UID)
		app.Status.ObservedGeneration = app.Generation
		if meta.IsStatusConditionTrue(app.Status.Conditions, gitops.ConditionReconciling) {
			// Waiting for health: the objects' watches wake it, and this
			// looks again in case none does.
			return ctrl.Result{RequeueAfter: min(waitRecheck, interval)}
		}
		return ctrl.Result{RequeueAfter: interval}
	}
	if !errors.As(err, &f) {
		f = &failure{reason: "SyncFailed", err: err}
	}
	log.FromContext(ctx).Info("sync failed", "reason", f.reason, "error", f.err.Error())
	metrics.Applications.SyncFailed(app, f.reason)
	// The same failure again is neither a new event nor a new history
	// entry: a Git server that is gone fails every retry alike.
	if gitops.RecordSync(app, gitopsv1alpha1.SyncHistory{
		Revision: app.Status.Sync.Revision, DeployedAt: metav1.Time{Time: r.Now()}, Result: "Failed", Message: f.err.Error(),
	}) {
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, f.reason, "Sync", "%s", f.err.Error())
	}
	retryAfter, retrying := r.retry(app)
	gitops.SetReady(app, false, f.reason, f.err.Error(), !retrying)
	if !retrying {
		return ctrl.Result{RequeueAfter: interval}
	}
	// The backoff, not the poll interval, spaces retries: an interval of
	// seconds must not make a broken source a request every few seconds.
	return ctrl.Result{RequeueAfter: retryAfter}
}

// retry counts a failed sync and says when to try again (gitops.RetryDelay)
// and whether the retry limit still allows it.
func (r *Reconciler) retry(app *gitopsv1alpha1.Application) (time.Duration, bool) {
	n := 1
	if v, ok := r.failures.Load(app.UID); ok {
		n = v.(int) + 1
	}
	r.failures.Store(app.UID, n)
	var policy *gitopsv1alpha1.RetryStrategy
	if app.Spec.SyncPolicy != nil {
		policy = app.Spec.SyncPolicy.Retry
	}
	return gitops.RetryDelay(policy, n)
}

// sync fetches, renders, applies and prunes. Any failure before the apply
// leaves the cluster as it was: nothing of a revision that did not fetch or
// render is applied, and nothing is pruned.
func (r *Reconciler) sync(ctx context.Context, app *gitopsv1alpha1.Application) error {
	timeout := defaultTimeout
	if app.Spec.Timeout != nil && app.Spec.Timeout.Duration > 0 {
		// A tenant's timeout holds one of the controller's workers for as
		// long as it says: bounded.
		timeout = min(app.Spec.Timeout.Duration, maxTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	request := app.Annotations[SyncRequestAnnotation] + "/" + app.Annotations[RefreshRequestAnnotation] + "/" +
		app.Annotations[argoCDRefreshAnnotation]
	handled, seen := r.requests.Load(app.UID)
	// A sync a person asked for and that was not carried out yet, which a
	// non-automated Application carries out too. Status says which was
	// last carried out, so a restart neither drops nor repeats one.
	syncRequest := app.Annotations[SyncRequestAnnotation]
	asked := syncRequest != "" && syncRequest != app.Status.LastHandledSyncRequest
	if !seen || handled != request {
		// A new request (or the first reconcile since the start): nothing
		// remembered is trusted.
		r.resolved.Delete(app.UID)
		r.applied.Delete(app.UID)
		r.requests.Store(app.UID, request)
	}
	// Who the Application acts as takes a read of each Application above
	// it: made once, and only when needed, so a resync that finds nothing
	// to do reads no parent.
	identity := sync.OnceValues(func() (string, error) { return r.identity(ctx, app, 0) })
	destination, err := r.Tenancy.destination(app)
	if err != nil {
		return &failure{"NamespaceLocked", err}
	}
	var who string
	if app.Spec.SecretRef != nil {
		if who, err = identity(); err != nil {
			return &failure{"ServiceAccountRefused", err}
		}
	}
	auth, err := r.auth(ctx, app, who)
	if err != nil {
		return &failure{"CredentialsFailed", err}
	}
	src := app.Spec.Source
	rev, err := r.resolve(ctx, app, auth)
	if err != nil {
		return &failure{"FetchFailed", err}
	}
	if r.upToDate(app, rev) {
		return nil
	}
	dir, release, err := r.Fetcher.Checkout(ctx, src.RepoURL, rev, auth)
	if err != nil {
		return &failure{"FetchFailed", err}
	}
	objects, err := render.Render(dir, src.Path, gitops.RenderOptions(src, r.AllowRemoteBases))
	release() // the objects are in memory
	if err != nil {
		return &failure{"RenderFailed", fmt.Errorf("revision %s: %w", short(rev.Commit), err)}
	}
	if err := gitops.PlaceInNamespace(objects, destination, r.Mapper); err != nil {
		return &failure{"RenderFailed", fmt.Errorf("revision %s: %w", short(rev.Commit), err)}
	}
	if err := r.Tenancy.checkLock(app, objects, r.Mapper); err != nil {
		return &failure{"NamespaceLocked", fmt.Errorf("revision %s: %w", short(rev.Commit), err)}
	}
	var policy gitopsv1alpha1.SyncPolicy
	if app.Spec.SyncPolicy != nil {
		policy = *app.Spec.SyncPolicy
	}
	automated := policy.Automated != nil
	var auto gitopsv1alpha1.AutomatedSyncPolicy
	if automated {
		auto = *policy.Automated
	}
	allowEmpty := auto.AllowEmpty
	prune := auto.Prune || (asked && app.Annotations[PruneRequestAnnotation] == "true")
	if len(objects) == 0 && !allowEmpty {
		return &failure{"EmptyRender", fmt.Errorf("revision %s renders no objects; nothing is applied or pruned (set syncPolicy.automated.allowEmpty to allow it)", short(rev.Commit))}
	}
	who, err = identity()
	if err != nil {
		return &failure{"ServiceAccountRefused", err}
	}
	syncer, err := r.syncerAs(who)
	if err != nil {
		return &failure{"ApplyFailed", err}
	}
	if !automated && !asked {
		// Without automated sync the Application reports what a sync would
		// change; a person asks for the sync.
		return r.reportManual(ctx, app, syncer, objects, rev)
	}
	options := gitops.ParseSyncOptions(policy.SyncOptions)
	// The Application's own namespace exists: creating it would only ask
	// for a cluster-scoped write that a locked or namespaced manager, and
	// a tenant's account, do not have.
	if options.CreateNamespace && destination != "" && destination != app.Namespace {
		if err := r.createNamespace(ctx, syncer, destination, timeout); err != nil {
			return &failure{"ApplyFailed", err}
		}
	}
	syncer.Label(objects, app)
	if automated && !auto.SelfHeal && !asked && app.Status.Sync.Revision == rev.Commit && app.Status.LastSyncedAt != nil &&
		app.Status.ObservedGeneration == app.Generation {
		// The revision was synced; what changed since is drift in the
		// cluster, which only selfHeal, or a person asking for a sync,
		// reverts.
		return r.reportDrift(ctx, app, syncer, objects)
	}
	changes, err := syncer.Apply(ctx, objects, timeout)
	if err != nil {
		return &failure{"ApplyFailed", fmt.Errorf("revision %s: %w", short(rev.Commit), err)}
	}
	inventory := gitops.Inventory(objects)
	stale := gitops.Stale(app.Status.Inventory, objects)
	var pruned int
	if prune {
		var kept []gitopsv1alpha1.ObjectRef
		kept, pruned, err = syncer.Prune(ctx, stale, app, metav1.DeletionPropagation(capitalize(options.PropagationPolicy)))
		if err != nil {
			return &failure{"PruneFailed", err}
		}
		inventory = append(inventory, kept...)
	} else {
		// Left in place and still tracked, so enabling prune removes them.
		inventory = append(inventory, stale...)
	}

	if asked {
		app.Status.LastHandledSyncRequest = syncRequest
	}
	app.Status.Inventory = inventory
	app.Status.Resources = r.resources(ctx, syncer, objects, stale, prune)
	app.Status.Health = gitops.AggregateHealth(app.Status.Resources)
	app.Status.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: rev.Commit}
	now := metav1.Time{Time: r.Now()}
	app.Status.LastSyncedAt = &now
	changed := 0
	for _, e := range changes.Entries {
		if e.Action != ssa.UnchangedAction && e.Action != ssa.SkippedAction {
			changed++
		}
	}
	// Watch what the Application owns, so a change to it is seen at once.
	if err := r.owned.watch(objects); err != nil {
		log.FromContext(ctx).Error(err, "watching the Application's objects; drift is seen at the next interval")
	} else {
		r.applied.Store(app.UID, fmt.Sprintf("%s@%d", rev.Commit, app.Generation))
	}
	if changed > 0 || pruned > 0 || len(app.Status.History) == 0 || app.Status.History[0].Revision != rev.Commit {
		gitops.RecordSync(app, gitopsv1alpha1.SyncHistory{Revision: rev.Commit, DeployedAt: now, Result: "Succeeded",
			Message: fmt.Sprintf("%d applied, %d pruned", changed, pruned)})
		r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, "Synced", "Sync",
			"revision %s: %d objects changed, %d pruned", short(rev.Commit), changed, pruned)
	}
	if app.Spec.Wait && app.Status.Health.Status != gitopsv1alpha1.HealthHealthy {
		// Ready waits for the objects; their status changes wake the
		// Application through the watches.
		gitops.SetReady(app, false, "Progressing", fmt.Sprintf("revision %s applied; waiting for health: %s",
			short(rev.Commit), app.Status.Health.Message), false)
		gitops.SetReconciling(app, "Progressing", app.Status.Health.Message)
		return nil
	}
	gitops.SetReady(app, true, "Synced", fmt.Sprintf("revision %s applied", short(rev.Commit)), false)
	return nil
}

// upToDate reports whether a sync would find nothing to do: this process
// applied this revision at this generation, it watches every kind the
// Application owns, and none of its objects changed since. A resync then
// costs no API request; the first one after a start, or after any change,
// checks every object.
func (r *Reconciler) upToDate(app *gitopsv1alpha1.Application, rev source.Revision) bool {
	key := client.ObjectKeyFromObject(app)
	changed := r.owned.takeChanged(key)
	applied, ok := r.applied.Load(app.UID)
	ready := meta.FindStatusCondition(app.Status.Conditions, gitops.ConditionReady)
	return ok && applied.(string) == fmt.Sprintf("%s@%d", rev.Commit, app.Generation) && !changed &&
		app.Status.Sync.Revision == rev.Commit && app.Status.ObservedGeneration == app.Generation &&
		ready != nil && ready.Status == metav1.ConditionTrue && r.owned.watching(app.Status.Inventory)
}

// resolve asks the remote which commit the source names, unless it was
// asked within the interval: a reconcile woken by a change to an owned
// object syncs the revision it has, without a round trip to the remote.
func (r *Reconciler) resolve(ctx context.Context, app *gitopsv1alpha1.Application, auth transport.AuthMethod) (source.Revision, error) {
	src := app.Spec.Source
	interval := app.Spec.Interval.Duration
	if v, ok := r.resolved.Load(app.UID); ok {
		last := v.(resolution)
		if last.url == src.RepoURL && last.target == src.TargetRevision && r.Now().Sub(last.at) < interval {
			return last.source, nil
		}
	}
	rev, err := r.Fetcher.Resolve(ctx, src.RepoURL, src.TargetRevision, auth)
	if err != nil {
		return rev, err
	}
	r.resolved.Store(app.UID, resolution{source: rev, url: src.RepoURL, target: src.TargetRevision, at: r.Now()})
	return rev, nil
}

// reportDrift marks the objects that drifted from the synced revision
// OutOfSync, naming them, without changing anything.
func (r *Reconciler) reportDrift(ctx context.Context, app *gitopsv1alpha1.Application, syncer *gitops.Syncer,
	objects []*unstructured.Unstructured) error {
	drifted, err := syncer.Drifted(ctx, objects)
	if err != nil {
		return &failure{"DiffFailed", err}
	}
	if err := r.owned.watch(objects); err != nil {
		log.FromContext(ctx).Error(err, "watching the Application's objects")
	}
	isDrifted := map[gitopsv1alpha1.ObjectRef]bool{}
	var names []string
	for _, ref := range drifted {
		isDrifted[ref] = true
		names = append(names, ref.Kind+" "+ref.Name)
	}
	for i := range app.Status.Resources {
		res := &app.Status.Resources[i]
		switch {
		case isDrifted[res.ObjectRef]:
			res.Status = gitopsv1alpha1.SyncStatusOutOfSync
		case res.Status == gitopsv1alpha1.SyncStatusOutOfSync && res.Health != nil:
			res.Status = gitopsv1alpha1.SyncStatusSynced // drifted back
		}
	}
	app.Status.Sync.Status = gitopsv1alpha1.SyncStatusSynced
	message := "revision " + short(app.Status.Sync.Revision) + " applied"
	if len(drifted) > 0 {
		app.Status.Sync.Status = gitopsv1alpha1.SyncStatusOutOfSync
		message = fmt.Sprintf("%s; drifted in the cluster (selfHeal is off): %s", message, strings.Join(names, ", "))
	}
	gitops.SetReady(app, true, "Synced", message, false)
	return nil
}

// reportManual shows, for an Application without automated sync, whether
// the cluster matches the revision, naming what a sync would change.
func (r *Reconciler) reportManual(ctx context.Context, app *gitopsv1alpha1.Application, syncer *gitops.Syncer,
	objects []*unstructured.Unstructured, rev source.Revision) error {
	syncer.Label(objects, app)
	drifted, err := syncer.Drifted(ctx, objects)
	if err != nil {
		return &failure{"DiffFailed", err}
	}
	var names []string
	for _, ref := range drifted {
		names = append(names, ref.Kind+" "+ref.Name)
	}
	for _, ref := range gitops.Stale(app.Status.Inventory, objects) {
		names = append(names, ref.Kind+" "+ref.Name+" (to prune)")
	}
	app.Status.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: rev.Commit}
	if len(names) > 0 {
		app.Status.Sync.Status = gitopsv1alpha1.SyncStatusOutOfSync
		gitops.SetReady(app, false, "OutOfSync", fmt.Sprintf("automated sync is off; a sync of revision %s would change: %s",
			short(rev.Commit), strings.Join(names, ", ")), false)
		return nil
	}
	gitops.SetReady(app, true, "Synced", "revision "+short(rev.Commit)+" is in place (automated sync is off)", false)
	return nil
}

// auth reads the Git credentials of spec.secretRef as who the Application
// acts as (see identity): otherwise a tenant who may not read a Secret
// could name it and have the manager send it to a repoURL of their
// choosing.
func (r *Reconciler) auth(ctx context.Context, app *gitopsv1alpha1.Application, who string) (transport.AuthMethod, error) {
	if app.Spec.SecretRef == nil {
		return nil, nil
	}
	reader := r.APIReader
	if who != "" {
		c, err := r.clientAs(who)
		if err != nil {
			return nil, err
		}
		reader = c
	}
	var secret corev1.Secret
	if err := reader.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: app.Spec.SecretRef.Name}, &secret); err != nil {
		return nil, fmt.Errorf("reading Secret %s: %w", app.Spec.SecretRef.Name, err)
	}
	auth, err := source.AuthFromSecret(app.Spec.Source.RepoURL, secret.Data)
	if err != nil {
		return nil, fmt.Errorf("the Secret %s: %w", app.Spec.SecretRef.Name, err)
	}
	return auth, nil
}

// createNamespace applies the destination namespace for CreateNamespace.
// It is not in the inventory: pruning never deletes it, as in Argo CD.
func (r *Reconciler) createNamespace(ctx context.Context, syncer *gitops.Syncer, name string, timeout time.Duration) error {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	_, err := syncer.Apply(ctx, []*unstructured.Unstructured{ns}, timeout)
	return err
}

// resources reads back the health of the objects whose kind has one, and
// lists every object with its sync state; stale objects left in place show
// OutOfSync.
func (r *Reconciler) resources(ctx context.Context, syncer *gitops.Syncer, objects []*unstructured.Unstructured,
	stale []gitopsv1alpha1.ObjectRef, pruned bool) []gitopsv1alpha1.ResourceStatus {
	out := make([]gitopsv1alpha1.ResourceStatus, 0, len(objects))
	for _, o := range objects {
		ref := gitops.RefOf(o)
		res := gitopsv1alpha1.ResourceStatus{ObjectRef: ref, Status: gitopsv1alpha1.SyncStatusSynced}
		if gitops.HasHealth(ref.Group, ref.Kind) {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(o.GroupVersionKind())
			var health gitopsv1alpha1.HealthStatus
			if err := syncer.Client.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
				health = gitops.HealthOf(nil)
			} else {
				health = gitops.HealthOf(live)
			}
			res.Health = &health
		}
		out = append(out, res)
	}
	if !pruned {
		for _, ref := range stale {
			out = append(out, gitopsv1alpha1.ResourceStatus{ObjectRef: ref, Status: gitopsv1alpha1.SyncStatusOutOfSync})
		}
	}
	return out
}

func short(commit string) string { return commit[:min(len(commit), 12)] }

// capitalize turns a sync option's propagation policy into the API's.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
