package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/ignore"
	"helm.sh/helm/v4/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// HelmOptions are the settings a chart is rendered with, in Argo CD's
// meanings.
type HelmOptions struct {
	// Explicit says the Application asked for Helm: the path is rendered
	// as a chart even beside a kustomization, and must have a Chart.yaml.
	Explicit bool
	// ReleaseName is .Release.Name; Namespace is .Release.Namespace.
	ReleaseName, Namespace string
	// ValueFiles are relative to the chart's directory, or, starting with
	// "/", to the checkout's root; later files win.
	ValueFiles              []string
	IgnoreMissingValueFiles bool
	// Values is a YAML (or JSON) document of values, over ValueFiles.
	Values string
	// Parameters are applied last, as helm's --set and --set-string.
	Parameters           []HelmParameter
	SkipCrds             bool
	SkipSchemaValidation bool
}

// HelmParameter is one --set (or, with ForceString, --set-string).
type HelmParameter struct {
	Name, Value string
	ForceString bool
}

// maxChartSize bounds what a chart's directory (its subcharts and vendored
// archives included) and its value files may hold in all: Helm's own bound
// for a chart it loads.
var maxChartSize = archive.MaxDecompressedChartSize

// maxLinkDepth bounds how many links to directories a path through a
// chart may cross, and maxChartEntries how many files and directories a
// chart's walk visits: links to a parent directory would otherwise make
// the walk endless, or, several of them, exponential.
const (
	maxLinkDepth    = 4
	maxChartEntries = 50000
)

// chartIn reports whether dir of fsys holds a Chart.yaml.
func chartIn(fsys fs.FS, dir string) bool {
	info, err := fs.Stat(fsys, path.Join(dir, "Chart.yaml"))
	return err == nil && !info.IsDir()
}

// renderChart renders the chart in dir, a directory of checkout, as `helm
// template --include-crds` would, in-process and offline: no cluster (the
// lookup function finds nothing), no DNS, no repository. Dependencies must
// be vendored in the chart's charts/ directory; hook templates are kept,
// with their annotations, but for test hooks, which are left out.
//
// Everything is read through checkout, the repository's confined
// filesystem: the chart, its subcharts (links followed while they stay in
// the checkout) and the value files.
func renderChart(checkout fs.FS, dir string, opts HelmOptions) ([]rendered, error) {
	budget := &readBudget{remaining: maxChartSize}
	ch, err := loadChart(checkout, dir, budget)
	if err != nil {
		return nil, err
	}
	if err := checkDependencies(ch); err != nil {
		return nil, err
	}
	if err := chartutil.ValidateReleaseName(opts.ReleaseName); err != nil {
		return nil, fmt.Errorf("release name %q: %w", opts.ReleaseName, err)
	}
	caps := common.DefaultCapabilities
	if c := ch.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart %s requires kubeVersion %s, and charts render for Kubernetes %s",
			ch.Name(), c, caps.KubeVersion.Version)
	}
	values, err := userValues(checkout, dir, opts, budget)
	if err != nil {
		return nil, err
	}
	return renderWithValues(ch, values, opts, caps)
}

// renderWithValues renders a loaded chart with the user's values merged:
// what follows loading and reading the value files.
func renderWithValues(ch *chart.Chart, values map[string]any, opts HelmOptions, caps *common.Capabilities) ([]rendered, error) {
	if err := chartutil.ProcessDependencies(ch, values); err != nil {
		return nil, fmt.Errorf("chart %s: %w", ch.Name(), err)
	}
	release := common.ReleaseOptions{Name: opts.ReleaseName, Namespace: opts.Namespace, Revision: 1, IsInstall: true}
	// Helm's own schema check loads a schema's $refs from the manager's
	// disk and over HTTP; validateValues loads none.
	top, err := commonutil.ToRenderValuesWithSchemaValidation(ch, values, release, caps, true)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ch.Name(), err)
	}
	if !opts.SkipSchemaValidation {
		merged, _ := top["Values"].(common.Values)
		if err := validateValues(ch, merged); err != nil {
			return nil, err
		}
	}
	// The zero Engine has no cluster: lookup returns an empty object,
	// getHostByName an empty string.
	var e engine.Engine
	files, err := renderTemplates(e, ch, top)
	if err != nil {
		return nil, err
	}
	var objects []rendered
	if !opts.SkipCrds {
		for _, crd := range ch.CRDObjects() {
			found, err := decodeDocuments(crd.Filename, crd.File.Data)
			if err != nil {
				return nil, err
			}
			objects = append(objects, found...)
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue // shown to a person by `helm install`, not a manifest
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		found, err := decodeDocuments(name, []byte(files[name]))
		if err != nil {
			return nil, err
		}
		for _, r := range found {
			if isTestHook(r.object) {
				continue
			}
			objects = append(objects, r)
		}
	}
	return objects, nil
}

// renderTemplates runs Helm's engine. A template that panics the engine
// (Helm recovers its own, but a chart is a tenant's code) is an error of
// that render.
func renderTemplates(e engine.Engine, ch *chart.Chart, top common.Values) (files map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("chart %s cannot be rendered: %v", ch.Name(), r)
		}
	}()
	// The context reaches only lookup, which has no cluster here.
	files, err = e.RenderWithContext(context.Background(), ch, top)
	if err != nil {
		// Helm's messages name the template and line:
		// "execution error at (app/templates/cm.yaml:7:14): ...". Some
		// run over lines, indented; a condition reads better on one.
		return nil, fmt.Errorf("helm template: %s", lineBreaks.ReplaceAllString(err.Error(), " "))
	}
	return files, nil
}

var lineBreaks = regexp.MustCompile(`\s*\n\s*`)

// testHookEvents are the helm.sh/hook events of `helm test`. Argo CD maps
// none of them to a sync hook and applies nothing for them.
var testHookEvents = map[string]bool{"test": true, "test-success": true, "test-failure": true}

// isTestHook reports whether o is a hook of test events only; a hook that
// is also, say, post-install stays.
func isTestHook(o *unstructured.Unstructured) bool {
	value, ok := o.GetAnnotations()["helm.sh/hook"]
	if !ok {
		return false
	}
	for event := range strings.SplitSeq(value, ",") {
		if !testHookEvents[strings.TrimSpace(event)] {
			return false
		}
	}
	return true
}

// checkDependencies returns an error naming the first dependency a chart
// (or one of its subcharts) declares that is not vendored in its charts/
// directory: nothing is downloaded.
func checkDependencies(ch *chart.Chart) error {
	for _, dep := range ch.Metadata.Dependencies {
		if dep == nil {
			continue
		}
		found := false
		for _, sub := range ch.Dependencies() {
			if sub.Name() == dep.Name {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("chart %s: dependency %q is not in its charts/ directory: dependencies are not downloaded, "+
				"so commit them (helm dependency build)", ch.ChartFullPath(), dep.Name)
		}
	}
	for _, sub := range ch.Dependencies() {
		if err := checkDependencies(sub); err != nil {
			return err
		}
	}
	return nil
}

// readBudget counts what one chart render reads, against maxChartSize.
type readBudget struct{ remaining int64 }

var errChartTooLarge = errors.New("the chart and its value files are too large")

// read reads name of fsys within the budget.
func (b *readBudget) read(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, b.remaining+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > b.remaining {
		return nil, fmt.Errorf("%w: they hold more than %d bytes", errChartTooLarge, maxChartSize)
	}
	b.remaining -= int64(len(data))
	return data, nil
}

// loadChart reads the chart in dir as Helm's directory loader does
// (.helmignore honoured, a UTF-8 byte-order mark dropped), but through the
// confined filesystem: a link that leads out of the checkout fails the
// render, where Helm's loader would follow it anywhere.
func loadChart(checkout fs.FS, dir string, budget *readBudget) (*chart.Chart, error) {
	rules := ignore.Empty()
	if data, err := fs.ReadFile(checkout, path.Join(dir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", path.Join(dir, ignore.HelmIgnore), err)
		}
	}
	rules.AddDefaults()
	var files []*archive.BufferedFile
	visited := 0
	var walk func(real, name string, links int) error
	// real is the directory's path in the checkout; name is its path in
	// the chart, which differs below a followed link.
	walk = func(real, name string, links int) error {
		entries, err := fs.ReadDir(checkout, real)
		if err != nil {
			return chartReadError(name, err)
		}
		for _, entry := range entries {
			if visited++; visited > maxChartEntries {
				return fmt.Errorf("chart %s: more than %d files and directories", dir, maxChartEntries)
			}
			p, n := path.Join(real, entry.Name()), path.Join(name, entry.Name())
			info, err := fs.Stat(checkout, p) // links resolved, in the checkout only
			if err != nil {
				if entry.Type()&fs.ModeSymlink != 0 && errors.Is(err, fs.ErrNotExist) {
					continue // a dangling link
				}
				return chartReadError(n, err)
			}
			if rules.Ignore(n, info) {
				continue
			}
			if info.IsDir() {
				depth := links
				if entry.Type()&fs.ModeSymlink != 0 {
					if depth++; depth > maxLinkDepth {
						return fmt.Errorf("%s: more than %d links to directories deep", path.Join(dir, n), maxLinkDepth)
					}
				}
				if err := walk(p, n, depth); err != nil {
					return err
				}
				continue
			}
			if !info.Mode().IsRegular() {
				return fmt.Errorf("%s: not a regular file", path.Join(dir, n))
			}
			data, err := budget.read(checkout, p)
			if err != nil {
				return chartReadError(n, err)
			}
			data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
			files = append(files, &archive.BufferedFile{Name: n, ModTime: info.ModTime(), Data: data})
		}
		return nil
	}
	if err := walk(dir, ".", 0); err != nil {
		return nil, err
	}
	ch, err := loadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", dir, err)
	}
	return ch, nil
}

// loadFiles is Helm's loader over files in memory. It unpacks vendored
// archives of charts/ too, and a malformed one must be an error, not a
// crash of the manager.
func loadFiles(files []*archive.BufferedFile) (ch *chart.Chart, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the chart cannot be loaded: %v", r)
		}
	}()
	return loader.LoadFiles(files)
}

func chartReadError(name string, err error) error {
	switch {
	case isEscape(err):
		return fmt.Errorf("%s: a link that leads out of the repository", name)
	case errors.Is(err, errChartTooLarge):
		return err
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err // its path is the checkout's, not the chart's
	}
	return fmt.Errorf("%s: %w", name, err)
}

// userValues merges the user's values in Argo CD's order of precedence:
// the value files in order, then Values, then the parameters, --set ones
// before --set-string ones, as helm applies its flags.
func userValues(checkout fs.FS, dir string, opts HelmOptions, budget *readBudget) (map[string]any, error) {
	values := map[string]any{}
	for _, file := range opts.ValueFiles {
		name, err := valueFilePath(dir, file)
		if err != nil {
			return nil, err
		}
		data, err := budget.read(checkout, name)
		if errors.Is(err, fs.ErrNotExist) && opts.IgnoreMissingValueFiles {
			continue
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("helm.valueFiles: %s: no such file in the revision", file)
			}
			if isEscape(err) {
				return nil, fmt.Errorf("helm.valueFiles: %s leads out of the repository", file)
			}
			return nil, fmt.Errorf("helm.valueFiles: %s: %w", file, chartReadError(name, err))
		}
		found, err := parseValues(data)
		if err != nil {
			return nil, fmt.Errorf("helm.valueFiles: %s: %w", file, err)
		}
		values = loader.MergeMaps(values, found)
	}
	var err error
	if values, err = MergeValues(values, opts.Values, opts.Parameters); err != nil {
		return nil, err
	}
	return values, nil
}

// MergeValues merges values (a YAML document, as spec.source.helm.values
// holds) and then parameters over base, as helm merges --values, --set and
// --set-string. It is the part of a chart render that takes an
// Application's own text.
func MergeValues(base map[string]any, values string, parameters []HelmParameter) (map[string]any, error) {
	if strings.TrimSpace(values) != "" {
		found, err := parseValues([]byte(values))
		if err != nil {
			return nil, fmt.Errorf("helm.values: %w", err)
		}
		base = loader.MergeMaps(base, found)
	}
	for _, forced := range []bool{false, true} {
		for _, p := range parameters {
			if p.ForceString != forced {
				continue
			}
			if err := setParameter(base, p); err != nil {
				return nil, err
			}
		}
	}
	return base, nil
}

// setParameter applies one parameter as Argo CD passes it to helm: the
// value's commas are part of it, not separators of further assignments,
// unless the value is a {a,b} list.
func setParameter(values map[string]any, p HelmParameter) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("helm.parameters: %s: %v", p.Name, r)
		}
	}()
	value := p.Value
	if !strings.HasPrefix(value, "{") || !strings.HasSuffix(value, "}") {
		value = escapeCommas(value)
	}
	set := strvals.ParseInto
	if p.ForceString {
		set = strvals.ParseIntoString
	}
	if err := set(p.Name+"="+value, values); err != nil {
		return fmt.Errorf("helm.parameters: %s: %w", p.Name, err)
	}
	return nil
}

// escapeCommas escapes each comma not already escaped.
func escapeCommas(s string) string {
	var b strings.Builder
	var previous rune
	for _, r := range s {
		if r == ',' && previous != '\\' {
			b.WriteString(`\,`)
		} else {
			b.WriteRune(r)
		}
		previous = r
	}
	return b.String()
}

// parseValues reads a YAML or JSON document of values as helm reads a
// values file, so templates see the types helm's do.
func parseValues(data []byte) (map[string]any, error) {
	values := map[string]any{}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, err
	}
	if values == nil {
		values = map[string]any{}
	}
	return values, nil
}

// valueFilePath resolves a value file's name as Argo CD does: relative to
// the chart's directory, or to the checkout's root when it starts with
// "/". It is refused when it leaves the checkout, or names a URL: nothing
// is fetched.
func valueFilePath(dir, file string) (string, error) {
	if u, err := url.Parse(file); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return "", fmt.Errorf("helm.valueFiles: %s: remote value files are not fetched; commit the file to the repository", file)
	}
	var p string
	if strings.HasPrefix(file, "/") {
		p = path.Clean(strings.TrimPrefix(file, "/"))
	} else {
		p = path.Join(dir, file)
	}
	if p == ".." || strings.HasPrefix(p, "../") || !fs.ValidPath(p) {
		return "", fmt.Errorf("helm.valueFiles: %s leads out of the repository", file)
	}
	return p, nil
}

// validateValues checks the merged values against each chart's
// values.schema.json, subcharts with their part of the values, as helm
// does. A schema's $refs to other documents are not loaded: not from the
// manager's disk, not over the network.
func validateValues(ch *chart.Chart, values common.Values) error {
	if len(ch.Schema) > 0 {
		if err := validateAgainst(ch.Schema, values); err != nil {
			return fmt.Errorf("chart %s: the values do not match values.schema.json: %w", ch.ChartFullPath(), err)
		}
	}
	for _, sub := range ch.Dependencies() {
		raw, ok := values[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		part, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("chart %s: the values of %s are a %T, not an object", ch.ChartFullPath(), sub.Name(), raw)
		}
		if err := validateValues(sub, part); err != nil {
			return err
		}
	}
	return nil
}

// noExternalSchemas refuses every schema a $ref would load.
type noExternalSchemas struct{}

func (noExternalSchemas) Load(u string) (any, error) {
	return nil, fmt.Errorf("%s: schemas outside values.schema.json are not loaded", u)
}

func validateAgainst(schemaJSON []byte, values common.Values) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the schema cannot be checked: %v", r)
		}
	}()
	schema, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return err
	}
	compiler := jsonschema.NewCompiler()
	compiler.UseLoader(noExternalSchemas{})
	// An absolute name, as Helm gives it: a relative one would be resolved
	// against the manager's working directory, and show it in errors.
	const name = "file:///values.schema.json"
	if err := compiler.AddResource(name, schema); err != nil {
		return err
	}
	validator, err := compiler.Compile(name)
	if err != nil {
		return err
	}
	// The validator takes JSON's types: numbers as json.Number.
	data, err := json.Marshal(values.AsMap())
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return validator.Validate(doc)
}
