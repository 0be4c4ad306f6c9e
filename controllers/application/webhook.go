package application

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/webhook"
)

// WebhookTokenKey is the key of an Application's spec.webhook.secretRef
// Secret that holds its push-event secret.
const WebhookTokenKey = "token"

// The receiver answers anyone who can reach it, so each request is bounded
// in size and time: a client that sends slowly, or never stops, or opens
// connections and leaves them idle, is cut off instead of holding the
// server.
const (
	webhookReadHeaderTimeout = 10 * time.Second
	// webhookReadTimeout covers the headers and the body: 5 MiB, the most an
	// event may be, arrives in 30 s at 175 kB/s.
	webhookReadTimeout = 30 * time.Second
	// webhookWriteTimeout runs from the end of the headers to the end of the
	// answer, so it also covers asking every Application of a repository to
	// look at Git.
	webhookWriteTimeout   = time.Minute
	webhookIdleTimeout    = 2 * time.Minute
	webhookMaxHeaderBytes = 64 << 10
)

// webhookReceiver is the push-event receiver of r's Applications: with
// secret, the operator's, POST /hooks/git refreshes every Application of the
// pushed repository; POST /hooks/git/<namespace>/<name> refreshes that
// Application, signed with its own spec.webhook secret, whether or not the
// operator set one.
func (r *Reconciler) webhookReceiver(secret []byte, log logr.Logger) webhook.Receiver {
	return webhook.Receiver{
		Secret: secret, Trigger: r.RequestRefresh,
		Lookup: r.webhookOf, Refresh: r.refreshApplication,
		Log: log,
	}
}

// webhookOf reads an Application's repository and its own push-event
// secret. Both are read through the API reader, not the cache: the receiver
// needs a Secret now and then, and caching Secrets would hold every one of
// the cluster in the manager's memory.
func (r *Reconciler) webhookOf(ctx context.Context, namespace, name string) (webhook.ApplicationHook, error) {
	// The names come from a URL anyone may send: only a namespace and a name
	// an Application could have are looked up.
	if len(validation.IsDNS1123Label(namespace)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 {
		return webhook.ApplicationHook{}, fmt.Errorf("%w: %q/%q cannot name an Application", webhook.ErrNoWebhook, namespace, name)
	}
	if r.Namespace != "" && namespace != r.Namespace {
		// Namespaced mode: no Application of another namespace is served,
		// and the manager may not read there.
		return webhook.ApplicationHook{}, fmt.Errorf("%w: %s is not the namespace this manager serves", webhook.ErrNoWebhook, namespace)
	}
	app, err := r.door.get(ctx, r.APIReader, types.NamespacedName{Namespace: namespace, Name: name})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return webhook.ApplicationHook{}, fmt.Errorf("%w: no Application %s/%s", webhook.ErrNoWebhook, namespace, name)
		}
		return webhook.ApplicationHook{}, err
	}
	if !r.Scope.Handles(app) {
		// Another instance's or shard's: its own receiver serves it.
		return webhook.ApplicationHook{}, fmt.Errorf("%w: %s/%s belongs to another controller instance or shard", webhook.ErrNoWebhook, namespace, name)
	}
	if app.Spec.Webhook == nil || app.Spec.Webhook.SecretRef.Name == "" {
		return webhook.ApplicationHook{}, fmt.Errorf("%w: the Application has no spec.webhook.secretRef", webhook.ErrNoWebhook)
	}
	ref := app.Spec.Webhook.SecretRef.Name
	var secret corev1.Secret
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return webhook.ApplicationHook{}, fmt.Errorf("%w: spec.webhook.secretRef: no Secret %s", webhook.ErrNoWebhook, ref)
		}
		return webhook.ApplicationHook{}, fmt.Errorf("spec.webhook.secretRef %s: %w", ref, err)
	}
	// A Secret made from a file often ends with a newline the sender does
	// not send; the shared secret's file is trimmed likewise.
	token := bytes.TrimSpace(secret.Data[WebhookTokenKey])
	if len(token) == 0 {
		return webhook.ApplicationHook{}, fmt.Errorf("%w: spec.webhook.secretRef: Secret %s has no key %q", webhook.ErrNoWebhook, ref, WebhookTokenKey)
	}
	return webhook.ApplicationHook{RepoURL: app.Spec.Source.RepoURL, Secret: token}, nil
}

// refreshApplication asks one Application to look at Git now, as
// RequestRefresh does for every Application of a repository: a merge patch
// of the refresh annotation, so nothing else of the Application is written.
func (r *Reconciler) refreshApplication(ctx context.Context, namespace, name string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, RefreshRequestAnnotation, r.Now().UTC().Format(time.RFC3339Nano))
	app := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	return r.Client.Patch(ctx, r.door.object(app), client.RawPatch(types.MergePatchType, []byte(patch)))
}

// webhookServer serves the push-event receiver for as long as the manager
// runs. It runs on every replica, not only the leader: the annotation it
// writes reaches the leader through its watch.
func webhookServer(address string, receiver webhook.Receiver) manager.Runnable {
	return serverRunnable{address: address, receiver: receiver}
}

type serverRunnable struct {
	address  string
	receiver webhook.Receiver
}

func (s serverRunnable) NeedLeaderElection() bool { return false }

func (s serverRunnable) Start(ctx context.Context) error {
	server := webhookHTTPServer(s.address, s.receiver.Handler())
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// webhookHTTPServer is the receiver's server, with every bound set.
func webhookHTTPServer(address string, handler http.Handler) *http.Server {
	return &http.Server{
		Addr:              address,
		Handler:           handler,
		ReadHeaderTimeout: webhookReadHeaderTimeout,
		ReadTimeout:       webhookReadTimeout,
		WriteTimeout:      webhookWriteTimeout,
		IdleTimeout:       webhookIdleTimeout,
		MaxHeaderBytes:    webhookMaxHeaderBytes,
	}
}
