package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
)

// payloadMarker is in every event's payload: it must never reach the logs.
const payloadMarker = "s3cret-in-payload"

const githubPush = `{"ref":"refs/heads/main","repository":{"clone_url":"https://github.com/org/gitops-repo.git","ssh_url":"git@github.com:org/gitops-repo.git","html_url":"https://github.com/org/gitops-repo"},"head_commit":{"message":"` + payloadMarker + `"}}`
const gitlabPush = `{"ref":"refs/heads/main","project":{"git_http_url":"https://gitlab.com/org/gitops-repo.git","git_ssh_url":"git@gitlab.com:org/gitops-repo.git","web_url":"https://gitlab.com/org/gitops-repo"},"commits":[{"message":"` + payloadMarker + `"}]}`
const otherRepoPush = `{"ref":"refs/heads/main","repository":{"clone_url":"https://github.com/org/` + payloadMarker + `.git"}}`

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// headers builds an event's headers from name, value pairs.
func headers(pairs ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(pairs); i += 2 {
		h.Set(pairs[i], pairs[i+1])
	}
	return h
}

// githubEvent is a GitHub push's headers, signed with secret.
func githubEvent(secret, body, delivery string) http.Header {
	return headers("X-GitHub-Event", "push", "X-Hub-Signature-256", sign(secret, body), "X-GitHub-Delivery", delivery)
}

// gitlabEvent is a GitLab push's headers, carrying token.
func gitlabEvent(token, delivery string) http.Header {
	return headers("X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", token, "X-Gitlab-Event-UUID", delivery)
}

// receiver is a Receiver under test with the shared secret "hook" and the
// Applications of tenants, recording what it sets off and what it logs.
type receiver struct {
	handler http.Handler

	mu        sync.Mutex
	logs      strings.Builder
	triggered [][]string
	refreshed []string
}

// tenants are the Applications the receivers under test know, by
// "<namespace>/<name>". One without a Secret has no spec.webhook.
var tenants = map[string]ApplicationHook{
	"team-a/web":     {RepoURL: "https://github.com/org/gitops-repo", Secret: []byte("team-a-token")},
	"team-a/lab":     {RepoURL: "git@gitlab.com:org/gitops-repo.git", Secret: []byte("team-a-token")},
	"team-b/web":     {RepoURL: "https://github.com/org/team-b", Secret: []byte("team-b-token")},
	"team-b/nohooks": {RepoURL: "https://github.com/org/gitops-repo"},
	"team-b/broken":  {},
}

func newReceiver(t testing.TB, change ...func(*Receiver)) *receiver {
	t.Helper()
	r := &receiver{}
	rc := Receiver{
		Secret: []byte("hook"),
		Trigger: func(_ context.Context, urls []string) (int, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.triggered = append(r.triggered, urls)
			return 1, nil
		},
		Lookup: func(_ context.Context, namespace, name string) (ApplicationHook, error) {
			hook, ok := tenants[namespace+"/"+name]
			switch {
			case name == "broken":
				return ApplicationHook{}, errors.New("the API server is gone")
			case !ok:
				return ApplicationHook{}, fmt.Errorf("%w: no Application %s/%s", ErrNoWebhook, namespace, name)
			case hook.Secret == nil:
				return ApplicationHook{}, fmt.Errorf("%w: the Application has no spec.webhook", ErrNoWebhook)
			}
			return hook, nil
		},
		Refresh: func(_ context.Context, namespace, name string) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.refreshed = append(r.refreshed, namespace+"/"+name)
			return nil
		},
		Log: funcr.New(func(prefix, args string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.logs.WriteString(prefix + args + "\n")
		}, funcr.Options{}),
	}
	for _, c := range change {
		c(&rc)
	}
	r.handler = rc.Handler()
	t.Cleanup(func() {
		if logs := r.logged(); strings.Contains(logs, payloadMarker) {
			t.Errorf("the payload reached the logs:\n%s", logs)
		}
	})
	return r
}

// post sends an event and returns the answer's code and body.
func (r *receiver) post(path string, h http.Header, body string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header = h
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (r *receiver) logged() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.String()
}

// actions is what the receiver set off: a line per Trigger (the
// repository's first URL) or Refresh (the Application).
func (r *receiver) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, urls := range r.triggered {
		out = append(out, "trigger "+urls[0])
	}
	for _, app := range r.refreshed {
		out = append(out, "refresh "+app)
	}
	return out
}

func TestSharedPath(t *testing.T) {
	tests := []struct {
		name     string
		headers  http.Header
		body     string
		wantCode int
		wantURLs string
	}{
		{"a signed GitHub push", githubEvent("hook", githubPush, ""),
			githubPush, http.StatusAccepted, "https://github.com/org/gitops-repo.git git@github.com:org/gitops-repo.git https://github.com/org/gitops-repo"},
		{"a GitHub push signed with another secret", githubEvent("other", githubPush, ""), githubPush, http.StatusUnauthorized, ""},
		{"a GitHub push signed with a tenant's secret", githubEvent("team-a-token", githubPush, ""), githubPush, http.StatusUnauthorized, ""},
		{"an unsigned GitHub push", headers("X-GitHub-Event", "push"), githubPush, http.StatusUnauthorized, ""},
		{"a signed GitHub ping", headers("X-GitHub-Event", "ping", "X-Hub-Signature-256", sign("hook", `{}`)), `{}`, http.StatusNoContent, ""},
		{"a signed GitHub push that is not JSON", githubEvent("hook", "push", ""), "push", http.StatusBadRequest, ""},
		{"a GitLab push with the token", gitlabEvent("hook", ""),
			gitlabPush, http.StatusAccepted, "https://gitlab.com/org/gitops-repo.git git@gitlab.com:org/gitops-repo.git https://gitlab.com/org/gitops-repo"},
		{"a GitLab push with a wrong token", gitlabEvent("nope", ""), gitlabPush, http.StatusUnauthorized, ""},
		{"neither", nil, githubPush, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t)
			code, _ := r.post("/hooks/git", tt.headers, tt.body)
			if code != tt.wantCode {
				t.Fatalf("code %d, want %d", code, tt.wantCode)
			}
			var got []string
			for _, urls := range r.triggered {
				got = append(got, strings.Join(urls, " "))
			}
			if diff := cmp.Diff(strings.Fields(tt.wantURLs), strings.Fields(strings.Join(got, " "))); diff != "" {
				t.Errorf("triggered (-want +got):\n%s", diff)
			}
			if tt.wantCode == http.StatusUnauthorized && !strings.Contains(r.logged(), "refused a push event") {
				t.Errorf("a refused event is not logged: %s", r.logged())
			}
		})
	}
}

func TestApplicationPath(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		headers  http.Header
		body     string
		wantCode int
		want     []string
		// wantLog is in the log, saying why an event was refused.
		wantLog string
	}{
		{"a GitHub push signed with the Application's secret refreshes it, and only it",
			"/hooks/git/team-a/web", githubEvent("team-a-token", githubPush, "1"), githubPush,
			http.StatusAccepted, []string{"refresh team-a/web"}, "Application asked to look at Git"},
		{"a GitLab push with the Application's token refreshes it",
			"/hooks/git/team-a/lab", gitlabEvent("team-a-token", "1"), gitlabPush,
			http.StatusAccepted, []string{"refresh team-a/lab"}, "Application asked to look at Git"},
		{"a signed ping does nothing",
			"/hooks/git/team-a/web", headers("X-GitHub-Event", "ping", "X-Hub-Signature-256", sign("team-a-token", `{}`)), `{}`,
			http.StatusNoContent, nil, ""},
		{"signed with another tenant's secret",
			"/hooks/git/team-a/web", githubEvent("team-b-token", githubPush, "1"), githubPush,
			http.StatusUnauthorized, nil, "bad or missing X-Hub-Signature-256"},
		{"signed with the shared secret",
			"/hooks/git/team-a/web", githubEvent("hook", githubPush, "1"), githubPush,
			http.StatusUnauthorized, nil, "bad or missing X-Hub-Signature-256"},
		{"a GitLab push with another tenant's token",
			"/hooks/git/team-a/lab", gitlabEvent("team-b-token", "1"), gitlabPush,
			http.StatusUnauthorized, nil, "bad or missing X-Gitlab-Token"},
		{"signed with the Application's secret, for another repository",
			"/hooks/git/team-a/web", githubEvent("team-a-token", otherRepoPush, "1"), otherRepoPush,
			http.StatusUnauthorized, nil, "not the Application's spec.source.repoURL"},
		{"a tenant's own secret for a repository another tenant's Application follows",
			"/hooks/git/team-b/web", githubEvent("team-b-token", githubPush, "1"), githubPush,
			http.StatusUnauthorized, nil, "not the Application's spec.source.repoURL"},
		{"an unknown Application",
			"/hooks/git/team-a/nothing", githubEvent("team-a-token", githubPush, "1"), githubPush,
			http.StatusUnauthorized, nil, "no Application team-a/nothing"},
		{"an Application without spec.webhook, signed with the shared secret",
			"/hooks/git/team-b/nohooks", githubEvent("hook", githubPush, "1"), githubPush,
			http.StatusUnauthorized, nil, "has no spec.webhook"},
		{"the Application cannot be read",
			"/hooks/git/team-b/broken", githubEvent("team-a-token", githubPush, "1"), githubPush,
			http.StatusInternalServerError, nil, "the API server is gone"},
		{"a deeper path",
			"/hooks/git/team-a/web/more", githubEvent("team-a-token", githubPush, "1"), githubPush,
			http.StatusNotFound, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t)
			code, answer := r.post(tt.path, tt.headers, tt.body)
			if code != tt.wantCode {
				t.Fatalf("code %d (%q), want %d; logs:\n%s", code, answer, tt.wantCode, r.logged())
			}
			if diff := cmp.Diff(tt.want, r.actions()); diff != "" {
				t.Errorf("set off (-want +got):\n%s", diff)
			}
			if code == http.StatusUnauthorized && answer != "unauthorized\n" {
				t.Errorf("a refusal answers %q: it must not say why", answer)
			}
			if !strings.Contains(r.logged(), tt.wantLog) {
				t.Errorf("the log does not say %q:\n%s", tt.wantLog, r.logged())
			}
		})
	}
}

func TestPathsAreServedOnlyWhenSetUp(t *testing.T) {
	withoutSharedSecret := newReceiver(t, func(rc *Receiver) { rc.Secret = nil })
	if code, _ := withoutSharedSecret.post("/hooks/git", githubEvent("", githubPush, ""), githubPush); code != http.StatusNotFound {
		t.Errorf("without a shared secret, /hooks/git answers %d, want 404", code)
	}
	if code, _ := withoutSharedSecret.post("/hooks/git/team-a/web", githubEvent("team-a-token", githubPush, ""), githubPush); code != http.StatusAccepted {
		t.Errorf("without a shared secret, an Application's path answers %d, want 202", code)
	}
	withoutLookup := newReceiver(t, func(rc *Receiver) { rc.Lookup = nil })
	if code, _ := withoutLookup.post("/hooks/git/team-a/web", githubEvent("team-a-token", githubPush, ""), githubPush); code != http.StatusNotFound {
		t.Errorf("without Lookup, an Application's path answers %d, want 404", code)
	}
	req := httptest.NewRequest(http.MethodGet, "/hooks/git", nil)
	rec := httptest.NewRecorder()
	newReceiver(t).handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /hooks/git answers %d, want 405", rec.Code)
	}
}

// An event larger than the limit used to be cut short and then refused as
// badly signed; the sender is told it is too large instead.
func TestOversizedEvent(t *testing.T) {
	padded := func(size int) string {
		return githubPush[:len(githubPush)-1] + strings.Repeat(" ", size-len(githubPush)) + "}"
	}
	for _, tc := range []struct {
		name     string
		path     string
		secret   string
		size     int
		wantCode int
	}{
		{"at the limit, on the shared path", "/hooks/git", "hook", maxPayload, http.StatusAccepted},
		{"one byte over, on the shared path", "/hooks/git", "hook", maxPayload + 1, http.StatusRequestEntityTooLarge},
		{"one byte over, on an Application's path", "/hooks/git/team-a/web", "team-a-token", maxPayload + 1, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			body := padded(tc.size)
			if code, _ := r.post(tc.path, githubEvent(tc.secret, body, ""), body); code != tc.wantCode {
				t.Errorf("code %d, want %d", code, tc.wantCode)
			}
		})
	}
}

func TestRepeatedDelivery(t *testing.T) {
	type send struct {
		path     string
		headers  http.Header
		body     string
		wantCode int
	}
	shared := func(delivery string) send {
		return send{"/hooks/git", githubEvent("hook", githubPush, delivery), githubPush, http.StatusAccepted}
	}
	tests := []struct {
		name  string
		sends []send
		want  []string
	}{
		{"a GitHub delivery sent twice sets off one trigger",
			[]send{shared("d-1"), {"/hooks/git", githubEvent("hook", githubPush, "d-1"), githubPush, http.StatusOK}},
			[]string{"trigger https://github.com/org/gitops-repo.git"}},
		{"two deliveries of one push are both carried out",
			[]send{shared("d-1"), shared("d-2")},
			[]string{"trigger https://github.com/org/gitops-repo.git", "trigger https://github.com/org/gitops-repo.git"}},
		{"a GitLab delivery sent twice to an Application refreshes it once",
			[]send{
				{"/hooks/git/team-a/lab", gitlabEvent("team-a-token", "u-1"), gitlabPush, http.StatusAccepted},
				{"/hooks/git/team-a/lab", gitlabEvent("team-a-token", "u-1"), gitlabPush, http.StatusOK},
			},
			[]string{"refresh team-a/lab"}},
		{"a forged delivery does not use up its id",
			[]send{{"/hooks/git", githubEvent("forged", githubPush, "d-1"), githubPush, http.StatusUnauthorized}, shared("d-1")},
			[]string{"trigger https://github.com/org/gitops-repo.git"}},
		{"a delivery refused for its repository does not use up its id",
			[]send{
				{"/hooks/git/team-a/web", githubEvent("team-a-token", otherRepoPush, "d-1"), otherRepoPush, http.StatusUnauthorized},
				{"/hooks/git/team-a/web", githubEvent("team-a-token", githubPush, "d-1"), githubPush, http.StatusAccepted},
			},
			[]string{"refresh team-a/web"}},
		{"one tenant's delivery ids do not shadow another path's",
			[]send{
				{"/hooks/git/team-a/web", githubEvent("team-a-token", githubPush, "d-1"), githubPush, http.StatusAccepted},
				shared("d-1"),
			},
			[]string{"trigger https://github.com/org/gitops-repo.git", "refresh team-a/web"}},
		{"events without a delivery id are all carried out",
			[]send{shared(""), shared("")},
			[]string{"trigger https://github.com/org/gitops-repo.git", "trigger https://github.com/org/gitops-repo.git"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t)
			for i, s := range tt.sends {
				if code, _ := r.post(s.path, s.headers, s.body); code != s.wantCode {
					t.Fatalf("send %d: code %d, want %d", i, code, s.wantCode)
				}
			}
			if diff := cmp.Diff(tt.want, r.actions()); diff != "" {
				t.Errorf("set off (-want +got):\n%s", diff)
			}
		})
	}
}

// A delivery whose Trigger failed is forgotten, so the sender's redelivery
// (which repeats the id) is carried out.
func TestFailedDeliveryMayBeRedelivered(t *testing.T) {
	failing := true
	r := newReceiver(t, func(rc *Receiver) {
		trigger := rc.Trigger
		rc.Trigger = func(ctx context.Context, urls []string) (int, error) {
			if failing {
				return 0, errors.New("the API server is gone")
			}
			return trigger(ctx, urls)
		}
	})
	if code, _ := r.post("/hooks/git", githubEvent("hook", githubPush, "d-1"), githubPush); code != http.StatusInternalServerError {
		t.Fatalf("code %d, want 500", code)
	}
	failing = false
	if code, _ := r.post("/hooks/git", githubEvent("hook", githubPush, "d-1"), githubPush); code != http.StatusAccepted {
		t.Fatalf("the redelivery: code %d, want 202", code)
	}
}

func TestConcurrentDeliveriesOfOneIDSetOffOneTrigger(t *testing.T) {
	r := newReceiver(t)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() { r.post("/hooks/git", githubEvent("hook", githubPush, "d-1"), githubPush) })
	}
	wg.Wait()
	if n := len(r.actions()); n != 1 {
		t.Errorf("%d triggers, want 1", n)
	}
}

func TestDeliveriesForgetTheOldestFirst(t *testing.T) {
	d := newDeliveries(3)
	key := func(i int) deliveryKey { return keyOf("", fmt.Sprint(i)) }
	for i := range 4 {
		if !d.claim(key(i)) {
			t.Fatalf("delivery %d is taken for a repeat", i)
		}
	}
	if !d.claim(key(0)) {
		t.Errorf("the oldest delivery is still remembered past the bound")
	}
	if d.claim(key(3)) {
		t.Errorf("the newest delivery is forgotten")
	}
	if len(d.at) != 3 {
		t.Errorf("%d deliveries remembered, want 3", len(d.at))
	}

	// A key forgotten and claimed again is remembered from its new place,
	// not dropped when its old place comes round.
	d = newDeliveries(3)
	d.claim(key(0))
	d.forget(key(0))
	d.claim(key(1))
	d.claim(key(0))
	d.claim(key(2)) // the ring is full: its oldest place is 0's stale one
	if d.claim(key(0)) {
		t.Errorf("a delivery claimed again was forgotten with its stale place")
	}
}

func TestSameRepository(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"https://github.com/org/repo.git", "https://github.com/org/repo", true},
		{"https://GitHub.com/org/repo/", "git@github.com:org/repo.git", true},
		{"ssh://git@github.com/org/repo.git", "git@github.com:org/repo.git", true},
		{"https://github.com/org/repo", "https://github.com/org/other", false},
		{"https://github.com/org/repo", "https://gitlab.com/org/repo", false},
		{"", "", false},
	} {
		if got := SameRepository(tc.a, tc.b); got != tc.want {
			t.Errorf("SameRepository(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
