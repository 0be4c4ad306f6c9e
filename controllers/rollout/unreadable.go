package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
)

// Argo's CRD, which Sluice serves unchanged, leaves a pod template's
// resource quantities unchecked (x-kubernetes-preserve-unknown-fields), so
// the API server stores a Rollout with `memory: invalid` that no typed
// client can decode. A typed informer then fails its whole list: every
// Rollout of the cache, not just that one, would wait forever, and the
// manager would never turn ready. So Rollouts are listed and watched as
// unstructured objects and converted here: a field that does not decode is
// left out of the cached Rollout and remembered, and the controller marks
// the Rollout InvalidSpec naming it.

// Unreadable remembers, per Rollout, the first field of the version in the
// cache that did not decode.
type Unreadable struct {
	mu    sync.Mutex
	byKey map[types.NamespacedName]unreadableVersion
}

type unreadableVersion struct {
	resourceVersion string
	problem         *field.Error
}

// NewUnreadable returns an empty record.
func NewUnreadable() *Unreadable {
	return &Unreadable{byKey: map[types.NamespacedName]unreadableVersion{}}
}

// Problem returns the field of this version of the Rollout that did not
// decode, or nil. A nil record knows of none.
func (u *Unreadable) Problem(ro *rolloutsv1alpha1.Rollout) *field.Error {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.byKey[types.NamespacedName{Namespace: ro.Namespace, Name: ro.Name}]
	if !ok || v.resourceVersion != ro.ResourceVersion {
		return nil
	}
	return v.problem
}

func (u *Unreadable) set(key types.NamespacedName, resourceVersion string, problem *field.Error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if problem == nil {
		delete(u.byKey, key)
		return
	}
	u.byKey[key] = unreadableVersion{resourceVersion: resourceVersion, problem: problem}
}

// TolerantInformers returns the manager cache's NewInformer: Rollouts, the
// typed kind, are read as described above, from namespace ("" for all)
// with the labels selector selects; every other kind as usual. namespace
// and selector must be the cache's own for Rollouts.
func TolerantInformers(cfg *rest.Config, namespace string, selector labels.Selector, unreadable *Unreadable) func(toolscache.ListerWatcher, runtime.Object, time.Duration, toolscache.Indexers) toolscache.SharedIndexInformer {
	return func(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
		if _, typed := obj.(*rolloutsv1alpha1.Rollout); typed {
			lw = &tolerantRollouts{cfg: cfg, namespace: namespace, selector: selector, unreadable: unreadable}
		}
		return toolscache.NewSharedIndexInformer(lw, obj, resync, indexers)
	}
}

// tolerantRollouts lists and watches Rollouts as unstructured objects and
// hands the informer typed ones.
type tolerantRollouts struct {
	cfg        *rest.Config
	namespace  string
	selector   labels.Selector
	unreadable *Unreadable

	once      sync.Once
	resources dynamic.ResourceInterface
	err       error
}

func (t *tolerantRollouts) client() (dynamic.ResourceInterface, error) {
	t.once.Do(func() {
		var c *dynamic.DynamicClient
		c, t.err = dynamic.NewForConfig(t.cfg)
		if t.err != nil {
			return
		}
		resources := c.Resource(rolloutsv1alpha1.RolloutGVR)
		t.resources = resources
		if t.namespace != "" {
			t.resources = resources.Namespace(t.namespace)
		}
	})
	return t.resources, t.err
}

func (t *tolerantRollouts) options(opts metav1.ListOptions) metav1.ListOptions {
	if t.selector != nil && !t.selector.Empty() {
		opts.LabelSelector = t.selector.String()
	}
	return opts
}

// List implements cache.Lister.
func (t *tolerantRollouts) List(opts metav1.ListOptions) (runtime.Object, error) {
	return t.ListWithContext(context.Background(), opts)
}

// ListWithContext implements cache.ListerWithContext.
func (t *tolerantRollouts) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	resources, err := t.client()
	if err != nil {
		return nil, err
	}
	list, err := resources.List(ctx, t.options(opts))
	if err != nil {
		return nil, err
	}
	out := &rolloutsv1alpha1.RolloutList{}
	out.SetGroupVersionKind(rolloutsv1alpha1.SchemeGroupVersion.WithKind("RolloutList"))
	out.ResourceVersion, out.Continue, out.RemainingItemCount = list.GetResourceVersion(), list.GetContinue(), list.GetRemainingItemCount()
	for i := range list.Items {
		out.Items = append(out.Items, *t.typed(&list.Items[i]))
	}
	return out, nil
}

// Watch implements cache.Watcher.
func (t *tolerantRollouts) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return t.WatchWithContext(context.Background(), opts)
}

// WatchWithContext implements cache.WatcherWithContext.
func (t *tolerantRollouts) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	resources, err := t.client()
	if err != nil {
		return nil, err
	}
	w, err := resources.Watch(ctx, t.options(opts))
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		u, ok := e.Object.(*unstructured.Unstructured)
		if !ok || e.Type == watch.Error {
			return e, true
		}
		if e.Type == watch.Deleted {
			t.unreadable.set(types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}, "", nil)
		}
		e.Object = t.typed(u)
		return e, true
	}), nil
}

// typed converts a Rollout, leaving out (and remembering) a field that
// does not decode.
func (t *tolerantRollouts) typed(u *unstructured.Unstructured) *rolloutsv1alpha1.Rollout {
	ro, problem := DecodeRollout(u)
	if t.unreadable != nil && u.GetName() != "" {
		t.unreadable.set(types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}, u.GetResourceVersion(), problem)
	}
	return ro
}

// DecodeRollout converts an unstructured Rollout to the typed one. A field
// that does not decode is left out, and the first such field is returned;
// should the rest still not decode, only the object's metadata is kept.
func DecodeRollout(u *unstructured.Unstructured) (*rolloutsv1alpha1.Rollout, *field.Error) {
	ro := &rolloutsv1alpha1.Rollout{}
	err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ro)
	if err == nil {
		return ro, nil
	}
	repaired := runtime.DeepCopyJSON(u.Object)
	problems := dropUndecodable(repaired, reflect.TypeFor[rolloutsv1alpha1.Rollout](), nil)
	ro = &rolloutsv1alpha1.Rollout{}
	if len(problems) > 0 {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(repaired, ro); err == nil {
			return ro, problems[0]
		}
	}
	ro = &rolloutsv1alpha1.Rollout{TypeMeta: metav1.TypeMeta{APIVersion: u.GetAPIVersion(), Kind: u.GetKind()}}
	if meta, ok := u.Object["metadata"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(meta, &ro.ObjectMeta)
	}
	return ro, field.Invalid(field.NewPath("spec"), field.OmitValueType{}, "cannot be read: "+err.Error())
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// dropUndecodable walks a JSON value along the Go type it decodes into,
// removes every map entry or struct field whose value that type's own
// UnmarshalJSON refuses (a resource.Quantity "invalid", say), and returns
// one error per removed value, naming its field.
func dropUndecodable(value any, t reflect.Type, path *field.Path) field.ErrorList {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var errs field.ErrorList
	check := func(v any, t reflect.Type, p *field.Path) (bad bool) {
		if reflect.PointerTo(t).Implements(jsonUnmarshaler) && v != nil {
			data, err := json.Marshal(v)
			if err == nil {
				err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(data)
			}
			if err != nil {
				errs = append(errs, field.Invalid(p, v, err.Error()))
				return true
			}
			return false
		}
		errs = append(errs, dropUndecodable(v, t, p)...)
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := value.(map[string]any)
		if !ok {
			return nil
		}
		for _, f := range jsonFields(t) {
			if v, present := m[f.name]; present && check(v, f.typ, child(path, f.name)) {
				delete(m, f.name)
			}
		}
	case reflect.Map:
		m, ok := value.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if check(m[k], t.Elem(), keyed(path, k)) {
				delete(m, k)
			}
		}
	case reflect.Slice:
		items, ok := value.([]any)
		if !ok {
			return nil
		}
		for i, v := range items {
			if check(v, t.Elem(), indexed(path, i)) {
				items[i] = nil
			}
		}
	}
	return errs
}

// jsonField is a struct field as JSON names it.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists a struct's fields as JSON sees them, in declaration
// order (so the first problem found is the first in the manifest's
// schema), with the fields of inlined (embedded) structs.
func jsonFields(t reflect.Type) []jsonField {
	var fields []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case (f.Anonymous && name == "") || strings.Contains(opts, "inline"):
			inner := f.Type
			for inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				fields = append(fields, jsonFields(inner)...)
			}
		case name == "":
			fields = append(fields, jsonField{f.Name, f.Type})
		default:
			fields = append(fields, jsonField{name, f.Type})
		}
	}
	return fields
}

func child(p *field.Path, name string) *field.Path {
	if p == nil {
		return field.NewPath(name)
	}
	return p.Child(name)
}

func keyed(p *field.Path, key string) *field.Path {
	if p == nil {
		return field.NewPath(fmt.Sprintf("[%s]", key))
	}
	return p.Key(key)
}

func indexed(p *field.Path, i int) *field.Path {
	if p == nil {
		return field.NewPath(fmt.Sprintf("[%d]", i))
	}
	return p.Index(i)
}
