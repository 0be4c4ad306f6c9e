package plan

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func TestRetryDelay(t *testing.T) {
	backoff := func(duration time.Duration, factor int64, maxDuration time.Duration, limit int64) *gitopsv1alpha1.RetryStrategy {
		return &gitopsv1alpha1.RetryStrategy{Limit: limit, Backoff: &gitopsv1alpha1.Backoff{
			Duration: &metav1.Duration{Duration: duration}, Factor: &factor, MaxDuration: &metav1.Duration{Duration: maxDuration}}}
	}
	tests := []struct {
		name      string
		policy    *gitopsv1alpha1.RetryStrategy
		failures  int
		want      time.Duration
		wantRetry bool
	}{
		{"the first retry of the defaults", nil, 1, 5 * time.Second, true},
		{"the defaults double", nil, 3, 20 * time.Second, true},
		{"the defaults stop growing at 3 min", nil, 10, 3 * time.Minute, true},
		{"after 40 failures the wait is still the ceiling, not an overflow", nil, 40, 3 * time.Minute, true},
		{"after a million failures too", nil, 1_000_000, 3 * time.Minute, true},
		{"the seed's policy: 5s, factor 2, at most 3m", backoff(5*time.Second, 2, 3*time.Minute, 5), 4, 40 * time.Second, true},
		{"past the limit, no retry", backoff(5*time.Second, 2, 3*time.Minute, 5), 6, 0, false},
		{"limit 0: never retried", &gitopsv1alpha1.RetryStrategy{Limit: 0}, 1, 0, false},
		{"a negative limit retries for ever", &gitopsv1alpha1.RetryStrategy{Limit: -1}, 500, 3 * time.Minute, true},
		{"duration 0s still waits a second, not a loop nor never", backoff(0, 2, time.Minute, -1), 3, time.Second, true},
		{"a huge factor is capped", backoff(time.Second, 1<<62, time.Hour, -1), 3, time.Hour, true},
		{"a maxDuration of 0s still waits a second", backoff(5*time.Second, 2, 0, -1), 2, time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, retry := RetryDelay(tt.policy, tt.failures)
			if got != tt.want || retry != tt.wantRetry {
				t.Errorf("RetryDelay(%d) = %s, %v; want %s, %v", tt.failures, got, retry, tt.want, tt.wantRetry)
			}
		})
	}
}
