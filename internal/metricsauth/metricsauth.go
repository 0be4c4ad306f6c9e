// Package metricsauth decides who may read the manager's /metrics when it
// is served with --metrics-secure: the cluster decides, by a TokenReview of
// the caller's bearer token and a SubjectAccessReview of the request (verb
// and non-resource URL), as controller-runtime's
// filters.WithAuthenticationAndAuthorization and kube-rbac-proxy do.
//
// It is written here, two API calls and a cache, rather than taken from
// controller-runtime, because that filter links k8s.io/apiserver: 66
// packages (cel-go among them) whose initialisers cost every manager about
// 5 MiB of resident memory, measured, for a scrape every half minute.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/lru"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// How long a decision is reused: a token's permission is asked again after
// allowTTL, a refusal after denyTTL (so a role just bound takes effect
// soon), as controller-runtime's filter has it (its identities live a
// minute).
const (
	allowTTL      = time.Minute
	denyTTL       = 30 * time.Second
	reviewTimeout = 10 * time.Second
	cacheEntries  = 1024
)

// reviewer asks the cluster about a token and a request.
type reviewer interface {
	// authenticate returns the token's user, or ok false when the token
	// is not valid.
	authenticate(ctx context.Context, token string) (user authenticationv1.UserInfo, ok bool, err error)
	// authorize reports whether user may do verb on the non-resource path.
	authorize(ctx context.Context, user authenticationv1.UserInfo, verb, path string) (allowed bool, err error)
}

// Filter is a metricsserver.FilterProvider.
func Filter(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	g := &guard{reviewer: apiReviewer{authn: authn, authz: authz}, decisions: lru.New(cacheEntries), now: time.Now}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return g.handler(log, next), nil
	}, nil
}

// guard answers each request from its decisions, asking the cluster for
// those it has not made lately.
type guard struct {
	reviewer  reviewer
	decisions *lru.Cache // decisionKey -> decision
	now       func() time.Time
}

type decision struct {
	status  int // http.StatusOK, StatusUnauthorized or StatusForbidden
	user    string
	expires time.Time
}

func (g *guard) handler(log logr.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := bearerToken(req.Header.Get("Authorization"))
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		verb, path := strings.ToLower(req.Method), req.URL.Path
		d, err := g.decide(req.Context(), token, verb, path)
		switch {
		case err != nil:
			log.Error(err, "Could not review a /metrics request")
			http.Error(w, "Authentication or authorization failed", http.StatusInternalServerError)
		case d.status == http.StatusUnauthorized:
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		case d.status == http.StatusForbidden:
			log.V(4).Info("Refused a /metrics request", "user", d.user, "verb", verb, "path", path)
			http.Error(w, fmt.Sprintf("Authorization denied for user %s", d.user), http.StatusForbidden)
		default:
			next.ServeHTTP(w, req)
		}
	})
}

// decide returns the decision on a token's request, reusing one made
// lately. A failed review decides nothing and is not remembered.
func (g *guard) decide(ctx context.Context, token, verb, path string) (decision, error) {
	key := decisionKey(token, verb, path)
	now := g.now()
	if v, ok := g.decisions.Get(key); ok {
		if d := v.(decision); now.Before(d.expires) {
			return d, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	d := decision{status: http.StatusUnauthorized, expires: now.Add(denyTTL)}
	user, ok, err := g.reviewer.authenticate(ctx, token)
	if err != nil {
		return decision{}, err
	}
	if ok {
		d.user = user.Username
		allowed, err := g.reviewer.authorize(ctx, user, verb, path)
		if err != nil {
			return decision{}, err
		}
		d.status = http.StatusForbidden
		if allowed {
			d.status, d.expires = http.StatusOK, now.Add(allowTTL)
		}
	}
	g.decisions.Add(key, d)
	return d, nil
}

// decisionKey names a request by a hash of its token, so no token is held
// in memory longer than its request.
func decisionKey(token, verb, path string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("%x %s %s", sum, verb, path)
}

// bearerToken is the token of an "Authorization: Bearer <token>" header.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// apiReviewer asks the API server.
type apiReviewer struct {
	authn authenticationclient.AuthenticationV1Interface
	authz authorizationclient.AuthorizationV1Interface
}

func (r apiReviewer) authenticate(ctx context.Context, token string) (authenticationv1.UserInfo, bool, error) {
	review, err := r.authn.TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, false, fmt.Errorf("TokenReview: %w", err)
	}
	return review.Status.User, review.Status.Authenticated, nil
}

func (r apiReviewer) authorize(ctx context.Context, user authenticationv1.UserInfo, verb, path string) (bool, error) {
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	review, err := r.authz.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("SubjectAccessReview: %w", err)
	}
	return review.Status.Allowed, nil
}
