package application

import (
	"context"
	"fmt"
	"sync"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	fluxmeta "github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/flux"
)

// KustomizationName is the controller's name for Flux's Kustomizations.
const KustomizationName = "kustomization"

// dependencyRecheck is how long a Kustomization whose dependencies are not
// Ready waits before it looks again, as Flux's --requeue-dependency; a
// dependency's own change wakes it sooner (watches).
const dependencyRecheck = 30 * time.Second

// kustomizationDoor is Flux's Kustomization (kustomize.toolkit.fluxcd.io/v1)
// with the GitRepository it names: gitops/flux turns the pair into the
// Application the engine runs, pinned to the commit the GitRepository
// resolved (its artifact), and the engine's result back into Flux's status.
// What it applies carries Flux's own labels.
//
// Flux's status holds part of the engine's (the inventory, the revisions
// applied and attempted, the request handled); the rest (a running
// operation, the retry count, the history) is kept in memory from one
// reconcile to the next, and rebuilt from Flux's status after a restart.
type kustomizationDoor struct {
	mu   sync.Mutex
	seen map[types.NamespacedName]*seenKustomization
}

// seenKustomization is what the last reconcile of a Kustomization read
// and left.
type seenKustomization struct {
	ks   *kustomizev1.Kustomization
	repo *sourcev1.GitRepository
	// engine is the engine's status as last written, nil before the
	// engine ran.
	engine *gitopsv1alpha1.ApplicationStatus
}

func newKustomizationDoor() *kustomizationDoor {
	return &kustomizationDoor{seen: map[types.NamespacedName]*seenKustomization{}}
}

func (*kustomizationDoor) name() string { return KustomizationName }
func (*kustomizationDoor) gvk() schema.GroupVersionKind {
	return kustomizev1.GroupVersion.WithKind(kustomizev1.KustomizationKind)
}
func (*kustomizationDoor) owner() gitops.Owner    { return gitops.KustomizationOwner }
func (*kustomizationDoor) watched() client.Object { return &kustomizev1.Kustomization{} }

func (d *kustomizationDoor) get(ctx context.Context, reader client.Reader, key types.NamespacedName) (*gitopsv1alpha1.Application, error) {
	ks := &kustomizev1.Kustomization{}
	if err := reader.Get(ctx, key, ks); err != nil {
		if apierrors.IsNotFound(err) {
			d.forget(key)
		}
		return nil, err
	}
	app := d.bare(ks)
	repo, blocked := d.source(ctx, reader, ks)
	if blocked == nil {
		blocked = d.dependencies(ctx, reader, ks)
	}
	if repo != nil {
		translated, err := flux.Application(ks, repo)
		switch {
		case err != nil:
			blocked = &notRunnable{reason: flux.InvalidSpecReason, message: err.Error(), stalled: true}
		default:
			translated.Spec.Source.TargetRevision = flux.CommitOf(repo.Status.Artifact.Revision)
			// The GitRepository asks the remote; the Kustomization's
			// interval is how often drift is checked and the
			// artifact's commit applied again.
			translated.Spec.Interval = ks.Spec.Interval
			translated.Status = app.Status
			if keep, ok := app.Annotations[gitopsv1alpha1.DeleteResourcesAnnotation]; ok {
				if translated.Annotations == nil {
					translated.Annotations = map[string]string{}
				}
				translated.Annotations[gitopsv1alpha1.DeleteResourcesAnnotation] = keep
			}
			translated.Finalizers = app.Finalizers
			translated.SetGroupVersionKind(d.gvk())
			app = translated
		}
	}
	d.remember(key, ks, repo)
	if blocked != nil && ks.DeletionTimestamp.IsZero() {
		// Deleting needs only the inventory and the service account.
		return app, blocked
	}
	return app, nil
}

// bare is the Application of ks that needs no source: its identity, the
// engine's status, and what deleting it does.
func (d *kustomizationDoor) bare(ks *kustomizev1.Kustomization) *gitopsv1alpha1.Application {
	app := &gitopsv1alpha1.Application{ObjectMeta: *ks.ObjectMeta.DeepCopy()}
	app.SetGroupVersionKind(d.gvk())
	app.Spec.ServiceAccountName = ks.Spec.ServiceAccountName
	app.Status = d.engineStatus(ks)
	if !ks.Spec.Prune || ks.Spec.DeletionPolicy == kustomizev1.DeletionPolicyOrphan {
		// Flux deletes what a Kustomization applied only when it prunes.
		if app.Annotations == nil {
			app.Annotations = map[string]string{}
		}
		app.Annotations[gitopsv1alpha1.DeleteResourcesAnnotation] = "false"
	}
	return app
}

// engineStatus is the status the engine resumes from: the one it left,
// while the Kustomization's status is still what it wrote; else what
// Flux's status says.
func (d *kustomizationDoor) engineStatus(ks *kustomizev1.Kustomization) gitopsv1alpha1.ApplicationStatus {
	d.mu.Lock()
	seen := d.seen[client.ObjectKeyFromObject(ks)]
	d.mu.Unlock()
	if seen != nil && seen.engine != nil && seen.ks.UID == ks.UID && apiequality.Semantic.DeepEqual(seen.ks.Status, ks.Status) {
		return *seen.engine.DeepCopy()
	}
	status, err := flux.EngineStatus(ks)
	if err != nil {
		// An inventory Sluice cannot read prunes nothing: it is dropped,
		// and the next sync writes one.
		status.Inventory = nil
	}
	return status
}

// source reads the GitRepository ks names, once it has an artifact.
func (d *kustomizationDoor) source(ctx context.Context, reader client.Reader, ks *kustomizev1.Kustomization) (*sourcev1.GitRepository, *notRunnable) {
	ref := ks.Spec.SourceRef
	if ref.Kind != sourcev1.GitRepositoryKind {
		return nil, &notRunnable{reason: flux.InvalidSpecReason, stalled: true,
			message: fmt.Sprintf("spec.sourceRef.kind %q: only GitRepository is served", ref.Kind)}
	}
	if ref.Namespace != "" && ref.Namespace != ks.Namespace {
		// A GitRepository of another namespace would lend this one its
		// credentials: refused, as Flux's --no-cross-namespace-refs does.
		return nil, &notRunnable{reason: flux.InvalidSpecReason, stalled: true,
			message: fmt.Sprintf("spec.sourceRef.namespace %q: a Kustomization reads sources of its own namespace only", ref.Namespace)}
	}
	repo := &sourcev1.GitRepository{}
	name := fmt.Sprintf("GitRepository/%s/%s", ks.Namespace, ref.Name)
	if err := reader.Get(ctx, types.NamespacedName{Namespace: ks.Namespace, Name: ref.Name}, repo); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &notRunnable{reason: fluxmeta.ArtifactFailedReason, retry: ks.GetRetryInterval(),
				message: fmt.Sprintf("Source '%s' not found", name)}
		}
		return nil, &notRunnable{reason: fluxmeta.ArtifactFailedReason, retry: ks.GetRetryInterval(),
			message: fmt.Sprintf("reading the source '%s': %v", name, err)}
	}
	if repo.Status.Artifact == nil || flux.CommitOf(repo.Status.Artifact.Revision) == "" {
		return nil, &notRunnable{reason: fluxmeta.ArtifactFailedReason, retry: ks.GetRetryInterval(),
			message: fmt.Sprintf("Source artifact not found: '%s' has resolved no commit yet", name)}
	}
	return repo, nil
}

// dependencies holds ks back until each Kustomization it depends on is
// Ready at its generation (flux.DependsOn).
func (d *kustomizationDoor) dependencies(ctx context.Context, reader client.Reader, ks *kustomizev1.Kustomization) *notRunnable {
	deps := map[types.NamespacedName]*kustomizev1.Kustomization{}
	for _, key := range flux.Dependencies(ks) {
		dep := &kustomizev1.Kustomization{}
		if err := reader.Get(ctx, key, dep); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return &notRunnable{reason: fluxmeta.DependencyNotReadyReason, retry: dependencyRecheck, message: err.Error()}
		}
		deps[key] = dep
	}
	if ready, message := flux.DependsOn(ks, deps); !ready {
		return &notRunnable{reason: fluxmeta.DependencyNotReadyReason, retry: dependencyRecheck, message: message}
	}
	return nil
}

func (d *kustomizationDoor) remember(key types.NamespacedName, ks *kustomizev1.Kustomization, repo *sourcev1.GitRepository) {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := d.seen[key]
	if seen == nil || seen.ks.UID != ks.UID {
		seen = &seenKustomization{}
		d.seen[key] = seen
	}
	seen.ks, seen.repo = ks, repo
}

func (d *kustomizationDoor) forget(key types.NamespacedName) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.seen, key)
}

func (d *kustomizationDoor) list(ctx context.Context, reader client.Reader) ([]gitopsv1alpha1.Application, error) {
	var list kustomizev1.KustomizationList
	if err := reader.List(ctx, &list); err != nil {
		return nil, err
	}
	apps := make([]gitopsv1alpha1.Application, 0, len(list.Items))
	for i := range list.Items {
		apps = append(apps, *d.bare(&list.Items[i]))
	}
	return apps, nil
}

func (d *kustomizationDoor) object(app *gitopsv1alpha1.Application) client.Object {
	return &kustomizev1.Kustomization{
		TypeMeta: metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: app.Name, UID: app.UID,
			ResourceVersion: app.ResourceVersion, Generation: app.Generation},
	}
}

// statusPatch writes the engine's status as Flux writes a Kustomization's,
// and keeps the engine's whole status for the next reconcile.
func (d *kustomizationDoor) statusPatch(_, app *gitopsv1alpha1.Application) (client.Patch, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen, err := d.seenOf(app)
	if err != nil {
		return nil, err
	}
	engine := app.Status.DeepCopy()
	var next kustomizev1.KustomizationStatus
	if seen.repo != nil {
		next = flux.KustomizationStatus(seen.ks, seen.repo, app)
	} else {
		// Deleting a Kustomization whose source is gone: only the
		// conditions change.
		next = *seen.ks.Status.DeepCopy()
		next.Conditions = fluxConditionsOf(app.Status.Conditions)
	}
	return d.patchTo(seen, next, engine)
}

// notRunnablePatch writes why the engine did not run, in Flux's words.
func (d *kustomizationDoor) notRunnablePatch(app *gitopsv1alpha1.Application, blocked *notRunnable, now time.Time) (client.Patch, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen, err := d.seenOf(app)
	if err != nil {
		return nil, err
	}
	next := flux.NotReadyStatus(seen.ks, blocked.reason, blocked.message, blocked.stalled, metav1.NewTime(now))
	return d.patchTo(seen, next, seen.engine)
}

// kubeconfig is the kubeconfig Secret a Kustomization's
// kubeConfig.secretRef names: its objects go to that cluster.
func (d *kustomizationDoor) kubeconfig(app *gitopsv1alpha1.Application) (name, key string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen, err := d.seenOf(app)
	if err != nil || seen.ks.Spec.KubeConfig == nil || seen.ks.Spec.KubeConfig.SecretRef == nil {
		return "", "", false
	}
	ref := seen.ks.Spec.KubeConfig.SecretRef
	return ref.Name, ref.Key, true
}

// seenOf is what the reconcile of app read; d.mu is held.
func (d *kustomizationDoor) seenOf(app *gitopsv1alpha1.Application) (*seenKustomization, error) {
	seen := d.seen[client.ObjectKeyFromObject(app)]
	if seen == nil || seen.ks.UID != app.UID {
		return nil, fmt.Errorf("no read of Kustomization %s/%s to write its status from", app.Namespace, app.Name)
	}
	return seen, nil
}

// patchTo is the merge patch from seen's status to next; the status is
// then taken as written, with engine as the engine's status behind it.
func (d *kustomizationDoor) patchTo(seen *seenKustomization, next kustomizev1.KustomizationStatus, engine *gitopsv1alpha1.ApplicationStatus) (client.Patch, error) {
	seen.engine = engine
	if apiequality.Semantic.DeepEqual(seen.ks.Status, next) {
		return nil, nil
	}
	updated := seen.ks.DeepCopy()
	updated.Status = next
	data, err := client.MergeFrom(seen.ks).Data(updated)
	if err != nil {
		return nil, err
	}
	seen.ks = updated
	return client.RawPatch(types.MergePatchType, data), nil
}

// fluxConditionsOf keeps the kstatus conditions Flux writes.
func fluxConditionsOf(conditions []metav1.Condition) []metav1.Condition {
	var out []metav1.Condition
	for _, t := range []string{fluxmeta.ReadyCondition, fluxmeta.ReconcilingCondition, fluxmeta.StalledCondition} {
		if c := apimeta.FindStatusCondition(conditions, t); c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// watches wakes a Kustomization when its GitRepository resolves a new
// commit and when a Kustomization it depends on changes (its Ready
// condition is in its status, which the controller's own watch ignores).
func (d *kustomizationDoor) watches(b *builder.Builder, reader client.Reader) *builder.Builder {
	dependents := func(match func(ks *kustomizev1.Kustomization, obj client.Object) bool) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
			var list kustomizev1.KustomizationList
			if err := reader.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
				return nil
			}
			var out []reconcile.Request
			for i := range list.Items {
				if match(&list.Items[i], obj) {
					out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
				}
			}
			return out
		})
	}
	b = b.Watches(&sourcev1.GitRepository{}, dependents(func(ks *kustomizev1.Kustomization, repo client.Object) bool {
		ref := ks.Spec.SourceRef
		return ref.Kind == sourcev1.GitRepositoryKind && ref.Name == repo.GetName() && (ref.Namespace == "" || ref.Namespace == ks.Namespace)
	}))
	return b.Watches(&kustomizev1.Kustomization{}, dependents(func(ks *kustomizev1.Kustomization, dep client.Object) bool {
		for _, key := range flux.Dependencies(ks) {
			if key == client.ObjectKeyFromObject(dep) {
				return true
			}
		}
		return false
	}))
}
