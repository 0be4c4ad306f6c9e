package application

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
)

// Tenancy is how far the operator lets Applications reach: the lockdown
// Flux documents for multi-tenancy, in Sluice's terms. The zero value
// trusts every Application with the manager's rights, as Argo CD's and
// Flux's defaults do.
type Tenancy struct {
	// DefaultServiceAccount, when set, is the service account (of the
	// Application's namespace) an Application acts as when it names none,
	// instead of the manager.
	DefaultServiceAccount string
	// NamespaceLock keeps an Application's objects in its own namespace:
	// another destination namespace, an object naming another namespace and
	// a cluster-scoped object each fail the sync, naming it.
	NamespaceLock bool
	// LockExempt lists namespaces whose Applications the lock does not
	// bind: the platform team's, such as argocd or flux-system.
	LockExempt []string
}

// maxParentDepth bounds the walk up a chain of apps of apps, so a cycle of
// forged labels cannot loop.
const maxParentDepth = 8

// serviceAccountUser is the user Kubernetes knows a service account as.
func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ownIdentity is who an Application acts as by itself: its
// serviceAccountName, else the operator's default service account in its
// namespace, else "" (the manager's own rights).
func ownIdentity(app *gitopsv1alpha1.Application, defaultServiceAccount string) string {
	switch {
	case app.Spec.ServiceAccountName != "":
		return serviceAccountUser(app.Namespace, app.Spec.ServiceAccountName)
	case defaultServiceAccount != "":
		return serviceAccountUser(app.Namespace, defaultServiceAccount)
	default:
		return ""
	}
}

// boundedByParent is who an Application applied by another one acts as:
// never more than its parent. A parent with the manager's rights is the
// operator's, and its children act as themselves; otherwise a child that
// names no service account acts as its parent does, and one that names
// another account than its parent's is refused. own is the child's own
// identity, named whether the child names a service account.
func boundedByParent(own string, named bool, parent string) (string, error) {
	switch {
	case parent == "":
		return own, nil
	case !named || own == parent:
		return parent, nil
	default:
		return "", fmt.Errorf("it was applied by an Application that acts as %s, and may not act as %s", parent, own)
	}
}

// identity is who app acts as (see ownIdentity and boundedByParent). Its
// parent is the Application whose labels it carries and whose inventory
// lists it: a label alone, which anyone may write, makes no parent.
func (r *Reconciler) identity(ctx context.Context, app *gitopsv1alpha1.Application, depth int) (string, error) {
	own := ownIdentity(app, r.Tenancy.DefaultServiceAccount)
	parent, err := r.parentOf(ctx, app)
	if err != nil || parent == nil || depth >= maxParentDepth {
		return own, err
	}
	inherited, err := r.identity(ctx, parent, depth+1)
	if err != nil {
		return "", err
	}
	return boundedByParent(own, app.Spec.ServiceAccountName != "", inherited)
}

// parentOf reads the Application that applied app, or nil.
func (r *Reconciler) parentOf(ctx context.Context, app *gitopsv1alpha1.Application) (*gitopsv1alpha1.Application, error) {
	key, ok := r.door.owner().Of(app.Labels)
	if !ok {
		return nil, nil
	}
	parent, err := r.door.get(ctx, r.APIReader, key)
	if err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	gvk := r.door.gvk()
	me := gitopsv1alpha1.ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: app.Namespace, Name: app.Name}
	if !slices.Contains(parent.Status.Inventory, me) {
		return nil, nil
	}
	return parent, nil
}

// clientAs makes a client acting as user ("" for the manager): uncached,
// so a sync caches nothing of the kinds it applies.
func (r *Reconciler) clientAs(user string) (client.Client, error) {
	cfg := rest.CopyConfig(r.Config)
	if user != "" {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	}
	return client.New(cfg, client.Options{Scheme: r.Client.Scheme(), Mapper: r.Mapper})
}

// readerAs is what reads as user: the API reader for the manager (""),
// else a client impersonating user, so a tenant reads only what its
// service account may.
func (r *Reconciler) readerAs(user string) (client.Reader, error) {
	if user == "" {
		return r.APIReader, nil
	}
	return r.clientAs(user)
}

// locked reports whether the namespace lock binds an Application.
func (t Tenancy) locked(app *gitopsv1alpha1.Application) bool {
	return t.NamespaceLock && !slices.Contains(t.LockExempt, app.Namespace)
}

// destination is where an Application's objects that name no namespace go:
// under the lock, its own namespace unless it names the same.
func (t Tenancy) destination(app *gitopsv1alpha1.Application) (string, error) {
	dest := app.Spec.Destination.Namespace
	if !t.locked(app) {
		return dest, nil
	}
	if dest != "" && dest != app.Namespace {
		return "", fmt.Errorf("destination.namespace %s: Applications of namespace %s sync into it alone (the manager's namespace lock)",
			dest, app.Namespace)
	}
	return app.Namespace, nil
}

// checkLock refuses, under the lock, the first object outside the
// Application's namespace or of a cluster-scoped kind, naming it.
func (t Tenancy) checkLock(app *gitopsv1alpha1.Application, objects []*unstructured.Unstructured, mapper meta.RESTMapper) error {
	if !t.locked(app) {
		return nil
	}
	for _, o := range objects {
		gvk := o.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		switch {
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
			if o.GetNamespace() != app.Namespace {
				return fmt.Errorf("%s %s: a kind the cluster does not serve yet, outside namespace %s (the manager's namespace lock)",
					o.GetKind(), o.GetName(), app.Namespace)
			}
		case err != nil:
			return err
		case mapping.Scope.Name() != meta.RESTScopeNameNamespace:
			return fmt.Errorf("%s %s is cluster-scoped: Applications of namespace %s may not apply it (the manager's namespace lock)",
				o.GetKind(), o.GetName(), app.Namespace)
		case o.GetNamespace() != app.Namespace:
			return fmt.Errorf("%s %s is in namespace %s: Applications of namespace %s apply objects there alone (the manager's namespace lock)",
				o.GetKind(), o.GetName(), o.GetNamespace(), app.Namespace)
		}
	}
	return nil
}

// syncerAs makes the Syncer objects are applied with, acting as user.
func (r *Reconciler) syncerAs(user string) (*gitops.Syncer, error) {
	c, err := r.clientAs(user)
	if err != nil {
		return nil, err
	}
	return gitops.NewSyncer(c, r.door.owner()), nil
}
