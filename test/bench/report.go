package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/stat"

	"github.com/sluicehq/sluice/test/audit"
)

// Report is a suite's measurements and where they were made.
type Report struct {
	Suite     Suite
	Results   []Result
	Latencies []Latency
	Machine   Machine
}

// Row compares the subject with one baseline in one phase at one size or
// in one scenario.
type Row struct {
	Size     int
	Scenario string
	Phase    string
	Subject  Result
	// Baseline is the baseline's result; only its Controller is set when
	// Unpaired.
	Baseline Result
	// Unpaired is true when the baseline has no such phase, as kubectl,
	// which applies once and stops, has no settling: its figures and the
	// ratios are left blank rather than read as zero.
	Unpaired bool
}

// Label names the row's workload: its scenario, or its size N.
func (row Row) Label() string {
	if row.Scenario != "" {
		return row.Scenario
	}
	return fmt.Sprint(row.Size)
}

// group is where a result was measured: a size or a scenario, and a phase.
type group struct {
	size            int
	scenario, phase string
}

func groupOf(res Result) group { return group{res.Size, res.Scenario, res.Phase.Name} }

// Rows gives each of the subject's phases a row per baseline, with the
// baseline's result of the same size or scenario and phase: by size (or in
// the order the suite reported its scenarios), then in the order the
// suite ran its phases. A phase the baseline lacks makes an Unpaired row;
// a phase only a baseline has is left out.
func (r Report) Rows() []Row {
	subject := map[group]Result{}
	var order []group
	for _, res := range r.Results {
		if res.Controller != Subject {
			continue
		}
		g := groupOf(res)
		if _, seen := subject[g]; !seen {
			order = append(order, g)
		}
		subject[g] = res
	}
	var rows []Row
	for _, g := range order {
		for _, baseline := range r.baselines() {
			row := Row{Size: g.size, Scenario: g.scenario, Phase: g.phase, Subject: subject[g],
				Baseline: Result{Controller: baseline}, Unpaired: true}
			for _, res := range r.Results {
				if res.Controller == baseline && groupOf(res) == g {
					row.Baseline, row.Unpaired = res, false
				}
			}
			rows = append(rows, row)
		}
	}
	scenarios := r.Scenarios()
	slices.SortStableFunc(rows, func(a, b Row) int {
		if len(scenarios) > 0 {
			return slices.Index(scenarios, a.Scenario) - slices.Index(scenarios, b.Scenario)
		}
		return a.Size - b.Size
	})
	return rows
}

// Scenarios are the results' scenarios, in the order the suite first
// reported each; none when the suite measures sizes.
func (r Report) Scenarios() []string {
	var scenarios []string
	for _, res := range r.Results {
		if res.Scenario != "" && !slices.Contains(scenarios, res.Scenario) {
			scenarios = append(scenarios, res.Scenario)
		}
	}
	return scenarios
}

// Controllers are the controllers of the results, the subject first.
func (r Report) Controllers() []string {
	names := []string{Subject}
	for _, res := range r.Results {
		if !slices.Contains(names, res.Controller) {
			names = append(names, res.Controller)
		}
	}
	return names
}

// Sizes are the fleet sizes of the results, smallest first.
func (r Report) Sizes() []int {
	var sizes []int
	for _, res := range r.Results {
		if !slices.Contains(sizes, res.Size) {
			sizes = append(sizes, res.Size)
		}
	}
	slices.Sort(sizes)
	return sizes
}

// Totals sums a controller's phases at one size: wall time, CPU and
// requests add up; PeakRSS is the highest of its phases. ok is false when
// it has none at that size.
func (r Report) Totals(controller string, size int) (total Result, ok bool) {
	total = Result{Controller: controller, Size: size, Phase: Phase{Name: "all"}}
	for _, res := range r.Results {
		if res.Controller != controller || res.Size != size {
			continue
		}
		ok = true
		total.Phase.Wall += res.Phase.Wall
		total.Phase.CPU += res.Phase.CPU
		total.Phase.PeakRSS = max(total.Phase.PeakRSS, res.Phase.PeakRSS)
		total.Units = max(total.Units, res.Units)
		for k, n := range res.Phase.Requests {
			if total.Phase.Requests == nil {
				total.Phase.Requests = map[string]int{}
			}
			total.Phase.Requests[k] += n
		}
	}
	return total, ok
}

// MemorySlope is how much a controller's peak RSS grows per 1000 units, in
// MiB: the slope of a least-squares line through its peak RSS (the highest
// of its phases) at each size. ok is false with fewer than two sizes.
func (r Report) MemorySlope(controller string) (mibPer1000 float64, ok bool) {
	var sizes, mib []float64
	for _, size := range r.Sizes() {
		if t, found := r.Totals(controller, size); found {
			sizes = append(sizes, float64(size))
			mib = append(mib, float64(t.Phase.PeakRSS)/(1<<20))
		}
	}
	if len(sizes) < 2 {
		return 0, false
	}
	_, slope := stat.LinearRegression(sizes, mib, nil, false)
	return slope * 1000, true
}

// Ratio is subject / baseline, formatted as "0.42×"; "–" when the
// baseline is zero.
func Ratio(subject, baseline float64) string {
	if baseline == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", subject/baseline)
}

// column is one figure of a Row, for the subject and the baseline.
type column struct {
	header string
	value  func(Result) float64
	format string
	ratio  bool
}

func (r Report) columns() []column {
	perUnit := func(res Result) float64 {
		if res.Units == 0 {
			return math.NaN()
		}
		return float64(res.Phase.Requests.Total()) / float64(res.Units)
	}
	return []column{
		{header: "CPU s", value: func(res Result) float64 { return res.Phase.CPU.Seconds() }, format: "%.1f", ratio: true},
		{header: "requests", value: func(res Result) float64 { return float64(res.Phase.Requests.Total()) }, format: "%.0f", ratio: true},
		{header: "per " + r.Suite.Unit, value: perUnit, format: "%.1f"},
		{header: "peak RSS MiB", value: func(res Result) float64 { return float64(res.Phase.PeakRSS) / (1 << 20) }, format: "%.0f", ratio: true},
		{header: "wall s", value: func(res Result) float64 { return res.Phase.Wall.Seconds() }, format: "%.1f"},
	}
}

// cells are a row's figures: for each column the subject's, the
// baseline's and, for some, their ratio.
func (r Report) cells(row Row) []string {
	out := []string{row.Label(), row.Phase}
	for _, c := range r.columns() {
		s, b := c.value(row.Subject), c.value(row.Baseline)
		if row.Unpaired {
			b = math.NaN()
		}
		out = append(out, number(c.format, s), number(c.format, b))
		if c.ratio {
			if row.Unpaired {
				out = append(out, "–")
			} else {
				out = append(out, Ratio(s, b))
			}
		}
	}
	return out
}

// workloadHeader heads the first column: the fleet size N, or the
// scenario.
func (r Report) workloadHeader() string {
	if len(r.Scenarios()) > 0 {
		return "scenario"
	}
	return "N"
}

func (r Report) headers(baseline string) []string {
	out := []string{r.workloadHeader(), "phase"}
	for _, c := range r.columns() {
		out = append(out, c.header+" "+Subject, c.header+" "+baseline)
		if c.ratio {
			out = append(out, c.header+" ratio")
		}
	}
	return out
}

func number(format string, v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

// baselines are the controllers the subject is compared with.
func (r Report) baselines() []string { return r.Controllers()[1:] }

// Text writes the suite's tables for a terminal: per baseline, the table
// of ratios and the requests by kind; the memory slopes of a suite of
// sizes; the latencies; and every controller's requests by verb and
// resource.
func (r Report) Text(w io.Writer) error {
	for _, baseline := range r.baselines() {
		if _, err := fmt.Fprintf(w, "%s: %s / %s (ratio < 1: Sluice uses less)\n", r.Suite.Name, Subject, baseline); err != nil {
			return err
		}
		if err := writeText(w, r.headers(shortName(baseline)), r.lines(baseline)); err != nil {
			return err
		}
		if _, err := fmt.Fprintln(w, "\nrequests by kind (writes change objects; reads get, list or watch; dry-runs change nothing):"); err != nil {
			return err
		}
		if err := writeText(w, r.kindHeaders(shortName(baseline)), r.kindLines(baseline)); err != nil {
			return err
		}
	}
	if slope, ok := r.slopeLine(); ok {
		if _, err := fmt.Fprintln(w, slope); err != nil {
			return err
		}
	}
	if len(r.Latencies) > 0 {
		if _, err := fmt.Fprintf(w, "\n%s's latencies (s, nearest-rank percentiles):\n", Subject); err != nil {
			return err
		}
		if err := writeText(w, latencyHeaders, r.latencyLines()); err != nil {
			return err
		}
		for _, line := range r.latencyCosts() {
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	if _, err := fmt.Fprintln(w, "\nrequests by verb and resource:"); err != nil {
		return err
	}
	return writeText(w, r.breakdownHeaders(), r.breakdown())
}

// writeText writes a table for a terminal, its columns aligned right.
func writeText(w io.Writer, headers []string, lines [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, strings.Join(headers, "\t")+"\t")
	for _, cells := range lines {
		_, _ = fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

// writeMarkdown writes a markdown table whose first textColumns columns
// are aligned left and the others, figures, right.
func writeMarkdown(b *strings.Builder, headers []string, lines [][]string, textColumns int) {
	b.WriteString("| " + strings.Join(headers, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", textColumns) + strings.Repeat(" ---: |", len(headers)-textColumns) + "\n")
	for _, cells := range lines {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

// lines are the rows of the table of ratios against one baseline.
func (r Report) lines(baseline string) [][]string {
	var lines [][]string
	for _, row := range r.Rows() {
		if row.Baseline.Controller == baseline {
			lines = append(lines, r.cells(row))
		}
	}
	return lines
}

// requestKinds are the columns of the requests-by-kind table.
var requestKinds = []struct {
	name  string
	count func(Requests) int
}{
	{"writes", func(k Requests) int { return k.Writes }},
	{"reads", func(k Requests) int { return k.Reads }},
	{"dry-runs", func(k Requests) int { return k.DryRuns }},
}

func (r Report) kindHeaders(baseline string) []string {
	out := []string{r.workloadHeader(), "phase"}
	for _, kind := range requestKinds {
		out = append(out, kind.name+" "+Subject, kind.name+" "+baseline)
	}
	return out
}

// kindLines are the rows' requests against one baseline as writes, reads
// and dry-runs (Classify), the subject's beside the baseline's.
func (r Report) kindLines(baseline string) [][]string {
	var lines [][]string
	for _, row := range r.Rows() {
		if row.Baseline.Controller != baseline {
			continue
		}
		subject, base := Classify(row.Subject.Phase.Requests), Classify(row.Baseline.Phase.Requests)
		cells := []string{row.Label(), row.Phase}
		for _, kind := range requestKinds {
			b := fmt.Sprint(kind.count(base))
			if row.Unpaired {
				b = "–"
			}
			cells = append(cells, fmt.Sprint(kind.count(subject)), b)
		}
		lines = append(lines, cells)
	}
	return lines
}

func (r Report) breakdownHeaders() []string {
	return append([]string{r.workloadHeader(), "phase", "request"}, r.Controllers()...)
}

// breakdown is every controller's requests by verb and resource, for each
// size or scenario and phase: one line per kind of request, the most
// frequent first.
func (r Report) breakdown() [][]string {
	controllers := r.Controllers()
	var lines [][]string
	for _, row := range r.Rows() {
		if row.Baseline.Controller != controllers[1] {
			continue // one set of lines per size and phase
		}
		g := group{row.Size, row.Scenario, row.Phase}
		tallies := make([]audit.Tally, len(controllers))
		measured := make([]bool, len(controllers))
		sum := audit.Tally{}
		for i, c := range controllers {
			for _, res := range r.Results {
				if res.Controller == c && groupOf(res) == g {
					tallies[i], measured[i] = res.Phase.Requests, true
				}
			}
			for k, n := range tallies[i] {
				sum[k] += n
			}
		}
		keys := make([]string, 0, len(sum))
		for k := range sum {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if sum[a] != sum[b] {
				return sum[b] - sum[a]
			}
			return strings.Compare(a, b)
		})
		for _, k := range keys {
			cells := []string{row.Label(), row.Phase, k}
			for i, t := range tallies {
				if measured[i] {
					cells = append(cells, fmt.Sprint(t[k]))
				} else {
					cells = append(cells, "–") // a controller without the phase
				}
			}
			lines = append(lines, cells)
		}
	}
	return lines
}

// shortName is a controller's name in a column header: its first word.
func shortName(controller string) string {
	name, _, _ := strings.Cut(controller, " ")
	return name
}

// slopeLine states each controller's memory slope; ok is false for a
// suite of scenarios, which has no N to fit a line against.
func (r Report) slopeLine() (line string, ok bool) {
	if len(r.Scenarios()) > 0 {
		return "", false
	}
	var parts []string
	for _, c := range r.Controllers() {
		if slope, ok := r.MemorySlope(c); ok {
			parts = append(parts, fmt.Sprintf("%s %.1f", c, slope))
		} else {
			parts = append(parts, c+" – (needs two sizes)")
		}
	}
	return fmt.Sprintf("peak RSS per 1000 %ss (MiB, linear fit over N): %s", r.Suite.Unit, strings.Join(parts, ", ")), true
}

// latencyHeaders head the table of latencies, in seconds.
var latencyHeaders = []string{"latency", "scenario", "p50 s", "p95 s", "max s", "samples"}

// latencyLines are the latencies' nearest-rank percentiles and slowest
// sample, in the order the suite timed them.
func (r Report) latencyLines() [][]string {
	var lines [][]string
	for _, l := range r.Latencies {
		seconds := func(p float64) string { return fmt.Sprintf("%.2f", Percentile(l.Samples, p).Seconds()) }
		lines = append(lines, []string{l.Name, l.Scenario, seconds(50), seconds(95), seconds(100), fmt.Sprint(len(l.Samples))})
	}
	return lines
}

// latencyCosts are a sentence for each latency whose whole measurement
// was metered: what the subject spent on it.
func (r Report) latencyCosts() []string {
	var out []string
	for _, l := range r.Latencies {
		if l.Cost == nil {
			continue
		}
		kinds := Classify(l.Cost.Requests)
		out = append(out, fmt.Sprintf("%s, %s, the whole measurement: %.1f s wall, %.1f CPU s, %.0f MiB peak RSS, %d writes, %d reads, %d dry-runs.",
			l.Name, l.Scenario, l.Cost.Wall.Seconds(), l.Cost.CPU.Seconds(), float64(l.Cost.PeakRSS)/(1<<20),
			kinds.Writes, kinds.Reads, kinds.DryRuns))
	}
	return out
}

// Markdown is the suite's generated section of docs/performance.md: the
// machine and commit; per baseline, the table of ratios and the requests
// by kind; the memory slopes of a suite of sizes; the latencies; the
// chart (chartFile, relative to the document; none when empty); and the
// requests by verb and resource.
func (r Report) Markdown(chartFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r.Machine.Markdown())
	for _, baseline := range r.baselines() {
		fmt.Fprintf(&b, "%s / %s; a ratio under 1 means Sluice uses less.\n\n", Subject, baseline)
		writeMarkdown(&b, r.headers(shortName(baseline)), r.lines(baseline), 0)
		b.WriteString("\nRequests by kind: writes change objects; reads get, list or watch; dry-runs change nothing.\n\n")
		writeMarkdown(&b, r.kindHeaders(shortName(baseline)), r.kindLines(baseline), 2)
		b.WriteString("\n")
	}
	if slope, ok := r.slopeLine(); ok {
		fmt.Fprintf(&b, "%s.\n\n", strings.Replace(slope, "peak RSS", "Peak RSS", 1))
	}
	if len(r.Latencies) > 0 {
		fmt.Fprintf(&b, "%s's latencies, in seconds (nearest-rank percentiles).\n\n", Subject)
		writeMarkdown(&b, latencyHeaders, r.latencyLines(), 2)
		for _, cost := range r.latencyCosts() {
			b.WriteString("\n" + cost + "\n")
		}
		b.WriteString("\n")
	}
	if chartFile != "" {
		fmt.Fprintf(&b, "![%s](%s)\n\n", r.Suite.Title, chartFile)
	}
	b.WriteString("<details><summary>Requests by verb and resource</summary>\n\n")
	lines := r.breakdown()
	for _, cells := range lines {
		cells[2] = "`" + cells[2] + "`"
	}
	writeMarkdown(&b, r.breakdownHeaders(), lines, 3)
	b.WriteString("\n</details>\n")
	return b.String()
}
