// Package dashboard is the web dashboard `kubectl sluice dashboard`
// serves: Rollouts and Applications at a glance, updated live from API
// watches, with the plugin's actions. Everything is read and done with the
// user's own credentials, so the page shows and does nothing kubectl would
// not let the same user see or do.
package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

//go:embed web
var assets embed.FS

// actionHeader must be on every request that changes something. A page of
// another origin cannot set it without a CORS preflight, which this server
// never grants, so another site open in the same browser cannot act with
// the user's credentials.
const actionHeader = "X-Sluice-Dashboard"

// Server serves the pages, their data and their actions.
type Server struct {
	client client.WithWatch
	read   reader
	// namespace is the page's first namespace: the kubeconfig's, or -n.
	namespace string
	// hosts are the Host headers the server answers; empty answers any,
	// for a server an operator opened beyond loopback.
	hosts map[string]bool
	// token is the secret of the address the command prints: a request
	// needs it, in the address once and then in a cookie. Without it,
	// anyone else on the machine who reaches the port, or any page that
	// names it, could act with the user's credentials.
	token string
}

// New is a Server that reads and acts with cl, showing namespace first,
// for requests that carry token.
func New(cl client.WithWatch, namespace, token string) *Server {
	return &Server{client: cl, read: reader{client: cl}, namespace: namespace, token: token}
}

// NewToken is a random token for a server: 256 bits, URL-safe.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// cookieName is the token's cookie. Cookies are shared by every port of a
// host, so each server's cookie is named after its own token: two
// dashboards in one browser keep theirs apart.
func (s *Server) cookieName() string {
	sum := sha256.Sum256([]byte(s.token))
	return "sluice-dashboard-" + hex.EncodeToString(sum[:6])
}

// authorized reports whether r carries the token in its cookie.
func (s *Server) authorized(r *http.Request) bool {
	c, err := r.Cookie(s.cookieName())
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.token)) == 1
}

// AllowHosts limits the server to requests for these hosts (host:port). A
// server on loopback answers only its own names, so a DNS name rebound to
// 127.0.0.1 by another site cannot read it.
func (s *Server) AllowHosts(hosts ...string) {
	s.hosts = map[string]bool{}
	for _, h := range hosts {
		s.hosts[h] = true
	}
}

// LoopbackHosts are the names a server listening on addr answers to when
// addr is a loopback address; nil otherwise.
func LoopbackHosts(addr net.Addr) []string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return nil
	}
	port := tcp.AddrPort().Port()
	var hosts []string
	for _, name := range []string{"localhost", "127.0.0.1", "[::1]", tcp.IP.String()} {
		host := net.JoinHostPort(strings.Trim(name, "[]"), strconv.Itoa(int(port)))
		hosts = append(hosts, host)
		if port == 80 { // a browser leaves the default port out of Host
			hosts = append(hosts, strings.TrimSuffix(host, ":80"))
		}
	}
	return hosts
}

// Handler is the dashboard's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	web, err := fs.Sub(assets, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux.Handle("GET /", http.FileServerFS(web))
	mux.HandleFunc("GET /api/config", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"namespace": s.namespace})
	})
	mux.HandleFunc("GET /api/namespaces/{namespace}/rollouts", s.view(func(ctx context.Context, r *http.Request) (any, error) {
		return s.read.rollouts(ctx, r.PathValue("namespace"))
	}, rolloutListWatches))
	mux.HandleFunc("GET /api/namespaces/{namespace}/rollouts/{name}", s.view(func(ctx context.Context, r *http.Request) (any, error) {
		return s.read.rollout(ctx, r.PathValue("namespace"), r.PathValue("name"))
	}, s.rolloutWatches))
	mux.HandleFunc("GET /api/namespaces/{namespace}/applications", s.view(func(ctx context.Context, r *http.Request) (any, error) {
		return s.read.applications(ctx, r.PathValue("namespace"))
	}, applicationListWatches))
	mux.HandleFunc("GET /api/namespaces/{namespace}/applications/{name}", s.view(func(ctx context.Context, r *http.Request) (any, error) {
		return s.read.application(ctx, r.PathValue("namespace"), r.PathValue("name"))
	}, s.applicationWatches))
	mux.HandleFunc("POST /api/namespaces/{namespace}/rollouts/{name}/{action}", s.rolloutAction)
	mux.HandleFunc("POST /api/namespaces/{namespace}/applications/{name}/{action}", s.applicationAction)
	return s.guard(mux)
}

// guard refuses requests for another host, without the token, and changes
// without the action header, and sets the headers that keep the page to
// its own origin. The address with the token sets the token's cookie and
// sends the browser on to the same page without it, so the token does not
// stay in the address bar or in a link copied from it.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.hosts) > 0 && !s.hosts[r.Host] {
			http.Error(w, "unknown host "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		if token := r.URL.Query().Get("token"); token != "" && r.Method == http.MethodGet {
			if subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
				http.Error(w, "wrong token: open the address kubectl sluice dashboard printed", http.StatusUnauthorized)
				return
			}
			// Not Secure: the dashboard is served over plain HTTP on
			// loopback, where a Secure cookie would not come back.
			http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode}) //nolint:gosec // see above
			query := r.URL.Query()
			query.Del("token")
			next := url.URL{Path: r.URL.Path, RawQuery: query.Encode()}
			http.Redirect(w, r, next.String(), http.StatusSeeOther)
			return
		}
		if !s.authorized(r) {
			http.Error(w, "no token: open the address kubectl sluice dashboard printed", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(actionHeader) != "1" {
			http.Error(w, "missing "+actionHeader+" header", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// view serves what compute reads as JSON, or with ?watch=1 as a stream of
// server-sent events: the JSON again each time a watched kind changes.
func (s *Server) view(compute func(context.Context, *http.Request) (any, error), watches watchesOf) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") == "1" {
			s.stream(w, r, func(ctx context.Context) (any, error) { return compute(ctx, r) }, watches)
			return
		}
		v, err := compute(r.Context(), r)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the API server's status and message when err is
// the API server's answer, so the page shows what kubectl would.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var apiStatus apierrors.APIStatus
	if errors.As(err, &apiStatus) && apiStatus.Status().Code != 0 {
		status = int(apiStatus.Status().Code)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
