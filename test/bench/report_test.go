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

func TestRowsOfAPhaseOnlyOneSideHas(t *testing.T) {
	r := twoSizes()
	r.Results = append(r.Results,
		result(Subject, 1000, "update", time.Second, 1, 1),
		result("Argo Rollouts", 1000, "cleanup", time.Second, 1, 1))
	var update []Row
	for _, row := range r.Rows() {
		switch row.Phase {
		case "update":
			update = append(update, row)
		case "cleanup":
			t.Errorf("a phase only the baseline ran has a row: %+v", row)
		}
	}
	if len(update) != 1 || !update[0].Unpaired || update[0].Baseline.Controller != "Argo Rollouts" || update[0].Subject.Phase.CPU != time.Second {
		t.Fatalf("the subject's phase the baseline never ran: %+v, want one Unpaired row against Argo Rollouts", update)
	}
	// Blank, not zero: a ratio against a phase that never ran means nothing.
	want := []string{"1000", "update", "1.0", "–", "–", "1", "–", "–", "0.0", "–", "1", "–", "–", "10.0", "–"}
	if diff := cmp.Diff(want, r.cells(update[0])); diff != "" {
		t.Errorf("the unpaired row's cells (-want +got):\n%s", diff)
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
	expectContains(t, "table", out, "CPU s Sluice", "CPU s Argo", "per rollout Sluice", "Sluice 94.4, Argo Rollouts 188.9", "writes Sluice", "dry-runs Argo")
}

func TestMarkdownIsATableWithTheMachineAndTheChart(t *testing.T) {
	r := twoSizes()
	r.Machine = Machine{CPU: "Test CPU", Cores: 2, MemoryGB: 8, GoVersion: "go1.26.8",
		Date: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Commit: "abc123"}
	md := r.Markdown("performance-rollouts.png")
	expectContains(t, "markdown", md,
		"Measured 2026-05-01 on Test CPU (2 cores, 8 GiB",
		"commit `abc123`, default flags.",
		"| 100 | create | 2.0 | 4.0 | 0.50× | 500 | 1000 | 0.50× | 5.0 | 10.0 | 40 | 60 | 0.67× | 10.0 | 10.0 |",
		"| 100 | idle | 0.0 | 1.0 | 0.00× | 0 | 50 | 0.00× | 0.0 | 0.5 | 45 | 70 | 0.64× | 10.0 | 10.0 |",
		"| N | phase | writes Sluice | writes Argo | reads Sluice | reads Argo | dry-runs Sluice | dry-runs Argo |",
		"| 100 | create | 0 | 0 | 500 | 1000 | 0 | 0 |",
		"Peak RSS per 1000 rollouts (MiB, linear fit over N): Sluice 94.4, Argo Rollouts 188.9.",
		"![Rollouts](performance-rollouts.png)",
	)
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

// scenarios is a suite of two labelled workloads, the baseline measured
// first and in one phase of the subject's three, with latencies.
func scenarios() Report {
	at := func(controller, scenario, phase string, objects int, tally audit.Tally) Result {
		return Result{Controller: controller, Scenario: scenario, Size: objects, Units: objects,
			Phase: Phase{Name: phase, Wall: 30 * time.Second, CPU: 6 * time.Second, PeakRSS: 120 * mib, Requests: tally}}
	}
	applied := audit.Tally{"patch configmaps": 5000, "get /apis": 5}
	cost := Phase{Name: "push", Wall: 88 * time.Second, CPU: 15 * time.Second, PeakRSS: 155 * mib,
		Requests: audit.Tally{"patch deployments.apps": 3, "get deployments.apps": 4, "patch(dry-run) services": 2}}
	return Report{
		Suite: Suite{Name: "gitops", Title: "GitOps", Unit: "object"},
		Results: []Result{
			at("kubectl apply", "1×5,000", "first sync", 5000, applied),
			at(Subject, "1×5,000", "first sync", 5000, audit.Tally{"patch configmaps": 5000, "patch(dry-run) configmaps": 1}),
			at(Subject, "1×5,000", "settling", 5000, audit.Tally{"get deployments.apps": 400, "patch(dry-run) deployments.apps": 150}),
			// A smaller scenario reported second stays second: scenarios
			// keep the suite's order, not their sizes'.
			at("kubectl apply", "10×50", "first sync", 500, audit.Tally{"patch configmaps": 500}),
			at(Subject, "10×50", "first sync", 500, audit.Tally{"patch configmaps": 500}),
		},
		Latencies: []Latency{
			{Name: "commit to canary", Scenario: "1 Application, 4 pushes",
				Samples: []time.Duration{300 * time.Millisecond, 200 * time.Millisecond, 1200 * time.Millisecond, 250 * time.Millisecond}},
			{Name: "commit to canary", Scenario: "10 Applications, one push",
				Samples: []time.Duration{5 * time.Second, 9 * time.Second}, Cost: &cost},
		},
	}
}

func TestRowsOfScenariosKeepTheSuitesOrderAndShowPhasesOnlyTheSubjectHas(t *testing.T) {
	var got []string
	for _, row := range scenarios().Rows() {
		got = append(got, fmt.Sprintf("%s %s unpaired=%v", row.Label(), row.Phase, row.Unpaired))
	}
	want := []string{"1×5,000 first sync unpaired=false", "1×5,000 settling unpaired=true", "10×50 first sync unpaired=false"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestTablesOfScenarios(t *testing.T) {
	r := scenarios()
	for _, tc := range []struct {
		name string
		got  [][]string
		want [][]string
	}{
		{
			name: "the table of ratios names the scenario, and a phase kubectl lacks has no figures of it",
			got:  r.lines("kubectl apply"),
			want: [][]string{
				{"1×5,000", "first sync", "6.0", "6.0", "1.00×", "5001", "5005", "1.00×", "1.0", "1.0", "120", "120", "1.00×", "30.0", "30.0"},
				{"1×5,000", "settling", "6.0", "–", "–", "550", "–", "–", "0.1", "–", "120", "–", "–", "30.0", "–"},
				{"10×50", "first sync", "6.0", "6.0", "1.00×", "500", "500", "1.00×", "1.0", "1.0", "120", "120", "1.00×", "30.0", "30.0"},
			},
		},
		{
			name: "requests by kind: discovery is a read, a dry-run is no write",
			got:  r.kindLines("kubectl apply"),
			want: [][]string{
				{"1×5,000", "first sync", "5000", "5000", "0", "5", "1", "0"},
				{"1×5,000", "settling", "0", "–", "400", "–", "150", "–"},
				{"10×50", "first sync", "500", "500", "0", "0", "0", "0"},
			},
		},
		{
			name: "latencies: nearest-rank p50 and p95, the slowest, the count",
			got:  r.latencyLines(),
			want: [][]string{
				{"commit to canary", "1 Application, 4 pushes", "0.25", "1.20", "1.20", "4"},
				{"commit to canary", "10 Applications, one push", "5.00", "9.00", "9.00", "2"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarkdownOfScenariosHasTheLatenciesAndNoSlope(t *testing.T) {
	r := scenarios()
	r.Machine.Flags = "--apps=10 --only=gitops"
	md := r.Markdown("performance-gitops.png")
	expectContains(t, "markdown", md,
		"flags `--apps=10 --only=gitops`.",
		"| scenario | phase | CPU s Sluice | CPU s kubectl | CPU s ratio |",
		"| 1×5,000 | settling | 6.0 | – | – | 550 | – | – |",
		"| latency | scenario | p50 s | p95 s | max s | samples |\n| --- | --- | ---: | ---: | ---: | ---: |",
		"| commit to canary | 10 Applications, one push | 5.00 | 9.00 | 9.00 | 2 |",
		"commit to canary, 10 Applications, one push, the whole measurement: 88.0 s wall, 15.0 CPU s, 155 MiB peak RSS, 3 writes, 4 reads, 2 dry-runs.",
		"| 1×5,000 | settling | `get deployments.apps` | 400 | – |",
		"![GitOps](performance-gitops.png)",
	)
	if strings.Contains(md, "linear fit") {
		t.Errorf("a memory slope over scenarios, which have no N:\n%s", md)
	}
	var b strings.Builder
	if err := scenarios().Text(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "latencies") || strings.Contains(out, "linear fit") {
		t.Errorf("the text lacks the latencies or has a slope:\n%s", out)
	}
}

func TestChartOfScenariosWritesAPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chart.png")
	if err := scenarios().Chart(path); err != nil {
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

// expectContains reports each of want that what (a table, the markdown)
// does not contain.
func expectContains(t *testing.T, what, text string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(text, s) {
			t.Errorf("the %s lacks %q:\n%s", what, s, text)
		}
	}
}
