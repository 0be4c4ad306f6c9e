package application

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/render"
	"github.com/sluicehq/sluice/gitops/source"
)

// observed is an observation, and what carrying out its plan needs.
type observed struct {
	plan.Observation
	syncer *gitops.Syncer
	// target is the cluster the objects go to; watches are its owned
	// watches (target.watches), nil when none was resolved.
	target  *target
	watches *ownedWatches
	// desired holds the rendered objects by refKey; missing, the ones
	// the cluster is known not to hold, which are created without a dry
	// run.
	desired map[string]*unstructured.Unstructured
	missing map[string]bool
	// hashes are the rendered resources' hashes, kept in memory once
	// they are in place.
	hashes map[string]uint64
	// taken are the watches' notes this reconcile handles.
	taken changes
	// syncedAs is "<commit>@<generation>" of this observation.
	syncedAs string
	// ignore are the Application's ignoreDifferences; respect says to
	// leave the fields they name as they are live (RespectIgnoreDifferences).
	ignore  *gitops.IgnoreRules
	respect bool
	// options are the Application's sync options.
	options gitops.SyncOptions
	// sensitive are the values of postBuild's variables that came from a
	// Secret: no failure message shows them.
	sensitive []string
}

// observe gathers what the planner needs: the revision, the rendered
// objects and what the cluster holds of them. It reads no more than what
// changed: objects whose render and live state are as this process last
// left them are taken as they are, a change the watches saw is checked
// with a dry run, and a status change, or a label or annotation Git does
// not set, only costs a read of that object.
func (r *Reconciler) observe(ctx context.Context, app *gitopsv1alpha1.Application, mem *memory) *observed {
	o := &observed{Observation: plan.Observation{App: app, Now: r.Now(), Request: pendingRequest(app)}}
	key := client.ObjectKeyFromObject(app)
	if asks := asksOf(app); asks != mem.asks {
		// A new request (or the first reconcile since the start): nothing
		// remembered is trusted.
		mem.distrust()
		mem.asks = asks
	}
	if app.Spec.Suspend {
		return o
	}
	fail := func(reason string, err error) *observed {
		o.Failure = &plan.Failure{Reason: reason, Message: render.Redact(err.Error(), o.sensitive)}
		return o
	}
	// The destination cluster first: what its watches saw is taken from
	// them, and one that cannot be reached fails fast (clusters.go).
	t, reason, err := r.targetOf(ctx, app)
	if err != nil {
		fail(reason, err)
		o.Failure.LiveUnknown = reason == ReasonClusterUnreachable
		return o
	}
	o.target, o.watches = t, t.watches
	o.taken = t.watches.take(key)
	destination, err := r.Tenancy.destination(app)
	if err != nil {
		return fail("NamespaceLocked", err)
	}
	// Who the Application acts as takes a read of each Application above
	// it: made once, and only when needed, so a resync that finds nothing
	// to do reads no parent.
	identity := sync.OnceValues(func() (string, error) { return r.identity(ctx, app, 0) })
	var who string
	if app.Spec.SecretRef != nil {
		if who, err = identity(); err != nil {
			return fail("ServiceAccountRefused", err)
		}
	}
	auth, err := r.auth(ctx, app, who)
	if err != nil {
		return fail("CredentialsFailed", err)
	}
	rev, err := r.revision(ctx, app, mem, auth)
	if err != nil {
		return fail("FetchFailed", err)
	}
	o.Revision = rev.Commit
	// postBuild's variables are read at every look, as Flux reads them at
	// every interval: a change of their ConfigMap or Secret renders again.
	if pb := app.Spec.PostBuild; pb != nil && len(pb.SubstituteFrom) > 0 {
		if who, err = identity(); err != nil {
			return fail("ServiceAccountRefused", err)
		}
	}
	vars, err := r.postBuildVariables(ctx, app, who)
	if err != nil {
		return fail("SubstituteFailed", err)
	}
	if vars != nil {
		o.sensitive = vars.Sensitive
	}
	o.syncedAs = fmt.Sprintf("%s@%d", rev.Commit, app.Generation)
	if vars != nil {
		o.syncedAs += "@" + gitops.Fingerprint(vars)
	}
	if len(app.Spec.HealthChecks) > 0 {
		if who, err = identity(); err != nil {
			return fail("ServiceAccountRefused", err)
		}
		o.Checks = r.readChecks(ctx, app, destination, who)
	}
	if r.unchanged(app, o, mem) {
		o.Unchanged = true
		r.observeHealthOnly(ctx, o)
		return o
	}
	keys, failure := r.decryptionKeys(ctx, app, identity)
	if failure != nil {
		o.Failure = failure
		return o
	}
	objects, commit, err := gitops.DesiredAt(ctx, gitops.DesiredInput{Fetcher: r.Fetcher, Mapper: t.mapper, App: app, Revision: rev,
		Auth: auth, Namespace: destination, AllowRemoteBases: r.AllowRemoteBases, Variables: vars, Keys: keys, Owner: r.door.owner()})
	if err != nil {
		var source *gitops.SourceError
		if errors.As(err, &source) {
			return fail(source.Reason, source.Err)
		}
		return fail("RenderFailed", err)
	}
	o.Commit = commitInfo(commit)
	if err := r.Tenancy.checkLock(app, objects, t.mapper); err != nil {
		return fail("NamespaceLocked", fmt.Errorf("revision %s: %w", gitops.Short(rev.Commit), err))
	}
	if err := checkCluster(t, objects); err != nil {
		return fail(ReasonClusterRefused, fmt.Errorf("revision %s: %w", gitops.Short(rev.Commit), err))
	}
	if who, err = identity(); err != nil {
		return fail("ServiceAccountRefused", err)
	}
	if o.syncer, err = r.syncerFor(t, who); err != nil {
		return fail("ApplyFailed", err)
	}
	if o.ignore, err = gitops.CompileIgnoreDifferences(app.Spec.IgnoreDifferences); err != nil {
		return fail("InvalidSpec", err)
	}
	options := gitops.ParseSyncOptions(syncOptionsOf(app))
	o.options, o.respect = options, options.RespectIgnoreDifferences
	if options.CreateNamespace && destination != "" && (destination != app.Namespace || t.remote != nil) {
		// The Application's own namespace exists (on the manager's
		// cluster): creating it would only ask for a cluster-scoped write
		// that a locked or namespaced manager, and a tenant's account, do
		// not have.
		o.CreateNamespace = destination
	}
	o.Propagation = metav1.DeletionPropagation(capitalize(options.PropagationPolicy))
	if err := r.observeObjects(ctx, o, objects, mem); err != nil {
		var render *gitops.SourceError
		if errors.As(err, &render) {
			return fail(render.Reason, render.Err)
		}
		return fail("DiffFailed", err)
	}
	return o
}

// unchanged reports whether the objects need neither render nor look: this
// process synced this revision at this generation, watches every kind
// the Application owns, and saw nothing but status change since; no sync
// runs or is asked for. A label or annotation that changed takes a render,
// which tells whether Git sets it.
func (r *Reconciler) unchanged(app *gitopsv1alpha1.Application, o *observed, mem *memory) bool {
	op := app.Status.OperationState
	return mem.synced == o.syncedAs && len(o.taken.dirty) == 0 && !o.taken.anyMetadata() && o.Request == nil &&
		(op == nil || op.Phase != gitopsv1alpha1.OperationRunning) && plan.Synced(app, o.Revision) &&
		o.watches.watching(app.Status.Inventory)
}

// observeHealthOnly reads the health of the objects whose status changed,
// and, while the Application waits for health, of those not healthy yet.
func (r *Reconciler) observeHealthOnly(ctx context.Context, o *observed) {
	for _, res := range o.App.Status.Resources {
		if res.Health == nil || !o.readsHealth(res.ObjectRef, res.Health) {
			continue
		}
		health := o.readHealth(ctx, res.ObjectRef)
		o.Objects = append(o.Objects, plan.Object{Ref: res.ObjectRef, Exists: true, StatusHealth: true, Health: health, HealthKnown: true})
	}
}

// readsHealth says whether an object's health is read in this reconcile:
// its status changed, or it was just applied and not read since; and, on a
// reconcile no watch event woke (the interval, a wait's recheck), any
// object not Healthy yet, in case its change went unseen.
func (o *observed) readsHealth(ref gitopsv1alpha1.ObjectRef, recorded *gitopsv1alpha1.HealthStatus) bool {
	_, changed := o.taken.status[refKey(ref)]
	switch {
	case changed:
		return true
	case recorded == nil:
		return false
	case recorded.Message == plan.NotReadYet:
		return true
	default:
		return !o.taken.woken && recorded.Status != gitopsv1alpha1.HealthHealthy
	}
}

// recordedHealth is the health status.resources holds for an object.
func recordedHealth(app *gitopsv1alpha1.Application, ref gitopsv1alpha1.ObjectRef) *gitopsv1alpha1.HealthStatus {
	for _, r := range app.Status.Resources {
		if r.ObjectRef == ref {
			return r.Health
		}
	}
	return nil
}

// observeObjects turns rendered objects into the planner's, reading and
// checking only the ones that may have changed.
func (r *Reconciler) observeObjects(ctx context.Context, o *observed, objects []*unstructured.Unstructured, mem *memory) error {
	app := o.App
	kinds := map[schema.GroupVersionKind]bool{}
	for _, u := range objects {
		kinds[u.GroupVersionKind()] = true
	}
	for _, ref := range app.Status.Inventory {
		kinds[schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind}] = true
	}
	var gvks []schema.GroupVersionKind
	for k := range kinds {
		gvks = append(gvks, k)
	}
	// Watch what the Application owns, so a change to it is seen at once,
	// and so the watches' cache can say what exists.
	if err := o.watches.watch(gvks); err != nil {
		log.FromContext(ctx).Error(err, "watching the Application's objects; drift is seen at the next interval")
	}
	trusted := mem.synced != "" && o.watches.watching(app.Status.Inventory)
	willSync := plan.WillSync(app, o.Revision, o.Request)
	automated := plan.Automated(app)
	selfHeal := automated != nil && automated.SelfHeal
	running := app.Status.OperationState != nil && app.Status.OperationState.Phase == gitopsv1alpha1.OperationRunning
	o.desired, o.missing, o.hashes = map[string]*unstructured.Unstructured{}, map[string]bool{}, map[string]uint64{}
	var diff []*unstructured.Unstructured
	var read []int
	for _, u := range objects {
		role, err := plan.RoleOf(u.GetAnnotations())
		if err != nil {
			return &gitops.SourceError{Reason: "RenderFailed",
				Err: fmt.Errorf("revision %s: %s %s: %w", gitops.Short(o.Revision), u.GetKind(), u.GetName(), err)}
		}
		if role.Skip {
			continue
		}
		if role.Hook != nil && u.GetName() == "" && u.GetGenerateName() != "" {
			// A hook named by the API server would be a new object on every
			// look: its name is made from the revision instead, the same
			// for the whole operation.
			u.SetName(u.GetGenerateName() + nameSuffix(o.Revision))
			u.SetGenerateName("")
		}
		ref := gitops.RefOf(u)
		k := refKey(ref)
		o.desired[k] = u
		exists, known := o.watches.exists(ctx, ref)
		obj := plan.Object{Ref: ref, Wave: role.Wave, Hook: role.Hook, Exists: exists || !known,
			StatusHealth: gitops.ReadsLiveHealth(u)}
		if known && !exists {
			o.missing[k] = true
		}
		if role.Hook != nil {
			obj.Drifted = true
			if exists && running {
				read = append(read, len(o.Objects))
			}
			o.Objects = append(o.Objects, obj)
			continue
		}
		h := hashOf(u)
		o.hashes[k] = h
		replace := o.options.ForObject(u.GetAnnotations()).Replace
		relabelled := o.taken.relabelled(k, u, replace || o.ignore.NeedsLive(u))
		suspect := !trusted || o.taken.dirty[k] || relabelled || mem.hashes[k] != h || !known
		switch {
		case !obj.Exists:
			obj.Drifted = true
		case suspect && (willSync || selfHeal && replace):
			// The apply tells: an object written whole (Replace) drifts in
			// ways a server-side dry run does not see, such as a field
			// another manager added.
			obj.Drifted = true
		case suspect:
			diff = append(diff, u)
		}
		if obj.Exists && obj.StatusHealth && (suspect || running || o.readsHealth(ref, recordedHealth(app, ref))) {
			read = append(read, len(o.Objects))
		}
		o.Objects = append(o.Objects, obj)
	}
	if len(diff) > 0 {
		drifted, err := o.syncer.Drifted(ctx, diff, o.ignore)
		if err != nil {
			return err
		}
		isDrifted := map[string]bool{}
		for _, ref := range drifted {
			isDrifted[refKey(ref)] = true
		}
		for i := range o.Objects {
			if isDrifted[refKey(o.Objects[i].Ref)] {
				o.Objects[i].Drifted = true
			}
		}
	}
	for _, i := range read {
		o.Objects[i].Health = o.readHealth(ctx, o.Objects[i].Ref)
		o.Objects[i].HealthKnown = true
	}
	var resources []*unstructured.Unstructured
	for _, obj := range o.Objects {
		if obj.Hook == nil {
			resources = append(resources, o.desired[refKey(obj.Ref)])
		}
	}
	for _, ref := range gitops.Stale(app.Status.Inventory, resources) {
		exists, known := o.watches.exists(ctx, ref)
		o.Stale = append(o.Stale, plan.StaleObject{Ref: ref, Exists: exists || !known})
	}
	return nil
}

// readHealth reads an object and tells its health; the watches learn the
// version read, so its status change is not read again.
func (o *observed) readHealth(ctx context.Context, ref gitopsv1alpha1.ObjectRef) gitopsv1alpha1.HealthStatus {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind})
	if err := o.target.reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, live); err != nil {
		return gitops.HealthOf(nil)
	}
	o.watches.seen(client.ObjectKeyFromObject(o.App), ref, live.GetResourceVersion())
	return gitops.HealthOf(live)
}

// hashOf is a rendered object's hash, to tell whether a render changed it.
func hashOf(u *unstructured.Unstructured) uint64 {
	data, err := json.Marshal(u.Object) // map keys sorted: the same object, the same bytes
	if err != nil {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write(data)
	return h.Sum64()
}

// commitInfo is what status.sync.commit shows of a commit.
func commitInfo(c source.CommitInfo) *gitopsv1alpha1.CommitInfo {
	return &gitopsv1alpha1.CommitInfo{Subject: c.Subject(), Author: c.Author, Date: metav1.NewTime(c.Date)}
}

// nameSuffix is a hook's name suffix for a revision.
func nameSuffix(revision string) string {
	sum := sha256.Sum256([]byte(revision))
	return hex.EncodeToString(sum[:])[:8]
}

// revision is the commit to sync: the running operation's, or what
// targetRevision names (see resolve).
func (r *Reconciler) revision(ctx context.Context, app *gitopsv1alpha1.Application, mem *memory, auth transport.AuthMethod) (source.Revision, error) {
	if op := app.Status.OperationState; op != nil && op.Phase == gitopsv1alpha1.OperationRunning && op.Revision != "" {
		if last := mem.resolution; last != nil && last.source.Commit == op.Revision {
			return last.source, nil
		}
		return source.Revision{Commit: op.Revision}, nil
	}
	if commit, asked, err := requestedRevision(app); asked {
		// A rollback: the commit the request names, not targetRevision's.
		if err != nil {
			return source.Revision{}, err
		}
		return r.Fetcher.Resolve(ctx, app.Spec.Source.RepoURL, commit, auth)
	}
	return r.resolve(ctx, app, mem, auth)
}

// resolve asks the remote which commit the source names, unless it was
// asked within the interval: a reconcile woken by a change to an owned
// object syncs the revision it has, without a round trip to the remote.
func (r *Reconciler) resolve(ctx context.Context, app *gitopsv1alpha1.Application, mem *memory, auth transport.AuthMethod) (source.Revision, error) {
	src := app.Spec.Source
	if last := mem.resolution; last != nil && last.url == src.RepoURL && last.target == src.TargetRevision &&
		r.Now().Sub(last.at) < app.Spec.Interval.Duration {
		return last.source, nil
	}
	rev, err := r.Fetcher.Resolve(ctx, src.RepoURL, src.TargetRevision, auth)
	if err != nil {
		return rev, err
	}
	mem.resolution = &resolution{source: rev, url: src.RepoURL, target: src.TargetRevision, at: r.Now()}
	return rev, nil
}

// pendingRequest is the sync a person asked for and that was not carried
// out yet, which a non-automated Application carries out too. Status says
// which was last carried out, so a restart neither drops nor repeats one.
func pendingRequest(app *gitopsv1alpha1.Application) *plan.Request {
	value := app.Annotations[SyncRequestAnnotation]
	if value == "" || value == app.Status.LastHandledSyncRequest {
		return nil
	}
	return &plan.Request{Value: value, Prune: app.Annotations[PruneRequestAnnotation] == "true"}
}

// asksOf are the annotations by which a person or a push event asks to
// look again.
func asksOf(app *gitopsv1alpha1.Application) string {
	return app.Annotations[SyncRequestAnnotation] + "/" + app.Annotations[RefreshRequestAnnotation] + "/" +
		app.Annotations[argoCDRefreshAnnotation]
}

func syncOptionsOf(app *gitopsv1alpha1.Application) []string {
	if app.Spec.SyncPolicy == nil {
		return nil
	}
	return app.Spec.SyncPolicy.SyncOptions
}

// auth reads the Git credentials of spec.secretRef as who the Application
// acts as (see identity): otherwise a tenant who may not read a Secret
// could name it and have the manager send it to a repoURL of their
// choosing.
func (r *Reconciler) auth(ctx context.Context, app *gitopsv1alpha1.Application, who string) (transport.AuthMethod, error) {
	if app.Spec.SecretRef == nil {
		return nil, nil
	}
	reader, err := r.readerAs(who)
	if err != nil {
		return nil, err
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

// capitalize turns a sync option's propagation policy into the API's.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
