package gitops

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/test/bench"
)

// resultOf is a measured phase as a Result: wall and CPU seconds, peak RSS
// in MiB, and the requests by kind.
func resultOf(name string, p bench.Phase) Result {
	req := Classify(p.Requests)
	return Result{Name: name, Figures: []Figure{
		{"wall s", p.Wall.Seconds()},
		{"CPU s", p.CPU.Seconds()},
		{"peak RSS MiB", float64(p.PeakRSS) / (1 << 20)},
		{"writes", float64(req.Writes)},
		{"reads", float64(req.Reads)},
		{"dry-runs", float64(req.DryRuns)},
		{"requests", float64(p.Requests.Total())},
	}}
}

// latencyResult is a set of latencies as a Result: p50, p95 and the
// slowest, in seconds, and how many there were.
func latencyResult(name string, samples []time.Duration) Result {
	return Result{Name: name, Figures: []Figure{
		{"p50 s", Percentile(samples, 50).Seconds()},
		{"p95 s", Percentile(samples, 95).Seconds()},
		{"max s", Percentile(samples, 100).Seconds()},
		{"samples", float64(len(samples))},
	}}
}

// format is a Result on one line: its name, then each column and value.
func format(r Result) string {
	parts := []string{r.Name + ":"}
	for _, f := range r.Figures {
		parts = append(parts, f.Column+" "+strconv.FormatFloat(f.Value, 'f', -1, 64))
		if f.Value != float64(int64(f.Value)) {
			parts[len(parts)-1] = fmt.Sprintf("%s %.2f", f.Column, f.Value)
		}
	}
	return strings.Join(parts, "  ")
}

// Format is a Result on one line, for a command that prints them.
func Format(r Result) string { return format(r) }
