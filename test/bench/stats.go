package bench

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/test/audit"
)

// Percentile is the nearest-rank percentile p (0 < p <= 100) of samples:
// the smallest sample at least p% of them do not exceed. It is always one
// of the samples, so a p95 of 20 pushes is the 19th slowest and not an
// interpolation between two; zero for no samples.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Requests are a controller's API requests of one phase, in the three kinds
// that matter for a syncer's cost: writes change the cluster, reads (get,
// list, watch) load the API server, dry-runs do both halves of a write's
// work and change nothing.
type Requests struct {
	Writes, Reads, DryRuns, Other int
}

// writeVerbs are the audit log's verbs that change an object; a server-side
// apply is a patch.
var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true}

// readVerbs are the audit log's verbs that only read.
var readVerbs = map[string]bool{"get": true, "list": true, "watch": true}

// Classify sorts a tally of audit.Request keys ("verb resource", the verb
// marked "(dry-run)" for a request that changed nothing) into Requests.
func Classify(t audit.Tally) Requests {
	var r Requests
	for key, n := range t {
		verb, _, _ := strings.Cut(key, " ")
		switch {
		case strings.HasSuffix(verb, "(dry-run)"):
			r.DryRuns += n
		case writeVerbs[verb]:
			r.Writes += n
		case readVerbs[verb]:
			r.Reads += n
		default:
			r.Other += n
		}
	}
	return r
}

// Latency is how long something the subject does took, each time it was
// timed in one scenario: such as the time from a `git push` to a canary's
// first traffic weight, for one Application pushed to 20 times. It is no
// phase, so it has no baseline; the report lists it in a table of its own.
type Latency struct {
	// Name is what was timed, such as "commit to canary".
	Name string
	// Scenario is what it was timed on, such as "1 Application, 20 pushes".
	Scenario string
	Samples  []time.Duration
	// Cost is the subject's phase over the whole measurement, when it was
	// metered; nil when it was not.
	Cost *Phase
}
