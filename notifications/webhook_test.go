package notifications

import (
	"testing"

	"github.com/google/go-cmp/cmp"
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
