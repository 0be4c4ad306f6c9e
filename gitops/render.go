package gitops

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/render"
)

// RenderOptions are an Application source's render settings; allowRemote
// is the operator's, never the tenant's.
func RenderOptions(src gitopsv1alpha1.ApplicationSource, allowRemote bool) render.Options {
	opts := render.Options{AllowRemote: allowRemote}
	if d := src.Directory; d != nil {
		opts.Recurse, opts.Include, opts.Exclude = d.Recurse, d.Include, d.Exclude
	}
	if k := src.Kustomize; k != nil {
		opts.Images, opts.NamePrefix, opts.NameSuffix, opts.CommonLabels = k.Images, k.NamePrefix, k.NameSuffix, k.CommonLabels
	}
	return opts
}

// PlaceInNamespace gives namespaced objects that name no namespace the
// destination's.
func PlaceInNamespace(objects []*unstructured.Unstructured, namespace string, mapper meta.RESTMapper) error {
	for _, o := range objects {
		if o.GetNamespace() != "" {
			continue
		}
		mapping, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
		if err != nil {
			if meta.IsNoMatchError(err) {
				continue // a kind whose CRD this sync applies: left to the API server
			}
			return err
		}
		if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			continue
		}
		if namespace == "" {
			return fmt.Errorf("%s %s names no namespace and destination.namespace is empty", o.GetKind(), o.GetName())
		}
		o.SetNamespace(namespace)
	}
	return nil
}
