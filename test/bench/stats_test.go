package bench

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/test/audit"
)

func TestPercentile(t *testing.T) {
	ms := func(values ...int) []time.Duration {
		out := make([]time.Duration, len(values))
		for i, v := range values {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	twenty := ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
	cases := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"no samples say nothing", nil, 50, 0},
		{"one sample is every percentile", ms(7), 95, 7 * time.Millisecond},
		{"the median of an odd count is the middle one", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"the median of an even count is the lower middle one, a sample and not a mean", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p95 of 20 pushes is the 19th, so one outlier does not set it", twenty, 95, 19 * time.Millisecond},
		{"p50 of 20 is the 10th", twenty, 50, 10 * time.Millisecond},
		{"p100 is the slowest", twenty, 100, 20 * time.Millisecond},
		{"p95 of 100 is the 95th", func() []time.Duration {
			var s []time.Duration
			for i := 100; i >= 1; i-- {
				s = append(s, time.Duration(i)*time.Millisecond)
			}
			return s
		}(), 95, 95 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.samples, tc.p); got != tc.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.samples, tc.p, got, tc.want)
			}
		})
	}
}

func TestPercentileLeavesSamplesInOrder(t *testing.T) {
	samples := []time.Duration{3, 1, 2}
	Percentile(samples, 50)
	if diff := cmp.Diff([]time.Duration{3, 1, 2}, samples); diff != "" {
		t.Errorf("samples changed (-want +got):\n%s", diff)
	}
}

func TestClassify(t *testing.T) {
	got := Classify(audit.Tally{
		"patch configmaps":                             4500, // server-side apply
		"patch(dry-run) deployments.apps":              250,
		"create(dry-run) configmaps":                   3,
		"get configmaps":                               2,
		"list deployments.apps":                        1,
		"watch services":                               1,
		"update applications.gitops.sluice.dev/status": 1,
		"delete pods":                                  1,
		"get /apis":                                    7, // discovery
		"impersonate serviceaccounts":                  1,
	})
	want := Requests{Writes: 4502, Reads: 11, DryRuns: 253, Other: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Classify (-want +got):\n%s", diff)
	}
}
