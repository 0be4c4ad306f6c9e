// Package gitops syncs an Application: what its objects are (the
// inventory), which of them are stale, the sync options it asks for, and
// applying and pruning through server-side apply. Fetching and rendering
// live in gitops/source and gitops/render; the controller in
// controllers/application puts them together.
package gitops

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// RefOf identifies an object in an inventory.
func RefOf(u *unstructured.Unstructured) gitopsv1alpha1.ObjectRef {
	gvk := u.GroupVersionKind()
	return gitopsv1alpha1.ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// key identifies an object whatever the version it was applied at.
func key(r gitopsv1alpha1.ObjectRef) string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Inventory lists objects as refs, in a stable order.
func Inventory(objects []*unstructured.Unstructured) []gitopsv1alpha1.ObjectRef {
	refs := make([]gitopsv1alpha1.ObjectRef, 0, len(objects))
	for _, o := range objects {
		refs = append(refs, RefOf(o))
	}
	sort.Slice(refs, func(i, j int) bool { return key(refs[i]) < key(refs[j]) })
	return refs
}

// Stale lists the objects of the previous inventory that the current
// objects no longer include: what a prune deletes.
func Stale(previous []gitopsv1alpha1.ObjectRef, current []*unstructured.Unstructured) []gitopsv1alpha1.ObjectRef {
	present := map[string]bool{}
	for _, o := range current {
		present[key(RefOf(o))] = true
	}
	var stale []gitopsv1alpha1.ObjectRef
	for _, r := range previous {
		if !present[key(r)] {
			stale = append(stale, r)
		}
	}
	return stale
}

// SyncOptions are the syncOptions an Application sets, as Argo CD spells
// them.
type SyncOptions struct {
	CreateNamespace bool
	PruneLast       bool
	// RespectIgnoreDifferences keeps ignoreDifferences' fields as they are
	// live when a sync writes an object that exists.
	RespectIgnoreDifferences bool
	// PropagationPolicy is foreground, background (the default) or orphan.
	PropagationPolicy string
	// Replace writes objects whole, created or updated as kubectl create
	// and replace do, instead of applying them server-side: fields the
	// objects do not set are cleared, whoever set them.
	Replace bool
	// Force deletes and recreates an object whose write is refused for
	// changing an immutable field (a Job's template, a Service's type
	// change, a selector).
	Force bool
}

// ParseSyncOptions reads "Name=value" entries; unknown ones are ignored, as
// Argo CD ignores them.
func ParseSyncOptions(options []string) SyncOptions {
	out := SyncOptions{PropagationPolicy: "background"}
	out.parse(options)
	return out
}

func (o *SyncOptions) parse(options []string) {
	for _, entry := range options {
		name, value, _ := strings.Cut(entry, "=")
		on := strings.EqualFold(strings.TrimSpace(value), "true")
		switch strings.TrimSpace(name) {
		case "CreateNamespace":
			o.CreateNamespace = on
		case "PruneLast":
			o.PruneLast = on
		case "Replace":
			o.Replace = on
		case "Force":
			o.Force = on
		case "RespectIgnoreDifferences":
			o.RespectIgnoreDifferences = on
		case "PrunePropagationPolicy":
			switch v := strings.ToLower(strings.TrimSpace(value)); v {
			case "foreground", "background", "orphan":
				o.PropagationPolicy = v
			}
		}
	}
}

// ForObject is the options for one object: the Application's, with the
// entries of the object's own argocd.argoproj.io/sync-options annotation
// (comma-separated, as in Argo CD) taking precedence, so an object can ask
// for Replace=true or Force=true, or opt out with Replace=false.
func (o SyncOptions) ForObject(annotations map[string]string) SyncOptions {
	own, ok := annotations[argoCDSyncOptionsAnno]
	if !ok {
		return o
	}
	o.parse(strings.Split(own, ","))
	return o
}

// Annotations that keep an object from being pruned: Sluice's own, and the
// ones Flux and Argo CD users already put on their objects.
const (
	PruneAnnotation       = "gitops.sluice.dev/prune"
	fluxPruneAnnotation   = "kustomize.toolkit.fluxcd.io/prune"
	argoCDSyncOptionsAnno = "argocd.argoproj.io/sync-options"
)

// PruneDisabled reports whether an object opted out of pruning.
func PruneDisabled(annotations map[string]string) bool {
	if annotations[PruneAnnotation] == "disabled" || annotations[fluxPruneAnnotation] == "disabled" {
		return true
	}
	return hasArgoCDSyncOption(annotations, "Prune=false")
}

// hasArgoCDSyncOption reports whether an object's
// argocd.argoproj.io/sync-options annotation lists option.
func hasArgoCDSyncOption(annotations map[string]string, option string) bool {
	for _, o := range strings.Split(annotations[argoCDSyncOptionsAnno], ",") {
		if strings.EqualFold(strings.TrimSpace(o), option) {
			return true
		}
	}
	return false
}
