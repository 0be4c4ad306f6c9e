// Package render turns a directory of a Git checkout into the objects to
// apply: a plain directory of YAML and JSON manifests, a kustomization
// built in-process with kustomize, or a Helm chart rendered in-process
// with Helm's engine. A file that does not parse is an error
// that names it and the line, and the whole render fails: nothing of a
// broken revision is applied.
package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Options are an Application's render settings.
type Options struct {
	// Recurse, Include and Exclude select files of a plain directory.
	// Include and Exclude are globs matched against a file's path relative
	// to the directory, with {a,b} alternatives, as Argo CD matches them.
	Recurse          bool
	Include, Exclude string
	// Kustomize adjusts a kustomization at render time. Set on a plain
	// directory, its manifests become the resources of a kustomization of
	// these settings (see kustomize.go).
	Images                 []string
	NamePrefix, NameSuffix string
	CommonLabels           map[string]string
	Namespace              string
	CommonAnnotations      map[string]string
	Patches                []Patch
	// AllowRemote lets a kustomization load bases and files from outside
	// the checkout (Git repositories, HTTP). Off, a reference to one fails
	// the render: an operator's choice, never a tenant's.
	AllowRemote bool
	// Helm renders a chart: a directory with a Chart.yaml.
	Helm HelmOptions
	// Decrypt opens a SOPS-encrypted object, given its document as
	// written. Nil, an encrypted object fails the render.
	Decrypt func(doc []byte) (map[string]any, error)
}

// Render renders path, relative to root (the checkout), and returns the
// objects in the order they were found, each holding JSON-typed values
// only (see normalize). Nothing outside root is read: the path, the files
// of a plain directory and a kustomization's files are all confined to the
// checkout, links included.
func Render(root, path string, opts Options) ([]*unstructured.Unstructured, error) {
	checkout, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer func() { _ = checkout.Close() }()
	fsys := checkout.FS()
	dir := strings.TrimPrefix(filepath.ToSlash(filepath.Clean("/"+path)), "/")
	if dir == "" {
		dir = "."
	}
	info, err := fs.Stat(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", path, notFound(err))
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("path %q is not a directory", path)
	}
	var found []rendered
	kustomization := kustomizationIn(fsys, dir)
	switch {
	case opts.Helm.Explicit || (kustomization == "" && chartIn(fsys, dir)):
		// As Argo CD: Helm options make the path a chart; otherwise a
		// kustomization beside a Chart.yaml wins.
		if !chartIn(fsys, dir) {
			return nil, fmt.Errorf("path %q has no Chart.yaml, and spec.source.helm renders a chart", path)
		}
		if field := opts.kustomizeOnlyField(); field != "" {
			return nil, fmt.Errorf("path %q is a Helm chart, and spec.source.kustomize.%s applies to kustomize "+
				"and plain directories only (as in Argo CD)", path, field)
		}
		found, err = renderChart(fsys, dir, opts.Helm)
	case kustomization != "":
		found, err = renderKustomization(root, fsys, dir, filepath.Join(path, kustomization), opts)
	default:
		found, err = renderDirectory(fsys, dir, opts)
		if err == nil && opts.kustomizes() {
			found, err = kustomizeDirectory(fsys, dir, path, found, opts)
		}
	}
	if err != nil {
		return nil, err
	}
	objects := make([]*unstructured.Unstructured, 0, len(found))
	for _, r := range found {
		if err := decryptRendered(r, opts.Decrypt); err != nil {
			return nil, err
		}
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
	// source is the object's document as it was produced, in its
	// order, which a SOPS MAC depends on; nil when it has none of its
	// own (an item of a List).
	source func() ([]byte, error)
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no such directory in the revision")
	}
	if isEscape(err) {
		return errors.New("it leads out of the repository")
	}
	return err
}

// isEscape reports whether err is os.Root refusing a path, or a link in
// it, that leads outside the checkout.
func isEscape(err error) bool {
	var pathErr *fs.PathError
	return errors.As(err, &pathErr) && strings.Contains(pathErr.Err.Error(), "escapes")
}

// renderDirectory reads the manifests of dir, a directory of checkout. A
// link to a file is followed while it stays in the checkout; one that
// leads out fails the render, as Argo CD refuses out-of-bounds links;
// links to directories are not followed, so a tree of links cannot loop.
func renderDirectory(checkout fs.FS, dir string, opts Options) ([]rendered, error) {
	if err := checkGlob(opts.Include); err != nil {
		return nil, fmt.Errorf("directory.include: %w", err)
	}
	if err := checkGlob(opts.Exclude); err != nil {
		return nil, fmt.Errorf("directory.exclude: %w", err)
	}
	var files []string
	err := fs.WalkDir(checkout, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := relative(dir, p)
		if d.IsDir() {
			if p != dir && (!opts.Recurse || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		switch strings.ToLower(path.Ext(p)) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			info, err := fs.Stat(checkout, p)
			if isEscape(err) {
				return fmt.Errorf("%s: a link that leads out of the repository", rel)
			}
			if err != nil || info.IsDir() {
				return nil // a dangling link, or one to a directory
			}
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
		rel := relative(dir, file)
		data, err := fs.ReadFile(checkout, file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		found, err := decodeDocuments(rel, data)
		if err != nil {
			return nil, err
		}
		objects = append(objects, found...)
	}
	return objects, nil
}

// relative is p's path below dir, both slash paths of the checkout.
func relative(dir, p string) string {
	if dir == "." {
		return p
	}
	return strings.TrimPrefix(p, dir+"/")
}

// lineInError finds the line a YAML error names.
var lineInError = regexp.MustCompile(`line (\d+)`)

// Decode reads every object of a YAML or JSON file. Empty documents are
// skipped; a List's items are objects of their own. An error names the file
// and, for YAML, the line in the file. Numbers come out as float64: Render
// normalizes them.
func Decode(name string, data []byte) ([]*unstructured.Unstructured, error) {
	found, err := decodeDocuments(name, data)
	if err != nil {
		return nil, err
	}
	objects := make([]*unstructured.Unstructured, 0, len(found))
	for _, r := range found {
		objects = append(objects, r.object)
	}
	return objects, nil
}

// decodeDocuments is Decode, keeping each object's document.
func decodeDocuments(name string, data []byte) ([]rendered, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objects []rendered
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
				objects = append(objects, rendered{origin: name, object: &list.Items[i]})
			}
			continue
		}
		if u.GetName() == "" {
			return nil, fmt.Errorf("%s:%d: %s has no metadata.name", name, start, u.GetKind())
		}
		objects = append(objects, rendered{origin: name, object: u, source: documentOf(doc)})
	}
}

func documentOf(doc []byte) func() ([]byte, error) {
	return func() ([]byte, error) { return doc, nil }
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
//
// Alternatives are expanded, so their number is bounded first (checkGlob):
// a 170-character pattern of brace groups would otherwise expand to
// gigabytes. Matchers that do not expand do not escape the cost either: they
// try the same combinations by backtracking (doublestar took 8 s on a
// 113-character pattern here), so the bound is what makes a pattern safe.
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

// Bounds of a directory.include or exclude pattern, which a tenant writes.
const (
	maxGlobLength       = 1024
	maxGlobAlternatives = 64
)

// checkGlob refuses a pattern too long, or whose {a,b} groups expand to
// more than maxGlobAlternatives patterns, counted without expanding them.
func checkGlob(pattern string) error {
	if len(pattern) > maxGlobLength {
		return fmt.Errorf("the pattern is %d characters long; at most %d", len(pattern), maxGlobLength)
	}
	alternatives := 1
	rest := pattern
	for {
		open := strings.Index(rest, "{")
		end := strings.Index(rest, "}")
		if open < 0 || end < open {
			return nil
		}
		alternatives *= strings.Count(rest[open:end], ",") + 1
		if alternatives > maxGlobAlternatives {
			return fmt.Errorf("%q has more than %d alternatives", pattern, maxGlobAlternatives)
		}
		rest = rest[end+1:]
	}
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
