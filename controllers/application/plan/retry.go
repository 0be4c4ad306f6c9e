package plan

import (
	"math"
	"time"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// Retry timing of a failed sync without a syncPolicy.retry, as Argo CD's:
// 5 s, doubling, at most 3 min apart, for ever.
const (
	defaultRetryDelay    = 5 * time.Second
	defaultRetryFactor   = 2
	defaultRetryMaxDelay = 3 * time.Minute
	// minRetryDelay keeps a zero or negative backoff.duration from
	// retrying in a loop (or, as RequeueAfter 0, never again).
	minRetryDelay = time.Second
)

// RetryDelay says how long to wait before the retry that follows the
// failures-th consecutive failure of a sync, from policy (nil for the
// defaults), and false when policy.limit retries are spent.
//
// The delay is base × factor^(failures-1), computed in floating point and
// capped before it becomes a Duration: after about 32 doublings it no
// longer fits in one, and the overflow was a negative delay that stopped
// the retries for good.
func RetryDelay(policy *gitopsv1alpha1.RetryStrategy, failures int) (time.Duration, bool) {
	base, factor, ceiling, limit := defaultRetryDelay, float64(defaultRetryFactor), defaultRetryMaxDelay, int64(-1)
	if policy != nil {
		limit = policy.Limit
		if b := policy.Backoff; b != nil {
			if b.Duration != nil {
				base = b.Duration.Duration
			}
			if b.Factor != nil {
				factor = float64(*b.Factor)
			}
			if b.MaxDuration != nil {
				ceiling = b.MaxDuration.Duration
			}
		}
	}
	if limit >= 0 && int64(failures) > limit {
		return 0, false
	}
	ceiling = max(ceiling, minRetryDelay)
	delay := float64(base) * math.Pow(max(factor, 1), float64(max(failures-1, 0)))
	if !(delay < float64(ceiling)) { // also when +Inf or NaN
		return ceiling, true
	}
	return max(time.Duration(delay), minRetryDelay), true
}
