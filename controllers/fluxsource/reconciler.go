// Package fluxsource is the controller of Flux's GitRepository
// (source.toolkit.fluxcd.io/v1): every spec.interval it asks the remote
// which commit the ref names (ls-remote, nothing fetched: the
// Kustomizations that use the repository fetch it through the Application
// engine) and writes the status source-controller would. gitops/flux
// decides what the status says; this package reads, resolves and writes.
package fluxsource

import (
	"context"
	"fmt"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/sluicehq/sluice/gitops/flux"
	"github.com/sluicehq/sluice/gitops/source"
	"github.com/sluicehq/sluice/internal/instance"
)

// Name is the controller's name in logs and events.
const Name = "gitrepository"

// The controller reads GitRepositories and the Secrets they name (as
// source-controller does), and writes their status; --flux=auto reads two
// CRDs. It runs with the Application controller, whose role reads every
// kind: only the status write is its own. `make manifests` puts these
// rules in the application role.
//
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=gitrepositories,verbs=get;list;watch
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=gitrepositories/status,verbs=get;update;patch

// Resolver asks a remote which commit a revision names, fetching nothing:
// gitops/source's Fetcher.
type Resolver interface {
	Resolve(ctx context.Context, url, revision string, auth transport.AuthMethod) (source.Revision, error)
}

// Reconciler resolves GitRepositories' refs.
type Reconciler struct {
	// Client reads GitRepositories from the cache and writes their status.
	Client client.Client
	// APIReader reads the Secrets of credentials, around the cache.
	APIReader client.Reader
	Resolver  Resolver
	Recorder  recorder.EventRecorder
	Now       func() time.Time
}

// Setup registers the controller, for the GitRepositories of this scope
// (--instance-id, those without the label when none; and the shard of
// --watch-label-selector, where Flux's convention puts a GitRepository
// with the Kustomizations that use it). A
// GitRepository wakes it when its spec or annotations change (flux
// reconcile source git sets reconcile.fluxcd.io/requestedAt); otherwise
// every interval.
func Setup(mgr ctrl.Manager, scope instance.Scope) error {
	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Resolver:  &source.Fetcher{},
		Recorder:  mgr.GetEventRecorder("sluice-" + Name),
		Now:       time.Now,
	}
	changed := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).Named(Name).
		For(&sourcev1.GitRepository{}, builder.WithPredicates(scope.Predicate(), changed)).
		Complete(r)
}

// Reconcile resolves one GitRepository's ref and writes its status, once,
// and only when it changed. A failure is its Ready condition, retried at
// the next interval; a field Sluice does not serve stalls it until its
// spec changes.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var repo sourcev1.GitRepository
	if err := r.Client.Get(ctx, req.NamespacedName, &repo); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !repo.DeletionTimestamp.IsZero() || repo.Spec.Suspend {
		// Flux leaves a suspended source's status as it is.
		return ctrl.Result{}, nil
	}
	now := metav1.NewTime(r.Now())
	status, requeue := r.resolve(ctx, &repo, now)
	// A merge patch without a resourceVersion does not conflict; a
	// GitRepository deleted meanwhile needs nothing more.
	if err := r.writeStatus(ctx, &repo, status); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// resolve is the status repo should have now, and when to look again.
func (r *Reconciler) resolve(ctx context.Context, repo *sourcev1.GitRepository, now metav1.Time) (sourcev1.GitRepositoryStatus, time.Duration) {
	if err := flux.GitRepositoryServed(repo); err != nil {
		return flux.GitRepositoryFailure(repo, flux.InvalidSpecReason, err.Error(), true, now), 0
	}
	interval := max(repo.Spec.Interval.Duration, time.Second)
	target, err := flux.TargetRevision(repo)
	if err != nil {
		return flux.GitRepositoryFailure(repo, flux.InvalidSpecReason, err.Error(), true, now), 0
	}
	auth, err := r.auth(ctx, repo)
	if err != nil {
		return flux.GitRepositoryFailure(repo, sourcev1.AuthenticationFailedReason, err.Error(), false, now), interval
	}
	timeout := time.Minute
	if repo.Spec.Timeout != nil && repo.Spec.Timeout.Duration > 0 {
		timeout = repo.Spec.Timeout.Duration
	}
	resolveCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rev, err := r.Resolver.Resolve(resolveCtx, repo.Spec.URL, target, auth)
	if err != nil {
		return flux.GitRepositoryFailure(repo, "", err.Error(), false, now), interval
	}
	return flux.GitRepositoryStatus(repo, rev.Ref, rev.Commit, now), interval
}

// auth reads the credentials of spec.secretRef, in the GitRepository's
// namespace. Errors name the Secret, never its data.
func (r *Reconciler) auth(ctx context.Context, repo *sourcev1.GitRepository) (transport.AuthMethod, error) {
	if repo.Spec.SecretRef == nil {
		return nil, nil
	}
	name := repo.Spec.SecretRef.Name
	var secret corev1.Secret
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: repo.Namespace, Name: name}, &secret); err != nil {
		return nil, fmt.Errorf("reading Secret %s (spec.secretRef): %w", name, err)
	}
	auth, err := source.AuthFromSecret(repo.Spec.URL, secret.Data)
	if err != nil {
		return nil, fmt.Errorf("the Secret %s (spec.secretRef): %w", name, err)
	}
	return auth, nil
}

// writeStatus patches repo's status to status when it differs, with an
// event when the revision or the Ready condition changed.
func (r *Reconciler) writeStatus(ctx context.Context, repo *sourcev1.GitRepository, status sourcev1.GitRepositoryStatus) error {
	if apiequality.Semantic.DeepEqual(repo.Status, status) {
		return nil
	}
	before := repo.DeepCopy()
	repo.Status = status
	if err := r.Client.Status().Patch(ctx, repo, client.MergeFrom(before)); err != nil {
		return err
	}
	r.event(ctx, before, repo)
	return nil
}

func (r *Reconciler) event(ctx context.Context, before, after *sourcev1.GitRepository) {
	ready := meta.FindStatusCondition(after.Status.Conditions, "Ready")
	if ready == nil {
		return
	}
	was := meta.FindStatusCondition(before.Status.Conditions, "Ready")
	switch {
	case ready.Status == metav1.ConditionTrue && (before.Status.Artifact == nil || before.Status.Artifact.Revision != after.Status.Artifact.Revision):
		r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, "NewArtifact", "Resolve", "%s", ready.Message)
	case ready.Status != metav1.ConditionTrue && (was == nil || was.Message != ready.Message):
		r.Recorder.Eventf(after, nil, corev1.EventTypeWarning, ready.Reason, "Resolve", "%s", ready.Message)
		log.FromContext(ctx).Info("resolving the ref failed", "reason", ready.Reason, "message", ready.Message)
	}
}
