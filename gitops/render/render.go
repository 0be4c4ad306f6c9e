// Package render turns a directory of a Git checkout into the objects to
// apply: a plain directory of YAML and JSON manifests, or a kustomization
// built in-process with kustomize. A file that does not parse is an error
// that names it and the line, and the whole render fails: nothing of a
// broken revision is applied.
package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Options are an Application's render settings.
type Options struct {
	// Recurse, Include and Exclude select files of a plain directory.
	// Include and Exclude are globs matched against a file's path relative
	// to the directory, with {a,b} alternatives, as Argo CD matches them.
	Recurse          bool
	Include, Exclude string
	// Kustomize adjusts a kustomization at render time.
	Images                 []string
	NamePrefix, NameSuffix string
	CommonLabels           map[string]string
}

// Render renders path, relative to root (the checkout), and returns the
// objects in the order they were found, each holding JSON-typed values
// only (see normalize).
func Render(root, path string, opts Options) ([]*unstructured.Unstructured, error) {
	dir := filepath.Join(root, filepath.Clean("/"+path))
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", path, notFound(err))
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("path %q is not a directory", path)
	}
	var found []rendered
	if name := kustomization(dir); name != "" {
		found, err = renderKustomization(dir, filepath.Join(path, name), opts)
	} else {
		found, err = renderDirectory(dir, opts)
	}
	if err != nil {
		return nil, err
	}
	objects := make([]*unstructured.Unstructured, 0, len(found))
	for _, r := range found {
		if err := normalize(r.origin, r.object); err != nil {
			return nil, err
		}
		objects = append(objects, r.object)
	}
	return objects, nil
}

// rendered is an object as a producer made it, and where it came from: a
// file of a plain directory, or the kustomization that built it.
type rendered struct {
	origin string
	object *unstructured.Unstructured
}

func notFound(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("no such directory in the revision")
	}
	return err
}

// kustomization names the kustomization file of dir, or "".
func kustomization(dir string) string {
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return name
		}
	}
	return ""
}

func renderDirectory(dir string, opts Options) ([]rendered, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if p != dir && (!opts.Recurse || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		if opts.Include != "" && !matchGlob(opts.Include, rel) {
			return nil
		}
		if opts.Exclude != "" && matchGlob(opts.Exclude, rel) {
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var objects []rendered
	for _, file := range files {
		rel, _ := filepath.Rel(dir, file)
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		found, err := Decode(rel, data)
		if err != nil {
			return nil, err
		}
		for _, o := range found {
			objects = append(objects, rendered{origin: rel, object: o})
		}
	}
	return objects, nil
}

// lineInError finds the line a YAML error names.
var lineInError = regexp.MustCompile(`line (\d+)`)

// Decode reads every object of a YAML or JSON file. Empty documents are
// skipped; a List's items are objects of their own. An error names the file
// and, for YAML, the line in the file. Numbers come out as float64: Render
// normalizes them.
func Decode(name string, data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objects []*unstructured.Unstructured
	line := 1 // where the current document starts in the file
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		start := line
		line += bytes.Count(doc, []byte("\n"))
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			msg := err.Error()
			if m := lineInError.FindStringSubmatch(msg); m != nil {
				n, _ := strconv.Atoi(m[1])
				return nil, fmt.Errorf("%s:%d: %s", name, start+n-1, msg)
			}
			return nil, fmt.Errorf("%s:%d: %s", name, start, msg)
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("%s:%d: an object needs apiVersion and kind", name, start)
		}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, start, err)
			}
			for i := range list.Items {
				objects = append(objects, &list.Items[i])
			}
			continue
		}
		if u.GetName() == "" {
			return nil, fmt.Errorf("%s:%d: %s has no metadata.name", name, start, u.GetKind())
		}
		objects = append(objects, u)
	}
}

// stripComments drops comment lines, so a document of comments only counts
// as empty.
func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out.Write(line)
		}
	}
	return out.Bytes()
}

// matchGlob matches a glob with {a,b} alternatives against a relative path.
func matchGlob(pattern, rel string) bool {
	for _, p := range expandBraces(pattern) {
		if ok, _ := filepath.Match(p, rel); ok {
			return true
		}
		if ok, _ := filepath.Match(p, filepath.Base(rel)); ok && !strings.Contains(p, "/") {
			return true
		}
	}
	return false
}

func expandBraces(pattern string) []string {
	open := strings.Index(pattern, "{")
	end := strings.Index(pattern, "}")
	if open < 0 || end < open {
		return []string{pattern}
	}
	var out []string
	for _, alt := range strings.Split(pattern[open+1:end], ",") {
		out = append(out, expandBraces(pattern[:open]+alt+pattern[end+1:])...)
	}
	return out
}

// renderKustomization builds dir with kustomize; file names its
// kustomization file in the checkout, for errors. Render-time settings go
// in a kustomization of their own, in a temporary directory, that takes dir
// as its resource, so the checkout is never changed.
func renderKustomization(dir, file string, opts Options) ([]rendered, error) {
	target := dir
	if len(opts.Images) > 0 || opts.NamePrefix != "" || opts.NameSuffix != "" || len(opts.CommonLabels) > 0 {
		wrapper, err := os.MkdirTemp("", "sluice-kustomize-")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(wrapper) }()
		// Kustomize takes resources by relative path only.
		rel, err := filepath.Rel(wrapper, dir)
		if err != nil {
			return nil, err
		}
		k := kustypes.Kustomization{
			TypeMeta:   kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
			Resources:  []string{rel},
			NamePrefix: opts.NamePrefix,
			NameSuffix: opts.NameSuffix,
		}
		if len(opts.CommonLabels) > 0 {
			// commonLabels' meaning, without its deprecated field: on every
			// object, its selectors and its templates.
			k.Labels = []kustypes.Label{{Pairs: opts.CommonLabels, IncludeSelectors: true, IncludeTemplates: true}}
		}
		for _, image := range opts.Images {
			img, err := parseImage(image)
			if err != nil {
				return nil, err
			}
			k.Images = append(k.Images, img)
		}
		data, err := yaml.Marshal(k)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(wrapper, "kustomization.yaml"), data, 0o600); err != nil {
			return nil, err
		}
		target = wrapper
	}
	options := krusty.MakeDefaultOptions()
	options.LoadRestrictions = kustypes.LoadRestrictionsNone
	resources, err := krusty.MakeKustomizer(options).Run(filesys.MakeFsOnDisk(), target)
	if err != nil {
		return nil, fmt.Errorf("kustomize build of %s: %w", file, err)
	}
	var objects []rendered
	for _, res := range resources.Resources() {
		// Map holds Go ints: Render normalizes them.
		m, err := res.Map()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		objects = append(objects, rendered{origin: file, object: &unstructured.Unstructured{Object: m}})
	}
	return objects, nil
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
