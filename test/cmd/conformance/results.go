package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Outcome is what happened to one test in this run.
type Outcome string

const (
	Passed  Outcome = "PASS"
	Failed  Outcome = "FAIL"
	Skipped Outcome = "SKIP" // by the test itself
	NotRun  Outcome = "NOT RUN"
	// Lost: the test was to run but reported nothing, as when its process
	// died or timed out.
	Lost Outcome = "LOST"
)

// testEvent is the part of `go tool test2json` output the runner reads.
type testEvent struct {
	Action string
	Test   string
}

// readOutcomes collects the final outcome of every subtest (suite/test) in a
// stream of test2json events. Events of the suite function itself are not
// tests of their own and are left out.
func readOutcomes(r io.Reader) (map[string]Outcome, error) {
	outcomes := map[string]Outcome{}
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for scanner.Scan() {
		var ev testEvent
		if json.Unmarshal(scanner.Bytes(), &ev) != nil || !strings.Contains(ev.Test, "/") {
			continue
		}
		switch ev.Action {
		case "pass":
			outcomes[ev.Test] = Passed
		case "fail":
			outcomes[ev.Test] = Failed
		case "skip":
			outcomes[ev.Test] = Skipped
		}
	}
	return outcomes, scanner.Err()
}

// Row is one line of the conformance table.
type Row struct {
	Suite, Test string
	Expected    Verdict
	Outcome     Outcome
	Why         string
}

// Regression reports whether the row fails the run: a test expected to
// pass did not, or a test expected.yaml does not list ran at all (it must
// be given a verdict, so the table stays whole).
func (r Row) Regression() bool {
	return (r.Expected == Pass && r.Outcome != Passed) || r.Expected == ""
}

// rows lines up every expected test with what happened to it, and adds the
// tests that reported an outcome without being expected at all.
func rows(suites []Suite, outcomes map[string]Outcome) []Row {
	var out []Row
	known := map[string]bool{}
	for _, s := range suites {
		if !s.runs() {
			out = append(out, Row{Suite: s.Name, Test: "(all)", Expected: s.Verdict, Outcome: NotRun, Why: s.Why})
			continue
		}
		for _, t := range s.Tests {
			id := s.Name + "/" + t.Name
			known[id] = true
			outcome, ok := outcomes[id]
			switch {
			case ok:
			case t.runs():
				outcome = Lost
			default:
				outcome = NotRun
			}
			out = append(out, Row{Suite: s.Name, Test: t.Name, Expected: t.Verdict, Outcome: outcome, Why: t.Why})
		}
	}
	var unexpected []string
	for id := range outcomes {
		if !known[id] {
			unexpected = append(unexpected, id)
		}
	}
	sort.Strings(unexpected)
	for _, id := range unexpected {
		suite, test, _ := strings.Cut(id, "/")
		out = append(out, Row{Suite: suite, Test: test, Outcome: outcomes[id], Why: "not in expected.yaml"})
	}
	return out
}

// Summary counts one suite's rows.
type Summary struct {
	Suite                                   string
	Passed, Failed, Differs, Cannot, Others int
}

func summarize(rs []Row) []Summary {
	var out []Summary
	index := map[string]int{}
	for _, r := range rs {
		i, ok := index[r.Suite]
		if !ok {
			i = len(out)
			index[r.Suite] = i
			out = append(out, Summary{Suite: r.Suite})
		}
		s := &out[i]
		switch {
		case r.Outcome == Passed:
			s.Passed++
		case r.Outcome == Failed || r.Outcome == Lost:
			s.Failed++
		case r.Expected == Differs:
			s.Differs++
		case r.Expected == Cannot:
			s.Cannot++
		default:
			s.Others++
		}
	}
	return out
}

// printTable writes the run's table, then a line per suite and the tests
// that fail the run.
func printTable(w io.Writer, rs []Row) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "SUITE\tTEST\tRESULT\tEXPECTED\tWHY")
	for _, r := range rs {
		expected := string(r.Expected)
		if expected == "" {
			expected = "-"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Suite, r.Test, r.Outcome, expected, r.Why)
	}
	_ = tw.Flush()
	_, _ = fmt.Fprintln(w)
	for _, s := range summarize(rs) {
		_, _ = fmt.Fprintf(w, "%-24s passed %d, failed %d, differ on purpose %d, cannot pass here %d\n",
			s.Suite, s.Passed, s.Failed, s.Differs, s.Cannot)
	}
	for _, r := range rs {
		if r.Regression() {
			if r.Expected == "" {
				_, _ = fmt.Fprintf(w, "UNLISTED: %s/%s ran (%s) but expected.yaml gives it no verdict\n", r.Suite, r.Test, r.Outcome)
				continue
			}
			_, _ = fmt.Fprintf(w, "REGRESSION: %s/%s was expected to pass: %s\n", r.Suite, r.Test, r.Outcome)
		}
	}
}
