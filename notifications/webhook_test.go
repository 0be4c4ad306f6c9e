package notifications

import (
	"testing"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestWebhookName(t *testing.T) {
	cases := map[string]struct {
		name string
		ok   bool
	}{
		"service.webhook":        {"webhook", true},
		"service.webhook.ops":    {"ops", true},
		"service.webhook.":       {"", false},
		"service.webhook.a.b":    {"", false},
		"service.slack":          {"", false},
		"service.webhookish.ops": {"", false},
		"template.webhook.ops":   {"", false},
		"trigger.on-sync-failed": {"", false},
	}
	for key, want := range cases {
		name, ok := webhookName(key)
		if name != want.name || ok != want.ok {
			t.Errorf("webhookName(%q) = %q, %v; want %q, %v", key, name, ok, want.name, want.ok)
		}
	}
}

func TestSubstituteSecrets(t *testing.T) {
	data := map[string][]byte{"token": []byte("t0k3n"), "user-name": []byte("ops")}
	cases := []struct {
		name     string
		in, want any
	}{
		{"a reference is replaced", "Bearer $token", "Bearer t0k3n"},
		{"a key with a dash", "$user-name", "ops"},
		{"an unknown key is left as written", "$nope", "$nope"},
		{"references in nested maps and lists",
			map[string]any{"headers": []any{map[string]any{"name": "Authorization", "value": "Bearer $token"}}, "retryMax": float64(1)},
			map[string]any{"headers": []any{map[string]any{"name": "Authorization", "value": "Bearer t0k3n"}}, "retryMax": float64(1)}},
		{"no Secret", "$token", "$token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := data
			if tc.name == "no Secret" {
				d = nil
			}
			if diff := cmp.Diff(tc.want, substituteSecrets(tc.in, d)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettingsSendWebhooksQuietly(t *testing.T) {
	// The engine's webhook service logs each request's URL, the Secret's
	// values in it: the APIs Sluice's settings build carry Sluice's.
	cm := &corev1.ConfigMap{Data: map[string]string{
		"service.webhook.ops": "url: https://hooks.example.com/$token\n",
		"service.webhook":     "url: https://hooks.example.com/default\n",
		"service.slack":       "token: $token\n",
	}}
	secret := &corev1.Secret{Data: map[string][]byte{"token": []byte("t0k3n")}}
	for name, settings := range map[string]api.Settings{"rollouts": RolloutSettings(nil), "applications": ApplicationSettings()} {
		cfg, err := api.ParseConfig(cm, secret)
		if err != nil {
			t.Fatal(err)
		}
		getVars, err := settings.InitGetVars(cfg, cm, secret)
		if err != nil {
			t.Fatal(err)
		}
		notifier, err := api.NewAPI(*cfg, getVars)
		if err != nil {
			t.Fatal(err)
		}
		for _, service := range []string{"ops", "webhook"} {
			hook, ok := notifier.GetNotificationServices()[service].(*webhook)
			if !ok {
				t.Errorf("%s: service %s is the engine's, not Sluice's", name, service)
				continue
			}
			if service == "ops" && hook.opts.URL != "https://hooks.example.com/t0k3n" {
				t.Errorf("%s: the Secret's value is not substituted: %s", name, hook.opts.URL)
			}
			if hook.client.Timeout != webhookTimeout {
				t.Errorf("%s: no timeout on service %s", name, service)
			}
		}
		if _, ok := notifier.GetNotificationServices()["slack"].(*webhook); ok {
			t.Errorf("%s: Slack is no webhook", name)
		}
	}
}
