package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/test/audit"
)

const mib = 1 << 20

func result(controller string, size int, phase string, cpu time.Duration, requests int, peakMiB int64) Result {
	return Result{
		Controller: controller, Size: size, Units: size,
		Phase: Phase{Name: phase, Wall: 10 * time.Second, CPU: cpu, PeakRSS: peakMiB * mib,
			Requests: audit.Tally{"get rollouts.argoproj.io": requests}},
	}
}

// twoSizes is a run at N=100 and N=1000, the baseline listed first, as a
// suite may append its results in any order.
func twoSizes() Report {
	return Report{
		Suite: Suite{Name: "rollouts", Title: "Rollouts", Unit: "rollout"},
		Results: []Result{
			result("Argo Rollouts", 100, "create", 4*time.Second, 1000, 60),
			result("Argo Rollouts", 100, "idle", time.Second, 50, 70),
			result(Subject, 100, "create", 2*time.Second, 500, 40),
			result(Subject, 100, "idle", 0, 0, 45),
			result(Subject, 1000, "create", 20*time.Second, 5000, 130),
			result("Argo Rollouts", 1000, "create", 40*time.Second, 12000, 240),
		},
	}
}

func TestRowsPairTheSubjectWithEachBaselineBySizeThenPhase(t *testing.T) {
	var got []string
	for _, row := range twoSizes().Rows() {
		got = append(got, fmt.Sprintf("%s/%s/%s@%d", row.Subject.Controller, row.Baseline.Controller, row.Phase, row.Size))
	}
	want := []string{"Sluice/Argo Rollouts/create@100", "Sluice/Argo Rollouts/idle@100", "Sluice/Argo Rollouts/create@1000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestRowsLeaveOutAPhaseOnlyOneSideHas(t *testing.T) {
	r := twoSizes()
	r.Results = append(r.Results, result(Subject, 1000, "update", time.Second, 1, 1))
	for _, row := range r.Rows() {
		if row.Phase == "update" {
			t.Errorf("a phase the baseline never ran is compared: %+v", row)
		}
	}
}

func TestRatio(t *testing.T) {
	for _, tc := range []struct {
		name              string
		subject, baseline float64
		want              string
	}{
		{"half as much", 2, 4, "0.50×"},
		{"more than the baseline", 3, 2, "1.50×"},
		{"both idle: no ratio, not a division by zero", 0, 0, "–"},
		{"a baseline of zero has no ratio", 5, 0, "–"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Ratio(tc.subject, tc.baseline); got != tc.want {
				t.Errorf("Ratio(%v, %v) = %q, want %q", tc.subject, tc.baseline, got, tc.want)
			}
		})
	}
}

func TestTotalsAddPhasesAndKeepTheHighestPeak(t *testing.T) {
	total, ok := twoSizes().Totals("Argo Rollouts", 100)
	if !ok {
		t.Fatal("no totals for a controller with results")
	}
	if total.Phase.CPU != 5*time.Second || total.Phase.Requests.Total() != 1050 || total.Phase.PeakRSS != 70*mib || total.Phase.Wall != 20*time.Second {
		t.Errorf("totals: CPU %s, %d requests, peak %d MiB, wall %s; want 5s, 1050, 70 MiB, 20s",
			total.Phase.CPU, total.Phase.Requests.Total(), total.Phase.PeakRSS/mib, total.Phase.Wall)
	}
	if _, ok := twoSizes().Totals("Argo Rollouts", 400); ok {
		t.Error("totals at a size never measured")
	}
}

func TestMemorySlopeIsTheLinearFitOfPeakRSSAgainstN(t *testing.T) {
	r := twoSizes()
	for _, tc := range []struct {
		controller string
		// The highest peak of each size: (1000, 130) and (100, 45) for
		// Sluice, (1000, 240) and (100, 70) for Argo Rollouts.
		want float64
	}{
		{Subject, (130.0 - 45) / 900 * 1000},
		{"Argo Rollouts", (240.0 - 70) / 900 * 1000},
	} {
		got, ok := r.MemorySlope(tc.controller)
		if !ok || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: slope %v (ok %v), want %v MiB per 1000", tc.controller, got, ok, tc.want)
		}
	}
	r.Results = r.Results[:4] // N=100 only
	if _, ok := r.MemorySlope(Subject); ok {
		t.Error("a slope from one size")
	}
}

func TestMemorySlopeFitsALineThroughMoreThanTwoSizes(t *testing.T) {
	// Points off a line: least squares, not the ends' slope. x = 100,
	// 400, 1000 and y = 50, 80, 140: mean x 500, mean y 90; the slope
	// is Σ(dx·dy)/Σdx² = (16000+1000+25000)/(160000+10000+250000) = 0.1.
	r := Report{Suite: Suite{Unit: "rollout"}, Results: []Result{
		result(Subject, 100, "create", 0, 0, 50),
		result(Subject, 400, "create", 0, 0, 80),
		result(Subject, 1000, "create", 0, 0, 140),
	}}
	got, ok := r.MemorySlope(Subject)
	if !ok || math.Abs(got-100) > 1e-9 {
		t.Errorf("slope %v MiB per 1000, want 100", got)
	}
}

func TestTextShowsBothSidesTheirRatioAndRequestsPerUnit(t *testing.T) {
	var b strings.Builder
	if err := twoSizes().Text(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	var create100 string
	for _, l := range lines {
		if f := strings.Fields(l); create100 == "" && len(f) > 2 && f[0] == "100" && f[1] == "create" {
			create100 = l
		}
	}
	// CPU 2.0 and 4.0 (0.50×), requests 500 and 1000 (0.50×), per
	// rollout 5.0 and 10.0, peak 40 and 60 MiB (0.67×), wall 10.0 both.
	want := []string{"100", "create", "2.0", "4.0", "0.50×", "500", "1000", "0.50×", "5.0", "10.0", "40", "60", "0.67×", "10.0", "10.0"}
	if diff := cmp.Diff(want, strings.Fields(create100)); diff != "" {
		t.Errorf("the N=100 create row (-want +got):\n%s\nin:\n%s", diff, out)
	}
	for _, s := range []string{"CPU s Sluice", "CPU s Argo", "per rollout Sluice", "Sluice 94.4, Argo Rollouts 188.9"} {
		if !strings.Contains(out, s) {
			t.Errorf("the table lacks %q:\n%s", s, out)
		}
	}
}

func TestMarkdownIsATableWithTheMachineAndTheChart(t *testing.T) {
	r := twoSizes()
	r.Machine = Machine{CPU: "Test CPU", Cores: 2, MemoryGB: 8, GoVersion: "go1.26.8",
		Date: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Commit: "abc123"}
	md := r.Markdown("performance-rollouts.png")
	for _, s := range []string{
		"Measured 2026-05-01 on Test CPU (2 cores, 8 GiB",
		"commit `abc123`",
		"| 100 | create | 2.0 | 4.0 | 0.50× | 500 | 1000 | 0.50× | 5.0 | 10.0 | 40 | 60 | 0.67× | 10.0 | 10.0 |",
		"| 100 | idle | 0.0 | 1.0 | 0.00× | 0 | 50 | 0.00× | 0.0 | 0.5 | 45 | 70 | 0.64× | 10.0 | 10.0 |",
		"![Rollouts](performance-rollouts.png)",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("the markdown lacks %q:\n%s", s, md)
		}
	}
	// Every line of a table has as many cells as its header.
	var header int
	for _, l := range strings.Split(md, "\n") {
		if !strings.HasPrefix(l, "|") {
			header = 0
			continue
		}
		if cells := strings.Count(l, "|"); header == 0 {
			header = cells
		} else if cells != header {
			t.Errorf("%d cells, the header has %d: %s", cells, header, l)
		}
	}
}

func TestChartWritesAPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chart.png")
	if err := twoSizes().Chart(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "\x89PNG\r\n\x1a\n") {
		t.Errorf("not a PNG: %q", data[:min(8, len(data))])
	}
}

func TestBreakdownListsEachKindOfRequestMostFrequentFirst(t *testing.T) {
	r := twoSizes()
	r.Results = r.Results[:4] // N=100
	r.Results[0].Phase.Requests = audit.Tally{"get rollouts.argoproj.io": 3, "list pods": 1}
	r.Results[2].Phase.Requests = audit.Tally{"update rollouts.argoproj.io/status": 5}
	want := [][]string{
		{"100", "create", "update rollouts.argoproj.io/status", "5", "0"},
		{"100", "create", "get rollouts.argoproj.io", "0", "3"},
		{"100", "create", "list pods", "0", "1"},
		{"100", "idle", "get rollouts.argoproj.io", "0", "50"},
	}
	if diff := cmp.Diff(want, r.breakdown()); diff != "" {
		t.Errorf("breakdown (-want +got):\n%s", diff)
	}
	if md := r.Markdown(""); !strings.Contains(md, "| 100 | create | `update rollouts.argoproj.io/status` | 5 | 0 |") {
		t.Errorf("the markdown lacks the breakdown:\n%s", md)
	}
}
