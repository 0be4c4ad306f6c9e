package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
)

// The paths FuzzReceiver posts to, and the secret each takes.
var fuzzPaths = []struct{ path, secret string }{
	{"/hooks/git", "hook"},
	{"/hooks/git/team-a/web", "team-a-token"},
	{"/hooks/git/team-b/web", "team-b-token"},
	{"/hooks/git/team-a/nothing", ""},
}

// FuzzReceiver posts events with random headers among those the receiver
// reads, random bodies and random signatures. Whatever comes in, the
// receiver does not panic, answers with a code it documents, and sets off
// nothing unless the event carries the secret of the path it came to: the
// HMAC of the very body it read (GitHub) or the token (GitLab).
func FuzzReceiver(f *testing.F) {
	f.Add(uint8(0), "push", "", "d-1", true, []byte(githubPush))
	f.Add(uint8(1), "push", "sha256=00", "d-1", false, []byte(githubPush))
	f.Add(uint8(4), "Push Hook", "", "u-1", true, []byte(gitlabPush))
	f.Add(uint8(5), "Tag Push Hook", "team-a-token", "", false, []byte(gitlabPush))
	f.Add(uint8(9), "ping", "", "", true, []byte(`{}`))
	f.Add(uint8(13), "push", "", "d-2", true, []byte(otherRepoPush))
	f.Add(uint8(2), "push", "", "d-3", true, []byte(`{"repository":{"clone_url":"git@github.com:org/team-b"}}`))
	f.Fuzz(func(t *testing.T, route uint8, kind, signature, delivery string, signIt bool, body []byte) {
		target := fuzzPaths[int(route%4)]
		// Bits 2 and 3 say which provider's headers the event carries:
		// none, GitHub's, GitLab's or both.
		github, gitlab := route&4 != 0, route&8 != 0
		if signIt && target.secret != "" {
			signature = target.secret
			if github {
				signature = sign(target.secret, string(body))
			}
		}
		h := http.Header{}
		if github {
			h.Set("X-GitHub-Event", kind)
			h.Set("X-GitHub-Delivery", delivery)
			h.Set("X-Hub-Signature-256", signature)
		}
		if gitlab {
			h.Set("X-Gitlab-Event", kind)
			h.Set("X-Gitlab-Event-UUID", delivery)
			h.Set("X-Gitlab-Token", signature)
		}

		// What an accepted event logs is checked by the unit tests; the
		// fuzzer's bodies may well hold what they look for.
		r := newReceiver(t, func(rc *Receiver) { rc.Log = logr.Discard() })
		code, _ := r.post(target.path, h, string(body))

		documented := []int{http.StatusAccepted, http.StatusNoContent, http.StatusOK,
			http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge}
		if !slices.Contains(documented, code) {
			t.Fatalf("answered %d", code)
		}
		actions := r.actions()
		if len(actions) == 0 {
			return
		}
		if code != http.StatusAccepted {
			t.Errorf("set off %q and answered %d", actions, code)
		}
		if !carriesSecret(h, target.secret, body) {
			t.Fatalf("set off %q for an event that does not carry the secret of %s", actions, target.path)
		}
		for _, a := range actions {
			if app, ok := strings.CutPrefix(a, "refresh "); ok && "/hooks/git/"+app != target.path {
				t.Errorf("an event to %s refreshed %s", target.path, app)
			}
			if strings.HasPrefix(a, "trigger ") && target.path != "/hooks/git" {
				t.Errorf("an event to %s set off a trigger", target.path)
			}
		}
	})
}

// carriesSecret says, apart from the receiver's code, whether an event
// carries secret: GitHub's headers take precedence when both are there.
func carriesSecret(h http.Header, secret string, body []byte) bool {
	if secret == "" {
		return false
	}
	if h.Get("X-GitHub-Event") != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		sum, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		return ok && strings.EqualFold(sum, hex.EncodeToString(mac.Sum(nil)))
	}
	return h.Get("X-Gitlab-Event") != "" && h.Get("X-Gitlab-Token") == secret
}

// FuzzSameRepository compares random URLs: no panic, the answer does not
// depend on the order, and a URL that names a repository names the same
// one as itself.
func FuzzSameRepository(f *testing.F) {
	f.Add("https://github.com/org/repo.git", "git@github.com:org/repo")
	f.Add("ssh://git@GitHub.com/org/repo/", "https://github.com/org/repo")
	f.Add("git@host:org/repo", "git@host:/org/repo")
	f.Add("user@host", "user@host:")
	f.Add("%zz", "://")
	f.Add("", " ")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := SameRepository(a, b), SameRepository(b, a)
		if ab != ba {
			t.Errorf("SameRepository(%q, %q) = %v but SameRepository(%q, %q) = %v", a, b, ab, b, a, ba)
		}
		if normalize(a) != "" && !SameRepository(a, a) {
			t.Errorf("%q (%q) is not the same repository as itself", a, normalize(a))
		}
	})
}
