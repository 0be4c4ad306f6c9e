package application

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
)

// A door is an API through which Applications reach the engine: Sluice's
// own Application (gitops.sluice.dev), Argo CD's (argoproj.io), Flux's
// Kustomization. The engine (observe, plan, execute, conclude) runs on
// gitopsv1alpha1.Application values whatever the door; a door reads its
// kind into one and writes the engine's status back in its kind's shape.
// Each door is a controller of its own, with its own owner labels
// (gitops.Owner), so objects of the same name behind two doors never touch
// each other's objects.
type door interface {
	// name is the controller's name, in logs, events and metrics.
	name() string
	// gvk is the kind the door serves.
	gvk() schema.GroupVersionKind
	// owner is the pair of labels the objects applied through it carry.
	owner() gitops.Owner
	// watched is an empty object of the kind, for the controller's watch.
	watched() client.Object
	// get reads the object of key as the Application the engine runs;
	// NotFound when there is none.
	get(ctx context.Context, reader client.Reader, key types.NamespacedName) (*gitopsv1alpha1.Application, error)
	// list reads every object of the kind.
	list(ctx context.Context, reader client.Reader) ([]gitopsv1alpha1.Application, error)
	// object is app as the API knows it: what patches and events go to.
	object(app *gitopsv1alpha1.Application) client.Object
	// statusPatch is the patch of the object's status that records app's
	// status, from what it was in original; nil when nothing changed.
	statusPatch(original, app *gitopsv1alpha1.Application) (client.Patch, error)
}

// notRunnable is a door's reason not to run the engine now: the source or
// a dependency is not ready, or the spec asks for what is not served. The
// Application's status says so, and the reconcile looks again after retry
// (never, when stalled: only a change of the spec helps).
type notRunnable struct {
	reason, message string
	stalled         bool
	retry           time.Duration
}

func (n *notRunnable) Error() string { return n.message }

// notRunnablePatcher is a door whose get may hold the engine back
// (*notRunnable): it writes why in its kind's status.
type notRunnablePatcher interface {
	notRunnablePatch(app *gitopsv1alpha1.Application, blocked *notRunnable, now time.Time) (client.Patch, error)
}

// kubeconfigDoor is a door whose objects may name their cluster by a
// kubeconfig Secret of their namespace, as Flux's kubeConfig.secretRef
// does, rather than by a registered cluster (clusters.go).
type kubeconfigDoor interface {
	// kubeconfig is the Secret's name and key ("" for value or
	// value.yaml) app names, if it names one.
	kubeconfig(app *gitopsv1alpha1.Application) (name, key string, ok bool)
}

// watcher is a door that is woken by other kinds than its own.
type watcher interface {
	watches(b *builder.Builder, reader client.Reader) *builder.Builder
}

// sluiceDoor is Sluice's own Application, typed.
type sluiceDoor struct{}

func (sluiceDoor) name() string { return Name }
func (sluiceDoor) gvk() schema.GroupVersionKind {
	return gitopsv1alpha1.GroupVersion.WithKind("Application")
}
func (sluiceDoor) owner() gitops.Owner    { return gitops.ApplicationOwner }
func (sluiceDoor) watched() client.Object { return &gitopsv1alpha1.Application{} }

func (sluiceDoor) get(ctx context.Context, reader client.Reader, key types.NamespacedName) (*gitopsv1alpha1.Application, error) {
	var app gitopsv1alpha1.Application
	if err := reader.Get(ctx, key, &app); err != nil {
		return nil, err
	}
	return &app, nil
}

func (sluiceDoor) list(ctx context.Context, reader client.Reader) ([]gitopsv1alpha1.Application, error) {
	var apps gitopsv1alpha1.ApplicationList
	err := reader.List(ctx, &apps)
	return apps.Items, err
}

func (sluiceDoor) object(app *gitopsv1alpha1.Application) client.Object { return app }

func (sluiceDoor) statusPatch(original, app *gitopsv1alpha1.Application) (client.Patch, error) {
	return mergePatch(original, app)
}

// argoCDDoor is Argo CD's Application (argoproj.io/v1alpha1), for a cluster
// without Argo CD: the same Go type as Sluice's, read and written as
// unstructured objects of Argo CD's group, so the seed's Argo CD YAML
// applies byte for byte. A field Sluice does not serve is pruned by the API
// server, which warns of it, as for any CRD.
type argoCDDoor struct{}

// ArgoCDApplication is Argo CD's Application kind.
var ArgoCDApplication = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}

// ArgoCDName is the controller's name for argoproj.io Applications.
const ArgoCDName = "application-argocd"

func (argoCDDoor) name() string                 { return ArgoCDName }
func (argoCDDoor) gvk() schema.GroupVersionKind { return ArgoCDApplication }
func (argoCDDoor) owner() gitops.Owner          { return gitops.ArgoCDApplicationOwner }
func (argoCDDoor) watched() client.Object {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ArgoCDApplication)
	return u
}

func (d argoCDDoor) get(ctx context.Context, reader client.Reader, key types.NamespacedName) (*gitopsv1alpha1.Application, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ArgoCDApplication)
	if err := reader.Get(ctx, key, u); err != nil {
		return nil, err
	}
	return fromUnstructured(u)
}

func (d argoCDDoor) list(ctx context.Context, reader client.Reader) ([]gitopsv1alpha1.Application, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(ArgoCDApplication.GroupVersion().WithKind("ApplicationList"))
	if err := reader.List(ctx, list); err != nil {
		return nil, err
	}
	apps := make([]gitopsv1alpha1.Application, 0, len(list.Items))
	for i := range list.Items {
		app, err := fromUnstructured(&list.Items[i])
		if err != nil {
			return nil, err
		}
		apps = append(apps, *app)
	}
	return apps, nil
}

// fromUnstructured reads an argoproj.io Application into Sluice's type:
// the CRD is made from that type, so every field it keeps converts.
func fromUnstructured(u *unstructured.Unstructured) (*gitopsv1alpha1.Application, error) {
	var app gitopsv1alpha1.Application
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &app); err != nil {
		return nil, fmt.Errorf("reading %s %s/%s: %w", ArgoCDApplication.Kind, u.GetNamespace(), u.GetName(), err)
	}
	app.SetGroupVersionKind(ArgoCDApplication)
	return &app, nil
}

// object is the argoproj.io object app stands for: its kind and identity,
// which is all a raw patch or an event needs.
func (argoCDDoor) object(app *gitopsv1alpha1.Application) client.Object {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(ArgoCDApplication)
	u.SetNamespace(app.Namespace)
	u.SetName(app.Name)
	u.SetUID(app.UID)
	u.SetResourceVersion(app.ResourceVersion)
	u.SetGeneration(app.Generation)
	u.SetLabels(app.Labels)
	u.SetAnnotations(app.Annotations)
	return u
}

func (argoCDDoor) statusPatch(original, app *gitopsv1alpha1.Application) (client.Patch, error) {
	return mergePatch(original, app)
}

// mergePatch is the JSON merge patch from original to app, as a raw patch
// any door's object takes; nil when they are the same.
func mergePatch(original, app *gitopsv1alpha1.Application) (client.Patch, error) {
	data, err := client.MergeFrom(original).Data(app)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, nil
	}
	return client.RawPatch(types.MergePatchType, data), nil
}
