package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	securefs "github.com/fluxcd/pkg/kustomize/filesys"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizationNames are the file names that make a directory a
// kustomization, in kustomize's order of preference.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// kustomizationIn names the kustomization file of dir in fsys, or "".
func kustomizationIn(fsys fs.FS, dir string) string {
	for _, name := range kustomizationNames {
		if info, err := fs.Stat(fsys, path.Join(dir, name)); err == nil && !info.IsDir() {
			return name
		}
	}
	return ""
}

// renderKustomization builds the kustomization in dir (relative to the
// checkout root) with kustomize; file names its kustomization file, for
// errors.
//
// A tenant's kustomization is confined to the tenant's checkout: kustomize
// reads through Flux's secure filesystem, which refuses every path (links
// followed) outside root, and with kustomize's root-only load restriction,
// so a kustomization cannot read the manager's token or another
// Application's checkout. Remote bases and files, which kustomize would
// fetch with no bound on time or size, are refused before the build unless
// opts.AllowRemote.
//
// Render-time settings go in a kustomization of Sluice's own, in a
// temporary directory outside the checkout that takes dir as its resource,
// so the checkout is never changed.
func renderKustomization(root string, checkout fs.FS, dir, file string, opts Options) ([]rendered, error) {
	if !opts.AllowRemote {
		if err := refuseRemote(checkout, dir); err != nil {
			return nil, err
		}
	}
	target := filepath.Join(root, dir)
	var allowed []string
	var wrapper string
	if opts.kustomizes() {
		var err error
		if wrapper, err = os.MkdirTemp("", "sluice-kustomize-"); err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(wrapper) }()
		if err := writeWrapper(wrapper, target, checkout, dir, opts); err != nil {
			return nil, err
		}
		allowed = append(allowed, wrapper)
		target = wrapper
	}
	makeFS := securefs.MakeFsOnDiskSecure
	if opts.AllowRemote {
		// Remote bases are cloned into kustomize's own temporary
		// directories, which this filesystem lets it read.
		makeFS = securefs.MakeFsOnDiskSecureBuild
	}
	fSys, err := makeFS(root, allowed...)
	if err != nil {
		return nil, err
	}
	resources, err := build(fSys, target)
	if err != nil {
		// The checkout's location on the manager's disk means nothing to
		// the tenant, and is not theirs to know.
		msg := err.Error()
		if wrapper != "" {
			msg = strings.ReplaceAll(msg, wrapper, "spec.source.kustomize")
		}
		msg = strings.ReplaceAll(msg, root+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, root, "the repository")
		return nil, fmt.Errorf("kustomize build of %s: %s", file, msg)
	}
	return objectsOf(resources, file)
}

// kustomizeDirectory applies the kustomize options to the objects of a
// plain directory, as Flux does with the kustomization it generates for
// one: the objects (chosen by directory's recurse, include and exclude)
// are the resources of a kustomization of the options, built in a
// temporary directory that holds nothing of the checkout but them and
// the patches, already read through the checkout's confinement.
func kustomizeDirectory(checkout fs.FS, dir, path string, found []rendered, opts Options) ([]rendered, error) {
	wrapper, err := os.MkdirTemp("", "sluice-kustomize-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(wrapper) }()
	var resources bytes.Buffer
	for _, r := range found {
		data, err := json.Marshal(r.object.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.origin, err)
		}
		resources.WriteString("---\n")
		resources.Write(data)
		resources.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(wrapper, directoryResources), resources.Bytes(), 0o600); err != nil {
		return nil, err
	}
	if err := writeWrapper(wrapper, filepath.Join(wrapper, directoryResources), checkout, dir, opts); err != nil {
		return nil, err
	}
	fSys, err := securefs.MakeFsOnDiskSecure(wrapper)
	if err != nil {
		return nil, err
	}
	origin := "spec.source.kustomize on " + path
	built, err := build(fSys, wrapper)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), wrapper+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, wrapper, "spec.source.kustomize")
		return nil, fmt.Errorf("%s: %s", origin, msg)
	}
	return objectsOf(built, origin)
}

// directoryResources is the file of a plain directory's objects in the
// kustomization kustomizeDirectory writes.
const directoryResources = "resources.yaml"

// objectsOf are a build's objects, each from origin.
func objectsOf(resources resmap.ResMap, origin string) ([]rendered, error) {
	var objects []rendered
	for _, res := range resources.Resources() {
		// Map holds Go ints: Render normalizes them.
		m, err := res.Map()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", origin, err)
		}
		objects = append(objects, rendered{origin: origin, object: &unstructured.Unstructured{Object: m}, source: documentOfResource(res)})
	}
	return objects, nil
}

// kustomizes reports whether any kustomize option is set.
func (o Options) kustomizes() bool {
	return len(o.Images) > 0 || o.NamePrefix != "" || o.NameSuffix != "" || len(o.CommonLabels) > 0 ||
		o.kustomizeOnlyField() != ""
}

// kustomizeOnlyField names the first option set that a Helm chart does not
// take, or "". (Images and the name and label options predate the check
// and are left out of a chart's render without an error.)
func (o Options) kustomizeOnlyField() string {
	switch {
	case o.Namespace != "":
		return "namespace"
	case len(o.CommonAnnotations) > 0:
		return "commonAnnotations"
	case len(o.Patches) > 0:
		return "patches"
	}
	return ""
}

// build runs kustomize on target, root-only. Kustomize panics on some
// input (a generator named "0," did, found by FuzzRender): a tenant's
// kustomization is an error of that render, never a crash.
func build(fSys filesys.FileSystem, target string) (resources resmap.ResMap, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize cannot build it: %v", r)
		}
	}()
	options := krusty.MakeDefaultOptions()
	options.LoadRestrictions = kustypes.LoadRestrictionsRootOnly
	return krusty.MakeKustomizer(options).Run(fSys, target)
}

// writeWrapper writes into wrapper a kustomization of the render-time
// settings that takes target as its resource. A patch's file is read from
// dir of checkout and written inline, so kustomize reads nothing of the
// checkout for it.
func writeWrapper(wrapper, target string, checkout fs.FS, dir string, opts Options) error {
	// Kustomize takes resources by relative path only.
	rel, err := filepath.Rel(wrapper, target)
	if err != nil {
		return err
	}
	k := kustypes.Kustomization{
		TypeMeta:          kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources:         []string{rel},
		NamePrefix:        opts.NamePrefix,
		NameSuffix:        opts.NameSuffix,
		Namespace:         opts.Namespace,
		CommonAnnotations: opts.CommonAnnotations,
	}
	if len(opts.CommonLabels) > 0 {
		// commonLabels' meaning, without its deprecated field: on every
		// object, its selectors and its templates.
		k.Labels = []kustypes.Label{{Pairs: opts.CommonLabels, IncludeSelectors: true, IncludeTemplates: true}}
	}
	for _, image := range opts.Images {
		img, err := parseImage(image)
		if err != nil {
			return err
		}
		k.Images = append(k.Images, img)
	}
	for i, p := range opts.Patches {
		patch, err := kustomizePatch(checkout, dir, p)
		if err != nil {
			return fmt.Errorf("spec.source.kustomize.patches[%d]: %w", i, err)
		}
		k.Patches = append(k.Patches, patch)
	}
	data, err := yaml.Marshal(k)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(wrapper, "kustomization.yaml"), data, 0o600)
}

// refuseRemote reads the kustomizations reachable from dir through local
// resources and components, and returns an error naming the first
// kustomization file that refers to something outside the checkout: a
// remote base kustomize would clone, or a file it would fetch over HTTP.
// A kustomization that does not parse is left for kustomize to report.
func refuseRemote(checkout fs.FS, dir string) error {
	seen := map[string]bool{}
	var visit func(dir string) error
	visit = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		name := kustomizationIn(checkout, dir)
		if name == "" {
			return nil
		}
		file := path.Join(dir, name)
		data, err := fs.ReadFile(checkout, file)
		if err != nil {
			return nil
		}
		var k kustypes.Kustomization
		if err := yaml.Unmarshal(data, &k); err != nil {
			return nil
		}
		// Bases join resources, and the older patch fields join patches.
		k.FixKustomization()
		for _, ref := range fileReferences(&k) {
			if isRemote(ref) {
				return fmt.Errorf("%s: %q is outside the repository: remote bases and files are off "+
					"(the manager's --allow-remote-bases turns them on)", file, ref)
			}
		}
		for _, ref := range append(k.Resources, k.Components...) {
			next := path.Join(dir, ref)
			if !fs.ValidPath(next) {
				continue // above the checkout: the secure filesystem refuses it
			}
			if info, err := fs.Stat(checkout, next); err == nil && info.IsDir() {
				if err := visit(next); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit(dir)
}

// fileReferences lists every entry of a fixed kustomization that
// kustomize loads as a file or directory: where a remote address would be
// fetched.
func fileReferences(k *kustypes.Kustomization) []string {
	refs := append([]string{}, k.Resources...)
	refs = append(refs, k.Components...)
	refs = append(refs, k.Crds...)
	refs = append(refs, k.Configurations...)
	// Generators, transformers and validators are file names or inline
	// YAML; inline YAML is never remote.
	refs = append(refs, k.Generators...)
	refs = append(refs, k.Transformers...)
	refs = append(refs, k.Validators...)
	for _, p := range k.Patches { // with the older patch fields, once fixed
		refs = append(refs, p.Path)
	}
	for _, r := range k.Replacements {
		refs = append(refs, r.Path)
	}
	refs = append(refs, k.OpenAPI["path"])
	sources := func(kv kustypes.KvPairSources) {
		for _, f := range kv.FileSources {
			// "key=path" or "path".
			_, file, found := strings.Cut(f, "=")
			if !found {
				file = f
			}
			refs = append(refs, file)
		}
		refs = append(refs, kv.EnvSources...)
		refs = append(refs, kv.EnvSource)
	}
	for _, g := range k.ConfigMapGenerator {
		sources(g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		sources(g.KvPairSources)
	}
	return refs
}

// isRemote reports whether kustomize would take ref for something to
// fetch rather than a path in the checkout: a URL (https, http, ssh, file,
// git, with or without go-getter's "git::"), an SCP-style address
// (user@host:org/repo), or GitHub's host with no scheme. It errs towards
// remote: a local path never looks like one of these.
func isRemote(ref string) bool {
	r := strings.ToLower(strings.TrimSpace(ref))
	if strings.Contains(r, "\n") {
		return false // inline YAML
	}
	r = strings.TrimPrefix(r, "git::")
	if strings.Contains(r, "://") || strings.HasPrefix(r, "github.com") {
		return true
	}
	user, rest, found := strings.Cut(r, "@")
	return found && user != "" && !strings.Contains(user, "/") && strings.Contains(rest, ":")
}

// parseImage reads an image override as `kustomize edit set image` takes
// it: "name=newName:tag", "name=newName@digest", "name:tag" or "name@digest".
func parseImage(s string) (kustypes.Image, error) {
	img := kustypes.Image{}
	name, value, renamed := strings.Cut(s, "=")
	img.Name = name
	if !renamed {
		value = s
	}
	if at := strings.Index(value, "@"); at >= 0 {
		img.Digest = value[at+1:]
		value = value[:at]
	} else if colon := strings.LastIndex(value, ":"); colon >= 0 && !strings.Contains(value[colon:], "/") {
		img.NewTag = value[colon+1:]
		value = value[:colon]
	}
	if renamed {
		img.NewName = value
	} else {
		img.Name = value
	}
	if img.Name == "" {
		return img, fmt.Errorf("image %q: no image name", s)
	}
	return img, nil
}
