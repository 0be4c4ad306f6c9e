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
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
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
	"github.com/sluicehq/sluice/controllers/application/plan"
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
// +kubebuilder:rbac:groups=argoproj.io,resources=applications,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=applications/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=applications/finalizers,verbs=update
// +kubebuilder:rbac:groups=kustomize.toolkit.fluxcd.io,resources=kustomizations,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=kustomize.toolkit.fluxcd.io,resources=kustomizations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=kustomize.toolkit.fluxcd.io,resources=kustomizations/finalizers,verbs=update
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=gitrepositories,verbs=get;list;watch
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
	SyncRequestAnnotation    = gitopsv1alpha1.SyncRequestAnnotation
	RefreshRequestAnnotation = gitopsv1alpha1.RefreshRequestAnnotation
	// PruneRequestAnnotation "true" with a sync request also prunes, for an
	// Application whose automated sync does not (kubectl sluice app sync
	// --prune). It goes with the request it came with: a later refresh
	// never prunes.
	PruneRequestAnnotation  = gitopsv1alpha1.PruneRequestAnnotation
	argoCDRefreshAnnotation = "argocd.argoproj.io/refresh"
)

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
	// Scope limits the controller to the Applications of its instance and
	// shard (instance.Scope).
	Scope    instance.Scope
	Recorder recorder.EventRecorder
	Now      func() time.Time

	// door is the API the Applications come in by (door.go).
	door     door
	memories memories
	owned    *ownedWatches
	clusters *clusters
}

// Options configure the Application controller.
type Options struct {
	// Scope limits the controller to the Applications of its instance
	// (labelled argo-rollouts.argoproj.io/controller-instance-id=<id>, or
	// with no such label without one: the rule of Argo Rollouts' objects,
	// so two managers can share a cluster) and of its shard
	// (--watch-label-selector). The objects an Application in a shard
	// applies are put in its shard, and only the shard's are watched.
	Scope instance.Scope
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
	// ArgoCDApplications serves Argo CD's Application kind
	// (argoproj.io/v1alpha1) too, through the same engine, for a cluster
	// where Argo CD does not run: the manager decides (--argocd-applications).
	ArgoCDApplications bool
	// Kustomizations serves Flux's Kustomization kind, with the
	// GitRepositories they name, through the same engine, for a cluster
	// where Flux does not run (--flux).
	Kustomizations bool
	// ClusterNamespace is where cluster Secrets are read (clusters.go):
	// the manager's own namespace; empty, no cluster but the manager's.
	// ClusterTimeout bounds a registered cluster's answer.
	ClusterNamespace string
	ClusterTimeout   time.Duration
}

// Setup registers the Application controller, the controller of Argo CD's
// Application kind when asked, and the push-event receiver when an address
// is given.
func Setup(mgr ctrl.Manager, o Options) error {
	r, err := setupDoor(mgr, o, sluiceDoor{})
	if err != nil {
		return err
	}
	metrics.Applications.Register(mgr.GetCache(), mgr.Elected())
	if o.ArgoCDApplications {
		if _, err := setupDoor(mgr, o, argoCDDoor{}); err != nil {
			return err
		}
	}
	if o.Kustomizations {
		if _, err := setupDoor(mgr, o, newKustomizationDoor()); err != nil {
			return err
		}
	}

	if o.WebhookAddress == "" {
		return nil
	}
	return mgr.Add(webhookServer(o.WebhookAddress, r.webhookReceiver(o.WebhookSecret, mgr.GetLogger().WithName("webhook"))))
}

// setupDoor registers the controller of one door: the engine, with the
// door's kind, owner labels and watches.
func setupDoor(mgr ctrl.Manager, o Options, d door) (*Reconciler, error) {
	r := &Reconciler{
		Client:           mgr.GetClient(),
		APIReader:        mgr.GetAPIReader(),
		Config:           mgr.GetConfig(),
		Mapper:           mgr.GetRESTMapper(),
		Fetcher:          &source.Fetcher{CacheDir: o.CacheDir, MaxSize: o.GitMaxSize},
		AllowRemoteBases: o.AllowRemoteBases,
		Tenancy:          o.Tenancy,
		Namespace:        o.Namespace,
		Scope:            o.Scope,
		Recorder:         mgr.GetEventRecorder("sluice-" + d.name()),
		Now:              time.Now,
		door:             d,
	}
	// An Application's own status writes do not wake it: only a change of
	// its spec, of a sync request (an annotation), or of what it owns
	// (the owned watches) syncs before the retry or the interval is due.
	// Only this instance's and shard's Applications: the manager's cache
	// holds no other (controllers.CacheSelectors), and the predicate says so again.
	changed := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	b := ctrl.NewControllerManagedBy(mgr).Named(d.name()).
		For(d.watched(), builder.WithPredicates(o.Scope.Predicate(), changed)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(o.Concurrency, 1)})
	if w, ok := d.(watcher); ok {
		b = w.watches(b, mgr.GetClient())
	}
	c, err := b.Build(r)
	if err != nil {
		return nil, err
	}
	if r.owned, err = newOwnedWatches(mgr, c, o.Namespace, d.owner(), o.Scope); err != nil {
		return nil, err
	}
	r.clusters = newClusters(o.ClusterNamespace, o.ClusterTimeout, mgr.GetAPIReader(), mgr.GetScheme())
	if err := mgr.Add(r.clusters); err != nil {
		return nil, err
	}
	return r, nil
}

// RequestRefresh asks every Application of a repository, named by any of
// its URLs, to look at Git now, through the refresh annotation: a push
// event brings a commit in at once, and syncs only what automated sync
// would. Only a person's sync request syncs an Application without it.
func (r *Reconciler) RequestRefresh(ctx context.Context, repoURLs []string) (int, error) {
	apps, err := r.door.list(ctx, r.Client)
	if err != nil {
		return 0, err
	}
	asked := 0
	now := r.Now().UTC().Format(time.RFC3339Nano)
	for i := range apps {
		app := &apps[i]
		if !slices.ContainsFunc(repoURLs, func(u string) bool { return webhook.SameRepository(u, app.Spec.Source.RepoURL) }) {
			continue
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, RefreshRequestAnnotation, now)
		if err := r.Client.Patch(ctx, r.door.object(app), client.RawPatch(types.MergePatchType, []byte(patch))); client.IgnoreNotFound(err) != nil {
			return asked, err
		}
		asked++
	}
	return asked, nil
}

// forget drops everything kept in memory for the Application of key, once
// it is deleted: a manager that outlives many Applications does not keep
// them all.
func (r *Reconciler) forget(key types.NamespacedName) {
	r.memories.forget(key)
	if r.owned != nil {
		r.owned.forget(key)
	}
	if r.clusters != nil {
		r.clusters.forget(key)
	}
	metrics.Applications.Forget(key)
}

// Reconcile observes an Application, plans its next step, carries the plan
// out and writes the status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, err error) {
	// Read around the cache: a reconcile woken by the objects the last sync
	// applied must see the status that sync wrote, and the cache may not
	// have it yet. One read per sync is cheap next to a sync.
	app, err := r.door.get(ctx, r.APIReader, req.NamespacedName)
	var blocked *notRunnable
	if errors.As(err, &blocked) {
		err = nil
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Read around the cache, so the scope is checked here: an Application
	// relabelled for another instance or shard since its event is left to
	// that manager, untouched.
	if !r.Scope.Handles(app) {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if !app.DeletionTimestamp.IsZero() {
		// Never synced again: what it applied is deleted (deletion.go).
		return r.finalize(ctx, app)
	}
	if blocked != nil {
		return r.holdBack(ctx, app, blocked)
	}
	defer metrics.Applications.Reconciling(req.NamespacedName).Done(&err)
	mem := r.memories.of(req.NamespacedName, app.UID)
	if result, err := r.ensureFinalizer(ctx, app); err != nil || !result.IsZero() {
		return result, err
	}
	// One fetch, render and apply is bounded, by the Application's
	// timeout (within the manager's bound).
	ctx, cancel := context.WithTimeout(ctx, plan.Timeout(app))
	defer cancel()

	o := r.observe(ctx, app, mem)
	decision := plan.Plan(o.Observation)
	outcome := r.execute(ctx, o, decision)
	decision = plan.Conclude(o.Observation, decision, outcome)
	r.remember(o, decision, outcome, mem)
	for _, e := range decision.Events {
		if e.Warning {
			log.FromContext(ctx).Info("sync failed", "reason", e.Reason, "error", e.Message)
			metrics.Applications.SyncFailed(app, e.Reason)
			r.Recorder.Eventf(r.door.object(app), nil, corev1.EventTypeWarning, e.Reason, "Sync", "%s", e.Message)
		} else {
			r.Recorder.Eventf(r.door.object(app), nil, corev1.EventTypeNormal, e.Reason, "Sync", "%s", e.Message)
		}
	}
	if !apiequality.Semantic.DeepEqual(app.Status, decision.Status) {
		original := app.DeepCopy()
		app.Status = decision.Status
		if err := r.writeStatus(ctx, original, app); err != nil {
			// What was taken from the watches is looked at again.
			mem.distrust()
			return ctrl.Result{}, fmt.Errorf("patching the status: %w", err)
		}
		metrics.Applications.Recorded(original, app)
	}
	return ctrl.Result{RequeueAfter: decision.RequeueAfter}, nil
}

// holdBack records why the engine does not run for app now (a door's
// reason: its source or a dependency is not ready, or its spec asks for
// what is not served), and looks again after the door's retry.
func (r *Reconciler) holdBack(ctx context.Context, app *gitopsv1alpha1.Application, blocked *notRunnable) (ctrl.Result, error) {
	if d, ok := r.door.(notRunnablePatcher); ok {
		patch, err := d.notRunnablePatch(app, blocked, r.Now())
		if err == nil && patch != nil {
			err = r.Client.Status().Patch(ctx, r.door.object(app), patch)
		}
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("patching the status: %w", err)
		}
	}
	log.FromContext(ctx).V(1).Info("not synced", "reason", blocked.reason, "message", blocked.message)
	if blocked.stalled {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: blocked.retry}, nil
}

// writeStatus records app's status, changed from original's, through the
// door it came in by.
func (r *Reconciler) writeStatus(ctx context.Context, original, app *gitopsv1alpha1.Application) error {
	patch, err := r.door.statusPatch(original, app)
	if err != nil || patch == nil {
		return err
	}
	return r.Client.Status().Patch(ctx, r.door.object(app), patch)
}

// remember keeps in memory what this reconcile left in place, so the next
// one looks only at what changes: the objects applied or found as
// rendered. After a failure nothing is trusted, and the watches' notes are
// kept for the next look.
func (r *Reconciler) remember(o *observed, d plan.Decision, out plan.Outcome, mem *memory) {
	if o.Failure != nil || out.Failure != nil {
		if o.watches != nil {
			o.watches.putBack(client.ObjectKeyFromObject(o.App), o.taken)
		}
		mem.distrust()
		return
	}
	if o.Unchanged || o.App.Spec.Suspend {
		return
	}
	applied := map[string]bool{}
	for _, a := range d.Actions {
		if a.Kind == plan.ApplyObjects {
			for _, ref := range a.Objects {
				applied[refKey(ref)] = true
			}
		}
	}
	for _, obj := range o.Objects {
		k := refKey(obj.Ref)
		if obj.Hook != nil {
			continue
		}
		if obj.Drifted && !applied[k] {
			delete(mem.hashes, k) // still to be put in place: looked at again
			continue
		}
		mem.hashes[k] = o.hashes[k]
	}
	mem.synced = o.syncedAs
}
