package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
)

const githubPush = `{"ref":"refs/heads/main","repository":{"clone_url":"https://github.com/org/gitops-repo.git","ssh_url":"git@github.com:org/gitops-repo.git","html_url":"https://github.com/org/gitops-repo"},"head_commit":{"message":"s3cret-in-payload"}}`
const gitlabPush = `{"ref":"refs/heads/main","project":{"git_http_url":"https://gitlab.com/org/gitops-repo.git","git_ssh_url":"git@gitlab.com:org/gitops-repo.git","web_url":"https://gitlab.com/org/gitops-repo"}}`

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestReceiver(t *testing.T) {
	tests := []struct {
		name     string
		headers  map[string]string
		body     string
		wantCode int
		wantURLs string
	}{
		{"a signed GitHub push", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("hook", githubPush)},
			githubPush, http.StatusAccepted, "https://github.com/org/gitops-repo.git git@github.com:org/gitops-repo.git https://github.com/org/gitops-repo"},
		{"a GitHub push signed with another secret", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("other", githubPush)},
			githubPush, http.StatusUnauthorized, ""},
		{"an unsigned GitHub push", map[string]string{"X-GitHub-Event": "push"}, githubPush, http.StatusUnauthorized, ""},
		{"a signed GitHub ping", map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign("hook", `{}`)},
			`{}`, http.StatusNoContent, ""},
		{"a GitLab push with the token", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "hook"},
			gitlabPush, http.StatusAccepted, "https://gitlab.com/org/gitops-repo.git git@gitlab.com:org/gitops-repo.git https://gitlab.com/org/gitops-repo"},
		{"a GitLab push with a wrong token", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"},
			gitlabPush, http.StatusUnauthorized, ""},
		{"neither", nil, githubPush, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			var triggered []string
			rc := Receiver{
				Secret: []byte("hook"),
				Trigger: func(_ context.Context, urls []string) (int, error) {
					triggered = urls
					return 1, nil
				},
				Log: funcr.New(func(prefix, args string) { logs.WriteString(prefix + args + "\n") }, funcr.Options{}),
			}
			req := httptest.NewRequest(http.MethodPost, "/hooks/git", bytes.NewBufferString(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("code %d, want %d", rec.Code, tt.wantCode)
			}
			if got := strings.Join(triggered, " "); got != tt.wantURLs {
				t.Errorf("triggered %q, want %q", got, tt.wantURLs)
			}
			if strings.Contains(logs.String(), "s3cret-in-payload") {
				t.Errorf("the payload reached the logs: %s", logs.String())
			}
			if tt.wantCode == http.StatusUnauthorized && !strings.Contains(logs.String(), "refused a push event") {
				t.Errorf("a refused event is not logged: %s", logs.String())
			}
		})
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
