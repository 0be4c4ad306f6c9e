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

// Report is a suite's results and where they were measured.
type Report struct {
	Suite   Suite
	Results []Result
	Machine Machine
}

// Row compares the subject with one baseline in one phase at one size.
type Row struct {
	Size     int
	Phase    string
	Subject  Result
	Baseline Result
}

// Rows pairs each baseline's result with the subject's of the same size
// and phase, by size, then in the order the suite ran its phases. A result
// with no partner is left out.
func (r Report) Rows() []Row {
	type key struct {
		size  int
		phase string
	}
	subject := map[key]Result{}
	var order []key
	for _, res := range r.Results {
		if res.Controller != Subject {
			continue
		}
		k := key{res.Size, res.Phase.Name}
		if _, seen := subject[k]; !seen {
			order = append(order, k)
		}
		subject[k] = res
	}
	var rows []Row
	for _, k := range order {
		for _, res := range r.Results {
			if res.Controller != Subject && res.Size == k.size && res.Phase.Name == k.phase {
				rows = append(rows, Row{Size: k.size, Phase: k.phase, Subject: subject[k], Baseline: res})
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b Row) int { return a.Size - b.Size })
	return rows
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
	out := []string{fmt.Sprint(row.Size), row.Phase}
	for _, c := range r.columns() {
		s, b := c.value(row.Subject), c.value(row.Baseline)
		out = append(out, number(c.format, s), number(c.format, b))
		if c.ratio {
			out = append(out, Ratio(s, b))
		}
	}
	return out
}

func (r Report) headers(baseline string) []string {
	out := []string{"N", "phase"}
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

// Text writes the table of ratios for a terminal: one table per baseline,
// then the memory slopes.
func (r Report) Text(w io.Writer) error {
	for _, baseline := range r.baselines() {
		if _, err := fmt.Fprintf(w, "%s: %s / %s (ratio < 1: Sluice uses less)\n", r.Suite.Name, Subject, baseline); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		_, _ = fmt.Fprintln(tw, strings.Join(r.headers(shortName(baseline)), "\t")+"\t")
		for _, row := range r.Rows() {
			if row.Baseline.Controller == baseline {
				_, _ = fmt.Fprintln(tw, strings.Join(r.cells(row), "\t")+"\t")
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintln(w, r.slopeLine()); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(w, "\nrequests by verb and resource:"); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, strings.Join(r.breakdownHeaders(), "\t")+"\t")
	for _, cells := range r.breakdown() {
		_, _ = fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

func (r Report) breakdownHeaders() []string {
	return append([]string{"N", "phase", "request"}, r.Controllers()...)
}

// breakdown is every controller's requests by verb and resource, for each
// size and phase: one line per kind of request, the most frequent first.
func (r Report) breakdown() [][]string {
	controllers := r.Controllers()
	var lines [][]string
	for _, row := range r.Rows() {
		if row.Baseline.Controller != controllers[1] {
			continue // one set of lines per size and phase
		}
		tallies := make([]audit.Tally, len(controllers))
		sum := audit.Tally{}
		for i, c := range controllers {
			for _, res := range r.Results {
				if res.Controller == c && res.Size == row.Size && res.Phase.Name == row.Phase {
					tallies[i] = res.Phase.Requests
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
			cells := []string{fmt.Sprint(row.Size), row.Phase, k}
			for _, t := range tallies {
				cells = append(cells, fmt.Sprint(t[k]))
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

func (r Report) slopeLine() string {
	var parts []string
	for _, c := range r.Controllers() {
		if slope, ok := r.MemorySlope(c); ok {
			parts = append(parts, fmt.Sprintf("%s %.1f", c, slope))
		} else {
			parts = append(parts, c+" – (needs two sizes)")
		}
	}
	return fmt.Sprintf("peak RSS per 1000 %ss (MiB, linear fit over N): %s", r.Suite.Unit, strings.Join(parts, ", "))
}

// Markdown is the suite's generated section of docs/performance.md: the
// machine and commit, the table per baseline, the memory slopes and the
// chart (chartFile, relative to the document; none when empty).
func (r Report) Markdown(chartFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r.Machine.Markdown())
	for _, baseline := range r.baselines() {
		fmt.Fprintf(&b, "%s / %s; a ratio under 1 means Sluice uses less.\n\n", Subject, baseline)
		headers := r.headers(shortName(baseline))
		b.WriteString("| " + strings.Join(headers, " | ") + " |\n")
		b.WriteString("|" + strings.Repeat(" ---: |", len(headers)) + "\n")
		for _, row := range r.Rows() {
			if row.Baseline.Controller == baseline {
				b.WriteString("| " + strings.Join(r.cells(row), " | ") + " |\n")
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%s.\n", strings.Replace(r.slopeLine(), "peak RSS", "Peak RSS", 1))
	if chartFile != "" {
		fmt.Fprintf(&b, "\n![%s](%s)\n", r.Suite.Title, chartFile)
	}
	b.WriteString("\n<details><summary>Requests by verb and resource</summary>\n\n")
	headers := r.breakdownHeaders()
	b.WriteString("| " + strings.Join(headers, " | ") + " |\n")
	b.WriteString("| --- | --- | --- |" + strings.Repeat(" ---: |", len(headers)-3) + "\n")
	for _, cells := range r.breakdown() {
		cells[2] = "`" + cells[2] + "`"
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n</details>\n")
	return b.String()
}
