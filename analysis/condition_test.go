package analysis

import (
	"math"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Conditions", func() {
	const (
		successful   = rolloutsv1alpha1.AnalysisPhaseSuccessful
		failed       = rolloutsv1alpha1.AnalysisPhaseFailed
		inconclusive = rolloutsv1alpha1.AnalysisPhaseInconclusive
		errored      = rolloutsv1alpha1.AnalysisPhaseError
	)
	nan := math.NaN()
	pointer := func(f float64) *float64 { return &f }

	DescribeTable("evaluate a result the way Argo Rollouts does",
		func(success, failure string, result any, want rolloutsv1alpha1.AnalysisPhase, wantErr string) {
			c, err := Compile(success, failure)
			Expect(err).NotTo(HaveOccurred())
			got, err := c.Evaluate(result)
			Expect(got).To(Equal(want))
			if wantErr == "" {
				Expect(err).NotTo(HaveOccurred())
			} else {
				Expect(err).To(MatchError(ContainSubstring(wantErr)))
			}
		},
		Entry("a scalar meets the success condition", "result < 0.05", "", 0.01, successful, ""),
		Entry("without a failure condition, a missed success condition fails", "result < 0.05", "", 0.2, failed, ""),
		Entry("without a success condition, a missed failure condition succeeds", "", "result > 0.05", 0.01, successful, ""),
		Entry("failure wins when both hold", "result >= 0", "result > 0.05", 0.2, failed, ""),
		Entry("neither holding is inconclusive", "result < 0.01", "result > 0.05", 0.03, inconclusive, ""),
		Entry("no conditions: any value succeeds", "", "", 42.0, successful, ""),
		Entry("a vector is a list of floats", "result[0] < 0.05", "", []float64{0.01}, successful, ""),
		Entry("all() over a vector", "all(result, {# < 0.05})", "", []float64{0.01, 0.2}, failed, ""),
		Entry("len() of a vector", "len(result) == 2", "", []float64{1, 2}, successful, ""),
		Entry("an empty vector is an Error that says there was no data", "result[0] < 0.05", "", []float64{}, errored, "query returned no data"),
		Entry("a nil result likewise", "result < 0.05", "", nil, errored, "query returned no data"),
		Entry("isNaN on NaN", "isNaN(result)", "", nan, successful, ""),
		Entry("NaN compares false, so a success condition on it fails", "result < 0.05", "", nan, failed, ""),
		Entry("isInf", "isInf(result)", "", math.Inf(1), successful, ""),
		Entry("asInt of a float", "asInt(result) == 3", "", 3.7, successful, ""),
		Entry("asFloat of a numeric string (a web provider's JSON)", "asFloat(result) > 2.5", "", "3.5", successful, ""),
		Entry("asInt of a non-numeric string is an Error", "asInt(result) == 3", "", "three", errored, "invalid syntax"),
		Entry("default replaces a nil result", "default(result, 0) == 0", "", nil, successful, ""),
		Entry("default keeps a present result", "default(result, 0) == 7", "", 7.0, successful, ""),
		Entry("isNil", "isNil(result)", "", nil, successful, ""),
		Entry("a pointer result is read through", "result == 2", "", pointer(2), successful, ""),
		Entry("a condition that is not a boolean is an Error", "result + 1", "", 1.0, errored, "bool"),
		Entry("indexing a scalar is an Error naming the condition", "result[0] > 1", "", 1.0, errored, `successCondition "result[0] > 1"`),
	)

	It("refuses a condition that does not compile, naming it", func() {
		_, err := Compile("result <", "")
		Expect(err).To(MatchError(HavePrefix(`successCondition "result <": `)))
		_, err = Compile("", "(result > 2")
		Expect(err).To(MatchError(HavePrefix(`failureCondition "(result > 2": `)))
	})

	It("compiles once and evaluates many results", func() {
		c, err := Compile("result < 10", "result > 100")
		Expect(err).NotTo(HaveOccurred())
		for _, tc := range []struct {
			value float64
			want  rolloutsv1alpha1.AnalysisPhase
		}{{1, successful}, {50, inconclusive}, {500, failed}, {2, successful}} {
			Expect(c.Evaluate(tc.value)).To(Equal(tc.want), "%v", tc.value)
		}
	})
})
