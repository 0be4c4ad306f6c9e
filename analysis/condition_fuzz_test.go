package analysis

import (
	"math"
	"testing"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// FuzzConditions feeds arbitrary conditions and results to the evaluator:
// whatever a template says and whatever a provider returns, evaluation must
// not crash and must end in one of the four measurement phases, with an
// error exactly when the phase is Error.
//
//	go test -run XXX -fuzz FuzzConditions -fuzztime 60s ./analysis/
func FuzzConditions(f *testing.F) {
	for _, seed := range []struct {
		success, failure string
		value            float64
		shape            uint8
	}{
		{"result < 0.05", "", 0.01, 0},
		{"result[0] < 0.05", "result[0] > 0.5", 0.2, 1},
		{"all(result, {# < 1})", "", 3, 1},
		{"isNaN(result)", "", math.NaN(), 0},
		{"default(result, 0) == 0", "", 0, 2},
		{"asInt(result) > 2", "asFloat(result) < 1", 2.5, 3},
		{"len(result) > 0 && result[len(result)-1] >= 1", "", 1, 1},
	} {
		f.Add(seed.success, seed.failure, seed.value, seed.shape)
	}
	f.Fuzz(func(t *testing.T, success, failure string, value float64, shape uint8) {
		c, err := Compile(success, failure)
		if err != nil {
			return // a template that does not compile is refused up front
		}
		var result any
		switch shape % 5 {
		case 0:
			result = value
		case 1:
			result = []float64{value, value * 2}
		case 2:
			result = nil
		case 3:
			result = "3.5"
		case 4:
			result = []float64{}
		}
		phase, err := c.Evaluate(result)
		switch phase {
		case rolloutsv1alpha1.AnalysisPhaseSuccessful, rolloutsv1alpha1.AnalysisPhaseFailed, rolloutsv1alpha1.AnalysisPhaseInconclusive:
			if err != nil {
				t.Fatalf("phase %s with error %v", phase, err)
			}
		case rolloutsv1alpha1.AnalysisPhaseError:
			if err == nil {
				t.Fatalf("phase Error without an error")
			}
		default:
			t.Fatalf("unexpected phase %q", phase)
		}
	})
}
