// Package webhook receives Git push events from GitHub and GitLab and asks
// the Applications of the pushed repository to sync now, so a commit is
// applied in seconds rather than at the next poll. Every event must carry
// the shared secret: GitHub's HMAC signature or GitLab's token. An event
// without it is refused and logged without its payload.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-logr/logr"
)

// maxPayload caps how much of an event is read.
const maxPayload = 5 << 20

// Receiver is the HTTP handler of push events.
type Receiver struct {
	// Secret is the shared secret events are signed (GitHub) or sent
	// (GitLab) with. An empty secret refuses every event.
	Secret []byte
	// Trigger asks the Applications of a repository, named by any of its
	// URLs, to sync now, and returns how many it asked.
	Trigger func(ctx context.Context, repoURLs []string) (int, error)
	Log     logr.Logger
}

// ServeHTTP handles one event.
func (rc Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST a push event", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload))
	if err != nil {
		http.Error(w, "reading the event", http.StatusBadRequest)
		return
	}
	var urls []string
	switch {
	case req.Header.Get("X-GitHub-Event") != "":
		if !rc.githubSigned(req.Header.Get("X-Hub-Signature-256"), body) {
			rc.refuse(w, req, "GitHub", "bad or missing X-Hub-Signature-256")
			return
		}
		if req.Header.Get("X-GitHub-Event") != "push" {
			w.WriteHeader(http.StatusNoContent) // pings and other events
			return
		}
		var event struct {
			Repository struct {
				CloneURL string `json:"clone_url"`
				SSHURL   string `json:"ssh_url"`
				HTMLURL  string `json:"html_url"`
			} `json:"repository"`
		}
		if err := json.Unmarshal(body, &event); err != nil {
			http.Error(w, "not a GitHub push event", http.StatusBadRequest)
			return
		}
		urls = []string{event.Repository.CloneURL, event.Repository.SSHURL, event.Repository.HTMLURL}
	case req.Header.Get("X-Gitlab-Event") != "":
		token := []byte(req.Header.Get("X-Gitlab-Token"))
		if len(rc.Secret) == 0 || subtle.ConstantTimeCompare(token, rc.Secret) != 1 {
			rc.refuse(w, req, "GitLab", "bad or missing X-Gitlab-Token")
			return
		}
		if req.Header.Get("X-Gitlab-Event") != "Push Hook" && req.Header.Get("X-Gitlab-Event") != "Tag Push Hook" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		var event struct {
			Project struct {
				HTTPURL string `json:"git_http_url"`
				SSHURL  string `json:"git_ssh_url"`
				WebURL  string `json:"web_url"`
			} `json:"project"`
		}
		if err := json.Unmarshal(body, &event); err != nil {
			http.Error(w, "not a GitLab push event", http.StatusBadRequest)
			return
		}
		urls = []string{event.Project.HTTPURL, event.Project.SSHURL, event.Project.WebURL}
	default:
		http.Error(w, "not a GitHub or GitLab event", http.StatusBadRequest)
		return
	}
	n, err := rc.Trigger(req.Context(), urls)
	if err != nil {
		rc.Log.Error(err, "asking Applications to sync after a push")
		http.Error(w, "could not ask the Applications to sync", http.StatusInternalServerError)
		return
	}
	rc.Log.Info("push event: Applications asked to sync", "repository", urls[0], "applications", n)
	w.WriteHeader(http.StatusAccepted)
}

func (rc Receiver) githubSigned(signature string, body []byte) bool {
	sum, ok := strings.CutPrefix(signature, "sha256=")
	if len(rc.Secret) == 0 || !ok {
		return false
	}
	want, err := hex.DecodeString(sum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, rc.Secret)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), want)
}

// refuse answers 401 and logs who sent what kind of event, never the
// payload.
func (rc Receiver) refuse(w http.ResponseWriter, req *http.Request, provider, why string) {
	rc.Log.Info("refused a push event", "provider", provider, "reason", why, "remote", req.RemoteAddr)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// SameRepository reports whether two repository URLs name the same
// repository: scheme, user, a trailing ".git" or "/" and the host's case
// aside, and scp-like SSH (git@host:org/repo) taken as ssh://git@host/org/repo.
func SameRepository(a, b string) bool {
	na, nb := normalize(a), normalize(b)
	return na != "" && na == nb
}

func normalize(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		if at := strings.Index(raw, "@"); at >= 0 {
			if colon := strings.Index(raw[at:], ":"); colon > 0 {
				raw = "ssh://" + raw[:at+colon] + "/" + raw[at+colon+1:]
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	path := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	return strings.ToLower(u.Hostname()) + path
}
