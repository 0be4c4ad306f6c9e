package application

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/webhook"
	"github.com/sluicehq/sluice/internal/scheme"
)

// hookedApp is an Application of repoURL in namespace "team-a", with
// spec.webhook naming secretName unless it is empty.
func hookedApp(name, repoURL, secretName string) *gitopsv1alpha1.Application {
	app := &gitopsv1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name},
		Spec:       gitopsv1alpha1.ApplicationSpec{Source: gitopsv1alpha1.ApplicationSource{RepoURL: repoURL}},
	}
	if secretName != "" {
		app.Spec.Webhook = &gitopsv1alpha1.ApplicationWebhook{SecretRef: corev1.LocalObjectReference{Name: secretName}}
	}
	return app
}

func secretOf(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// webhookReconciler is a Reconciler over a fake API holding objects, its
// clock at now.
func webhookReconciler(now time.Time, objects ...client.Object) *Reconciler {
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objects...).Build()
	return &Reconciler{Client: c, APIReader: c, Now: func() time.Time { return now }, door: sluiceDoor{}}
}

func TestWebhookOf(t *testing.T) {
	r := webhookReconciler(time.Now(),
		hookedApp("web", "https://github.com/org/web", "web-hook"), secretOf("web-hook", map[string]string{"token": "team-a-token\n"}),
		hookedApp("plain", "https://github.com/org/web", ""),
		hookedApp("lost", "https://github.com/org/web", "gone"),
		hookedApp("keyless", "https://github.com/org/web", "keyless-hook"), secretOf("keyless-hook", map[string]string{"password": "x"}),
	)
	tests := []struct {
		name, namespace, app string
		want                 webhook.ApplicationHook
		// wantRefusal is in the error, which wraps webhook.ErrNoWebhook.
		wantRefusal string
	}{
		{"an Application with its own secret, the file's newline aside", "team-a", "web",
			webhook.ApplicationHook{RepoURL: "https://github.com/org/web", Secret: []byte("team-a-token")}, ""},
		{"no such Application", "team-a", "nothing", webhook.ApplicationHook{}, "no Application team-a/nothing"},
		{"no spec.webhook", "team-a", "plain", webhook.ApplicationHook{}, "has no spec.webhook.secretRef"},
		{"its Secret is missing", "team-a", "lost", webhook.ApplicationHook{}, "no Secret gone"},
		{"its Secret has no token", "team-a", "keyless", webhook.ApplicationHook{}, `Secret keyless-hook has no key "token"`},
		{"a name from a URL that no Application can have", "team-a", "../web", webhook.ApplicationHook{}, "cannot name an Application"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.webhookOf(context.Background(), tt.namespace, tt.app)
			if tt.wantRefusal != "" {
				if !errors.Is(err, webhook.ErrNoWebhook) || !strings.Contains(err.Error(), tt.wantRefusal) {
					t.Fatalf("err = %v, want ErrNoWebhook saying %q", err, tt.wantRefusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// An event on an Application's own path sets the refresh annotation on that
// Application only, not on another of the same repository.
func TestWebhookReceiverRefreshesOneApplication(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 5, time.UTC)
	r := webhookReconciler(now,
		hookedApp("web", "https://github.com/org/web", "web-hook"), secretOf("web-hook", map[string]string{"token": "team-a-token"}),
		hookedApp("web-copy", "https://github.com/org/web", ""),
	)
	handler := r.webhookReceiver(nil, logr.Discard()).Handler()
	post := func(path, secret string) int {
		body := `{"repository":{"clone_url":"https://github.com/org/web.git"}}`
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}
	refreshed := func(name string) string {
		var app gitopsv1alpha1.Application
		if err := r.APIReader.Get(context.Background(), client.ObjectKey{Namespace: "team-a", Name: name}, &app); err != nil {
			t.Fatal(err)
		}
		return app.Annotations[RefreshRequestAnnotation]
	}

	if code := post("/hooks/git", "team-a-token"); code != http.StatusNotFound {
		t.Errorf("without a shared secret, /hooks/git answers %d, want 404", code)
	}
	if code := post("/hooks/git/team-a/web-copy", "team-a-token"); code != http.StatusUnauthorized {
		t.Errorf("an Application without spec.webhook answers %d, want 401", code)
	}
	if code := post("/hooks/git/team-a/web", "team-a-token"); code != http.StatusAccepted {
		t.Fatalf("a signed event answers %d, want 202", code)
	}
	if got, want := refreshed("web"), now.Format(time.RFC3339Nano); got != want {
		t.Errorf("the refresh annotation is %q, want %q", got, want)
	}
	if got := refreshed("web-copy"); got != "" {
		t.Errorf("another Application of the repository was refreshed: %q", got)
	}
}

func TestWebhookHTTPServerIsBounded(t *testing.T) {
	server := webhookHTTPServer("127.0.0.1:0", http.NotFoundHandler())
	for name, bound := range map[string]time.Duration{
		"ReadHeaderTimeout": server.ReadHeaderTimeout, "ReadTimeout": server.ReadTimeout,
		"WriteTimeout": server.WriteTimeout, "IdleTimeout": server.IdleTimeout,
	} {
		if bound <= 0 {
			t.Errorf("%s is unset: a client can hold a connection for ever", name)
		}
	}
	if server.ReadTimeout < server.ReadHeaderTimeout || server.WriteTimeout < server.ReadTimeout {
		t.Errorf("a timeout cuts off what a longer one allows: %+v", server)
	}

	l, err := net.Listen("tcp", server.Addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = server.Serve(l) }()
	t.Cleanup(func() { _ = server.Close() })
	req, err := http.NewRequest(http.MethodPost, "http://"+l.Addr().String()+"/hooks/git", http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Padding", strings.Repeat("x", 2*webhookMaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers of %d bytes answered %d, want 431", 2*webhookMaxHeaderBytes, resp.StatusCode)
	}
}
