// Package webhook receives Git push events from GitHub and GitLab and asks
// Applications to look at Git now, so a commit is applied in seconds rather
// than at the next poll.
//
// Two paths take events. POST /hooks/git is the operator's: its events carry
// the manager's shared secret and refresh every Application of the pushed
// repository. POST /hooks/git/<namespace>/<name> is one Application's: its
// events carry that Application's own secret (spec.webhook.secretRef) and
// refresh that Application only, and only for a push to its own repository,
// so a tenant's secret signs nothing for anyone else. Every event must carry
// its secret, as GitHub's HMAC signature or GitLab's token; one without it is
// refused with 401, logged without its payload, and with no hint to the
// sender why.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-logr/logr"
)

// maxPayload caps the size of an event. GitHub caps its payloads at 25 MB,
// but a push that only asks Applications to look at Git needs none of the
// commits' details, and the body is held in memory to check its signature.
const maxPayload = 5 << 20

// rememberedDeliveries is how many accepted deliveries are remembered, so a
// repeat of one of them is dropped.
const rememberedDeliveries = 1024

// ErrNoWebhook is what a Lookup returns, wrapped with the reason, when an
// Application cannot take events on its own path: there is no such
// Application, it has no spec.webhook, or its Secret or token is missing.
// The sender is answered 401 whichever it is.
var ErrNoWebhook = errors.New("no push-event secret for this Application")

// ApplicationHook is what an event posted to an Application's own path is
// checked against.
type ApplicationHook struct {
	// RepoURL is the Application's spec.source.repoURL: a push to any other
	// repository is refused.
	RepoURL string
	// Secret is the token of the Application's spec.webhook.secretRef.
	Secret []byte
}

// Receiver says how push events are checked and what they set off. Its
// Handler serves them.
type Receiver struct {
	// Secret is the operator's shared secret, which events on
	// POST /hooks/git are signed (GitHub) or sent (GitLab) with. Empty,
	// that path is not served.
	Secret []byte
	// Trigger asks the Applications of a repository, named by any of its
	// URLs, to look at Git now, and returns how many it asked.
	Trigger func(ctx context.Context, repoURLs []string) (int, error)
	// Lookup finds the secret and repository of the Application an event
	// posted to POST /hooks/git/<namespace>/<name> is for, returning
	// ErrNoWebhook when it has none. Lookup and Refresh unset, that path is
	// not served.
	Lookup func(ctx context.Context, namespace, name string) (ApplicationHook, error)
	// Refresh asks one Application to look at Git now.
	Refresh func(ctx context.Context, namespace, name string) error
	Log     logr.Logger
}

// Handler serves the paths the Receiver is set up for. Each Handler
// remembers the deliveries it accepted, so one Handler is made per server.
func (rc Receiver) Handler() http.Handler {
	h := &handler{Receiver: rc, accepted: newDeliveries(rememberedDeliveries)}
	mux := http.NewServeMux()
	if len(rc.Secret) > 0 && rc.Trigger != nil {
		mux.HandleFunc("POST /hooks/git", h.serveShared)
	}
	if rc.Lookup != nil && rc.Refresh != nil {
		mux.HandleFunc("POST /hooks/git/{namespace}/{name}", h.serveApplication)
	}
	return mux
}

type handler struct {
	Receiver
	accepted *deliveries
}

// serveShared takes an event signed with the operator's secret and
// refreshes every Application of its repository.
func (h *handler) serveShared(w http.ResponseWriter, req *http.Request) {
	ev, body, ok := read(w, req)
	if !ok {
		return
	}
	log := h.Log.WithValues("provider", ev.provider, "remote", req.RemoteAddr)
	if !ev.signedWith(h.Secret, body) {
		refuse(w, log, "bad or missing "+ev.signatureHeader())
		return
	}
	urls, delivery, done := h.admit(w, log, ev, body, "")
	if done {
		return
	}
	n, err := h.Trigger(req.Context(), urls)
	if err != nil {
		h.accepted.forget(delivery)
		log.Error(err, "asking Applications to look at Git after a push")
		http.Error(w, "could not ask the Applications to look at Git", http.StatusInternalServerError)
		return
	}
	log.Info("push event: Applications asked to look at Git", "repository", urls[0], "applications", n)
	w.WriteHeader(http.StatusAccepted)
}

// serveApplication takes an event signed with one Application's own secret
// and refreshes that Application, if the push is to its repository.
func (h *handler) serveApplication(w http.ResponseWriter, req *http.Request) {
	namespace, name := req.PathValue("namespace"), req.PathValue("name")
	ev, body, ok := read(w, req)
	if !ok {
		return
	}
	log := h.Log.WithValues("provider", ev.provider, "remote", req.RemoteAddr, "application", namespace+"/"+name)
	hook, err := h.Lookup(req.Context(), namespace, name)
	if errors.Is(err, ErrNoWebhook) {
		refuse(w, log, err.Error())
		return
	}
	if err != nil {
		log.Error(err, "reading the Application's push-event secret")
		http.Error(w, "could not check the event", http.StatusInternalServerError)
		return
	}
	if !ev.signedWith(hook.Secret, body) {
		refuse(w, log, "bad or missing "+ev.signatureHeader())
		return
	}
	urls, delivery, done := h.admit(w, log, ev, body, namespace+"/"+name)
	if done {
		return
	}
	if !slices.ContainsFunc(urls, func(u string) bool { return SameRepository(u, hook.RepoURL) }) {
		// Not accepted, so a delivery for the right repository with the
		// same id is not taken for a repeat.
		h.accepted.forget(delivery)
		refuse(w, log, "the pushed repository is not the Application's spec.source.repoURL")
		return
	}
	if err := h.Refresh(req.Context(), namespace, name); err != nil {
		h.accepted.forget(delivery)
		log.Error(err, "asking the Application to look at Git after a push")
		http.Error(w, "could not ask the Application to look at Git", http.StatusInternalServerError)
		return
	}
	log.Info("push event: Application asked to look at Git")
	w.WriteHeader(http.StatusAccepted)
}

// read reads an event's headers and body, answering the sender itself when
// it is not a GitHub or GitLab event or is too large to check.
func read(w http.ResponseWriter, req *http.Request) (event, []byte, bool) {
	ev, ok := eventOf(req.Header)
	if !ok {
		http.Error(w, "not a GitHub or GitLab event", http.StatusBadRequest)
		return event{}, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxPayload))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		// Cut short, the body could only fail its signature: say what is
		// wrong instead.
		http.Error(w, "the event is larger than 5 MiB", http.StatusRequestEntityTooLarge)
		return event{}, nil, false
	case err != nil:
		http.Error(w, "reading the event", http.StatusBadRequest)
		return event{}, nil, false
	}
	return ev, body, true
}

// admit takes a signed event on its way in: a delivery accepted before is
// dropped (200), an event other than a push is acknowledged (204), and a
// push's repository URLs are returned, its delivery remembered under
// target. done says the sender has been answered; otherwise the caller
// answers, and forgets the delivery if the push is not carried out, so a
// redelivery is not taken for a repeat.
func (h *handler) admit(w http.ResponseWriter, log logr.Logger, ev event, body []byte, target string) (urls []string, delivery deliveryKey, done bool) {
	delivery = keyOf(target, ev.delivery)
	if ev.delivery != "" && !h.accepted.claim(delivery) {
		log.Info("dropped a delivery already accepted", "delivery", ev.delivery)
		w.WriteHeader(http.StatusOK)
		return nil, delivery, true
	}
	if !ev.push() {
		w.WriteHeader(http.StatusNoContent) // pings and other events
		return nil, delivery, true
	}
	urls, err := ev.repositoryURLs(body)
	if err != nil {
		h.accepted.forget(delivery)
		http.Error(w, "not a "+ev.provider+" push event", http.StatusBadRequest)
		return nil, delivery, true
	}
	return urls, delivery, false
}

// refuse answers 401, the same whatever the reason, and logs the reason,
// never the payload.
func refuse(w http.ResponseWriter, log logr.Logger, why string) {
	log.Info("refused a push event", "reason", why)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

const (
	github = "GitHub"
	gitlab = "GitLab"
)

// event is what the receiver reads of a request's headers.
type event struct {
	provider string // github or gitlab
	kind     string // X-GitHub-Event or X-Gitlab-Event
	// delivery is the id the sender gives this delivery (X-GitHub-Delivery,
	// X-Gitlab-Event-UUID); a redelivery repeats it. Empty if none is sent.
	delivery string
	// signature is GitHub's X-Hub-Signature-256 or GitLab's X-Gitlab-Token.
	signature string
}

func eventOf(h http.Header) (event, bool) {
	switch {
	case h.Get("X-GitHub-Event") != "":
		return event{provider: github, kind: h.Get("X-GitHub-Event"),
			delivery: h.Get("X-GitHub-Delivery"), signature: h.Get("X-Hub-Signature-256")}, true
	case h.Get("X-Gitlab-Event") != "":
		return event{provider: gitlab, kind: h.Get("X-Gitlab-Event"),
			delivery: h.Get("X-Gitlab-Event-UUID"), signature: h.Get("X-Gitlab-Token")}, true
	}
	return event{}, false
}

func (ev event) signatureHeader() string {
	if ev.provider == github {
		return "X-Hub-Signature-256"
	}
	return "X-Gitlab-Token"
}

// signedWith reports whether the event carries secret: GitHub's HMAC-SHA256
// of the body keyed with it, or GitLab's token equal to it. Both are
// compared in constant time. An empty secret signs nothing.
func (ev event) signedWith(secret, body []byte) bool {
	if len(secret) == 0 {
		return false
	}
	if ev.provider == gitlab {
		return subtle.ConstantTimeCompare([]byte(ev.signature), secret) == 1
	}
	sum, ok := strings.CutPrefix(ev.signature, "sha256=")
	if !ok {
		return false
	}
	want, err := hex.DecodeString(sum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), want)
}

func (ev event) push() bool {
	if ev.provider == github {
		return ev.kind == "push"
	}
	return ev.kind == "Push Hook" || ev.kind == "Tag Push Hook"
}

// repositoryURLs reads the pushed repository's URLs from a push event.
func (ev event) repositoryURLs(body []byte) ([]string, error) {
	if ev.provider == github {
		var push struct {
			Repository struct {
				CloneURL string `json:"clone_url"`
				SSHURL   string `json:"ssh_url"`
				HTMLURL  string `json:"html_url"`
			} `json:"repository"`
		}
		err := json.Unmarshal(body, &push)
		return []string{push.Repository.CloneURL, push.Repository.SSHURL, push.Repository.HTMLURL}, err
	}
	var push struct {
		Project struct {
			HTTPURL string `json:"git_http_url"`
			SSHURL  string `json:"git_ssh_url"`
			WebURL  string `json:"web_url"`
		} `json:"project"`
	}
	err := json.Unmarshal(body, &push)
	return []string{push.Project.HTTPURL, push.Project.SSHURL, push.Project.WebURL}, err
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
