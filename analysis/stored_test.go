package analysis

import (
	"strings"
	"time"
	"unicode/utf8"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("What a measurement stores", func() {
	stored := func(value, message string) rolloutsv1alpha1.Measurement {
		var result rolloutsv1alpha1.MetricResult
		Record(&result, Finished(rolloutsv1alpha1.AnalysisPhaseError, value, message, nil, time.Time{}, time.Time{}), false, 0)
		return result.Measurements[0]
	}

	DescribeTable("is cut past MaxStoredText bytes, on a character, saying how long it was",
		func(text, kept, marker string) {
			m := stored(text, text)
			for _, got := range []string{m.Value, m.Message} {
				Expect(len(got)).To(BeNumerically("<=", MaxStoredText))
				Expect(utf8.ValidString(got)).To(BeTrue())
				Expect(got).To(HavePrefix(kept))
				Expect(got).To(HaveSuffix(marker))
			}
		},
		Entry("text that fits is kept whole",
			"0.25", "0.25", "0.25"),
		Entry("text of exactly MaxStoredText bytes is kept whole",
			strings.Repeat("a", MaxStoredText), strings.Repeat("a", MaxStoredText), "a"),
		Entry("a web page of 1 MiB",
			strings.Repeat("<p>", 1<<20/3), "<p><p><p>", "<p>… (cut: 1048575 bytes in all)"),
		Entry("two-byte characters are not cut in half",
			"a"+strings.Repeat("é", 3000), "aéé", "é… (cut: 6001 bytes in all)"),
		Entry("four-byte characters are not cut in half, whatever the offset",
			"ab"+strings.Repeat("🙂", 2000), "ab🙂", "🙂… (cut: 8002 bytes in all)"),
	)

	It("is cut to exactly MaxStoredText when the text allows it", func() {
		m := stored(strings.Repeat("x", 5000), "")
		Expect(m.Value).To(HaveLen(MaxStoredText))
		Expect(m.Message).To(BeEmpty())
	})
})
