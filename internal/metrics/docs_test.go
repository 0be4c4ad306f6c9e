package metrics

import (
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("docs/metrics.md", func() {
	It("has a row for every family, with its type, its labels and whether Argo serves it", func() {
		data, err := os.ReadFile("../../docs/metrics.md")
		Expect(err).NotTo(HaveOccurred())
		rows := map[string]string{}
		for line := range strings.SplitSeq(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "| `"); ok {
				if name, _, ok := strings.Cut(rest, "`"); ok {
					rows[name] = line
				}
			}
		}
		for _, f := range Families() {
			row, ok := rows[f.Name]
			Expect(ok).To(BeTrue(), "no row for %s", f.Name)
			Expect(row).To(ContainSubstring("| "+string(f.Type)+" |"), f.Name)
			for _, label := range f.Labels {
				Expect(row).To(ContainSubstring("`"+label+"`"), f.Name)
			}
			Expect(strings.HasSuffix(row, "| yes |")).To(Equal(f.Argo), "%s: the Argo column", f.Name)
		}
	})
})
