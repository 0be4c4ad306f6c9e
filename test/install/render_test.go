package install_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The release every render installs: the name and namespace config/default
// uses.
const (
	releaseName      = "sluice"
	releaseNamespace = "sluice-system"
)

// manifest is what one render produced: each object as the YAML document
// it was written as, and as unstructured content.
type manifest struct {
	docs    [][]byte
	objects []*unstructured.Unstructured
}

// get is the object of a kind and name, or nil.
func (m manifest) get(kind, name string) *unstructured.Unstructured {
	for _, o := range m.objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// ofKind lists the objects of the given kinds.
func (m manifest) ofKind(kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range m.objects {
		for _, k := range kinds {
			if o.GetKind() == k {
				out = append(out, o)
			}
		}
	}
	return out
}

// names lists "Kind/name" of the objects of the given kinds.
func (m manifest) names(kinds ...string) []string {
	var out []string
	for _, o := range m.ofKind(kinds...) {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

// doc is the YAML document an object was written as.
func (m manifest) doc(o *unstructured.Unstructured) []byte {
	for i, obj := range m.objects {
		if obj == o {
			return m.docs[i]
		}
	}
	Fail(fmt.Sprintf("%s %s is not in this manifest", o.GetKind(), o.GetName()))
	return nil
}

// parseManifest splits a stream of YAML documents into objects, skipping
// documents that hold only comments.
func parseManifest(data []byte) (manifest, error) {
	var m manifest
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return m, err
		}
		var content map[string]any
		if err := yaml.Unmarshal(doc, &content); err != nil {
			return m, fmt.Errorf("%w in\n%s", err, doc)
		}
		if content == nil {
			continue
		}
		m.docs = append(m.docs, doc)
		m.objects = append(m.objects, &unstructured.Unstructured{Object: content})
	}
}

// helm runs the helm binary and returns its standard output; a failure
// carries its standard error.
func helm(args ...string) ([]byte, error) {
	cmd := exec.Command(helmBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No repositories, plugins or registries: a render reads only the chart.
	home := GinkgoT().TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// valuesFile writes a user's values (YAML) for helm's -f.
func valuesFile(values string) string {
	path := filepath.Join(GinkgoT().TempDir(), "values.yaml")
	Expect(os.WriteFile(path, []byte(values), 0o600)).To(Succeed())
	return path
}

// renders holds each set of values' render: the CRDs make one take a second.
var renders sync.Map // values string -> manifest

// render is `helm template sluice charts/sluice -n sluice-system` with the
// given values, parsed.
func render(values string) manifest {
	if m, ok := renders.Load(values); ok {
		return m.(manifest)
	}
	out, err := tryRender(values)
	Expect(err).NotTo(HaveOccurred())
	m, err := parseManifest(out)
	Expect(err).NotTo(HaveOccurred())
	renders.Store(values, m)
	return m
}

func tryRender(values string) ([]byte, error) {
	return renderChart(chartDir, values)
}

// renderChart is `helm template` of a chart directory, unparsed.
func renderChart(dir, values string) ([]byte, error) {
	return helm("template", releaseName, dir, "--namespace", releaseNamespace, "-f", valuesFile(values))
}

// lint is `helm lint --strict` with the given values.
func lint(values string) error {
	_, err := helm("lint", "--strict", chartDir, "--namespace", releaseNamespace, "-f", valuesFile(values))
	return err
}
