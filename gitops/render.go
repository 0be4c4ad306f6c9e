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
		opts.Namespace, opts.CommonAnnotations = k.Namespace, k.CommonAnnotations
		for _, p := range k.Patches {
			patch := render.Patch{Path: p.Path, Patch: p.Patch, Options: p.Options}
			if t := p.Target; t != nil {
				patch.Target = &render.PatchTarget{Group: t.Group, Version: t.Version, Kind: t.Kind, Name: t.Name,
					Namespace: t.Namespace, LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector}
			}
			opts.Patches = append(opts.Patches, patch)
		}
	}
	if h := src.Helm; h != nil {
		opts.Helm = render.HelmOptions{
			Explicit:                true,
			ReleaseName:             h.ReleaseName,
			ValueFiles:              h.ValueFiles,
			IgnoreMissingValueFiles: h.IgnoreMissingValueFiles,
			Values:                  h.Values,
			SkipCrds:                h.SkipCrds,
			SkipSchemaValidation:    h.SkipSchemaValidation,
		}
		// valuesObject replaces values, as in Argo CD. Its JSON is a
		// YAML document too.
		if o := h.ValuesObject; o != nil && len(o.Raw) > 0 && string(o.Raw) != "null" {
			opts.Helm.Values = string(o.Raw)
		}
		for _, p := range h.Parameters {
			opts.Helm.Parameters = append(opts.Helm.Parameters, render.HelmParameter{Name: p.Name, Value: p.Value, ForceString: p.ForceString})
		}
	}
	return opts
}

// ApplicationRenderOptions are RenderOptions for app, rendering into the
// destination namespace: a chart renders as the release named by
// helm.releaseName, or by the Application's name (as in Argo CD), in that
// namespace.
func ApplicationRenderOptions(app *gitopsv1alpha1.Application, namespace string, allowRemote bool) render.Options {
	opts := RenderOptions(app.Spec.Source, allowRemote)
	if opts.Helm.ReleaseName == "" {
		opts.Helm.ReleaseName = app.Name
	}
	opts.Helm.Namespace = namespace
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
