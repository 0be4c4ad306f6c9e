package metricsauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/utils/lru"
)

// cluster answers reviews from two tables, and counts them.
type cluster struct {
	users   map[string]string // token -> user
	allowed map[string]bool   // user -> may get /metrics
	fail    error
	reviews int
}

func (c *cluster) authenticate(_ context.Context, token string) (authenticationv1.UserInfo, bool, error) {
	c.reviews++
	if c.fail != nil {
		return authenticationv1.UserInfo{}, false, c.fail
	}
	user, ok := c.users[token]
	return authenticationv1.UserInfo{Username: user}, ok, nil
}

func (c *cluster) authorize(_ context.Context, user authenticationv1.UserInfo, verb, path string) (bool, error) {
	c.reviews++
	return verb == "get" && path == "/metrics" && c.allowed[user.Username], nil
}

type fixture struct {
	cluster *cluster
	now     time.Time
	handler http.Handler
}

func newFixture() *fixture {
	f := &fixture{
		cluster: &cluster{
			users:   map[string]string{"prom-token": "system:serviceaccount:monitoring:prometheus", "other-token": "alice"},
			allowed: map[string]bool{"system:serviceaccount:monitoring:prometheus": true},
		},
		now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
	}
	g := &guard{reviewer: f.cluster, decisions: lru.New(8), now: func() time.Time { return f.now }}
	f.handler = g.handler(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("metrics"))
	}))
	return f
}

func (f *fixture) get(authorization string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec
}

func TestTheClusterDecidesWhoReadsMetrics(t *testing.T) {
	tests := []struct {
		name          string
		authorization string
		want          int
		wantReviews   int
	}{
		{"no header", "", http.StatusUnauthorized, 0},
		{"another scheme", "Basic cHJvbTpwdw==", http.StatusUnauthorized, 0},
		{"an empty bearer token", "Bearer  ", http.StatusUnauthorized, 0},
		{"a token the cluster does not know", "Bearer forged", http.StatusUnauthorized, 1},
		{"a user without the right", "Bearer other-token", http.StatusForbidden, 2},
		{"a user bound to a role that may get /metrics", "Bearer prom-token", http.StatusOK, 2},
		{"the scheme in any case", "bearer prom-token", http.StatusOK, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			rec := f.get(tt.authorization)
			if rec.Code != tt.want || f.cluster.reviews != tt.wantReviews {
				t.Errorf("status %d after %d reviews, want %d after %d", rec.Code, f.cluster.reviews, tt.want, tt.wantReviews)
			}
			if tt.want == http.StatusOK && rec.Body.String() != "metrics" {
				t.Errorf("body %q: the metrics handler was not reached", rec.Body.String())
			}
		})
	}
}

func TestDecisionsAreReusedForAWhile(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		after     time.Duration
		reasked   bool
		firstCode int
	}{
		{"an allowed scrape within a minute", "prom-token", 50 * time.Second, false, http.StatusOK},
		{"an allowed scrape after a minute", "prom-token", 61 * time.Second, true, http.StatusOK},
		{"a refusal within half a minute", "other-token", 20 * time.Second, false, http.StatusForbidden},
		{"a refusal after half a minute, so a new binding counts soon", "other-token", 31 * time.Second, true, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			if code := f.get("Bearer " + tt.token).Code; code != tt.firstCode {
				t.Fatalf("first request: %d, want %d", code, tt.firstCode)
			}
			before := f.cluster.reviews
			f.now = f.now.Add(tt.after)
			f.get("Bearer " + tt.token)
			if reasked := f.cluster.reviews > before; reasked != tt.reasked {
				t.Errorf("asked the cluster again: %v, want %v", reasked, tt.reasked)
			}
		})
	}
}

func TestAFailedReviewIsAnErrorAndNotRemembered(t *testing.T) {
	f := newFixture()
	f.cluster.fail = errors.New("connection refused")
	if code := f.get("Bearer prom-token").Code; code != http.StatusInternalServerError {
		t.Fatalf("status %d while the API server is unreachable, want 500", code)
	}
	f.cluster.fail = nil
	if code := f.get("Bearer prom-token").Code; code != http.StatusOK {
		t.Errorf("status %d once the API server answers, want 200", code)
	}
}

func TestTokensAreNotKeptInTheCache(t *testing.T) {
	key := decisionKey("prom-token", "get", "/metrics")
	if want := "get /metrics"; len(key) < len(want) || key[len(key)-len(want):] != want {
		t.Errorf("key %q does not end with the request", key)
	}
	for i := 0; i+len("prom-token") <= len(key); i++ {
		if key[i:i+len("prom-token")] == "prom-token" {
			t.Fatalf("key %q holds the token", key)
		}
	}
}
