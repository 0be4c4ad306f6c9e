package install_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

// undocumented lists the values under prefix that the README's table does
// not name: a map is documented as a whole or key by key.
func undocumented(documented map[string]bool, prefix string, value any) []string {
	if documented[prefix] {
		return nil
	}
	m, isMap := value.(map[string]any)
	if !isMap || len(m) == 0 {
		return []string{prefix}
	}
	var missing []string
	for k, v := range m {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		missing = append(missing, undocumented(documented, path, v)...)
	}
	return missing
}

// lookup reports whether a dotted path names a value.
func lookup(values map[string]any, path string) bool {
	var cur any = values
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

var _ = Describe("the chart's README", func() {
	It("names every value in its table, and only values the chart has", func() {
		data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var values map[string]any
		Expect(yaml.Unmarshal(data, &values)).To(Succeed())

		readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
		Expect(err).NotTo(HaveOccurred())
		documented := map[string]bool{}
		for _, row := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(string(readme), -1) {
			documented[row[1]] = true
		}
		Expect(documented).NotTo(BeEmpty())

		Expect(undocumented(documented, "", values)).To(BeEmpty())
		for path := range documented {
			if strings.Contains(path, "/") {
				continue // the files table
			}
			Expect(lookup(values, path)).To(BeTrue(), "the README names %s, which values.yaml lacks", path)
		}
	})
})
