package notifications

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	httputil "github.com/argoproj/notifications-engine/pkg/util/http"
	"github.com/hashicorp/go-retryablehttp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Sluice sends webhooks itself, as the engine's webhook service does (the
// same options, the same request, its own retries), with one difference:
// the engine's service sends through a retrying client whose default
// logger writes every request's URL to the standard error, the Secret's
// values substituted in it (a token in a query, Slack's and Teams' hook
// URLs are themselves secrets), and that logger cannot be replaced from
// outside. Ours logs nothing.

// quiet makes the APIs settings build send webhooks with Sluice's
// service: the engine builds an API's services from its configuration
// after InitGetVars, so each API is quiet from the start, built from its
// own ConfigMap and Secret.
func quiet(settings api.Settings) api.Settings {
	initGetVars := settings.InitGetVars
	settings.InitGetVars = func(cfg *api.Config, cm *corev1.ConfigMap, secret *corev1.Secret) (api.GetVars, error) {
		for key, value := range cm.Data {
			if name, ok := webhookName(key); ok {
				options, data := []byte(value), secretData(secret)
				cfg.Services[name] = func() (services.NotificationService, error) { return newWebhook(options, data) }
			}
		}
		return initGetVars(cfg, cm, secret)
	}
	return settings
}

// webhookName is the name of the service a ConfigMap key configures, when
// it is a webhook: service.webhook or service.webhook.<name>.
func webhookName(key string) (string, bool) {
	if key == "service.webhook" {
		return "webhook", true
	}
	name, ok := strings.CutPrefix(key, "service.webhook.")
	if !ok || name == "" || strings.Contains(name, ".") {
		return "", false
	}
	return name, true
}

func secretData(secret *corev1.Secret) map[string][]byte {
	if secret == nil {
		return nil
	}
	return secret.Data
}

// secretReference is a $key in a service's options, replaced by the
// Secret's value of key, as the engine replaces it.
var secretReference = regexp.MustCompile(`[$][\w-]+`)

// substituteSecrets replaces the $key references in every string of a
// service's options.
func substituteSecrets(v any, data map[string][]byte) any {
	switch t := v.(type) {
	case string:
		return secretReference.ReplaceAllStringFunc(t, func(ref string) string {
			if value, ok := data[ref[1:]]; ok {
				return string(value)
			}
			return ref
		})
	case map[string]any:
		for k, e := range t {
			t[k] = substituteSecrets(e, data)
		}
	case []any:
		for i, e := range t {
			t[i] = substituteSecrets(e, data)
		}
	}
	return v
}

// webhookTimeout bounds one request of a webhook, its retries apart.
const webhookTimeout = 30 * time.Second

// replyInError is how much of a receiver's refusal goes into the error,
// and from there into an event on the object.
const replyInError = 256

type webhook struct {
	opts   services.WebhookOptions
	client *http.Client
}

func newWebhook(options []byte, secret map[string][]byte) (services.NotificationService, error) {
	var raw any
	if err := yaml.Unmarshal(options, &raw); err != nil {
		return nil, err
	}
	substituted, err := yaml.Marshal(substituteSecrets(raw, secret))
	if err != nil {
		return nil, err
	}
	var opts services.WebhookOptions
	if err := yaml.Unmarshal(substituted, &opts); err != nil {
		return nil, err
	}
	// The engine's defaults.
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = time.Second
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 5 * time.Second
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 3
	}
	client, err := httputil.NewServiceHTTPClient(opts.TransportOptions, opts.InsecureSkipVerify, opts.URL, "webhook")
	if err != nil {
		return nil, err
	}
	// A receiver that takes the connection and never answers must not
	// hold a sender for ever (the engine's service waits without end).
	client.Timeout = webhookTimeout
	return &webhook{opts: opts, client: client}, nil
}

// Send sends the notification's message, or its webhook template for this
// service (method, path and body), as the engine does.
func (w *webhook) Send(n services.Notification, dest services.Destination) error {
	method, body, url := http.MethodGet, n.Message, w.opts.URL
	if own, ok := n.Webhook[dest.Service]; ok {
		body = own.Body
		if own.Method != "" {
			method = own.Method
		}
		if own.Path != "" {
			url = strings.TrimRight(url, "/") + "/" + strings.TrimLeft(own.Path, "/")
		}
	}
	req, err := retryablehttp.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	for _, h := range w.opts.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	if auth := w.opts.BasicAuth; auth != nil {
		req.SetBasicAuth(auth.Username, auth.Password)
	}
	client := retryablehttp.NewClient()
	client.HTTPClient = w.client
	client.Logger = nil
	client.RetryWaitMin, client.RetryWaitMax, client.RetryMax = w.opts.RetryWaitMin, w.opts.RetryWaitMax, w.opts.RetryMax
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, replyInError))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, reply)
	}
	return nil
}
