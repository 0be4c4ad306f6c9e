package notifications

import (
	"strings"
	"testing"

	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/google/go-cmp/cmp"
)

func TestEventOf(t *testing.T) {
	for _, tc := range []struct {
		trigger, want, reason string
	}{
		{"on-rollout-step-completed", "RolloutStepCompleted", "the manager's TriggerOf, reversed"},
		{"on-scaling-replica-set", "ScalingReplicaSet", "Argo's catalogue's trigger of ScalingReplicaSet"},
		{"on-analysis-run-failed", "AnalysisRunFailed", "an AnalysisRun's event"},
		{"rollout-done", "its", "not a name TriggerOf makes: no on- prefix"},
		{"on-", "its", "nothing after on-"},
		{"on-rollout--paused", "its", "an empty word"},
	} {
		if got := eventOf(tc.trigger); got != tc.want {
			t.Errorf("%s (%s): got %q, want %q", tc.trigger, tc.reason, got, tc.want)
		}
	}
}

func TestServiceFields(t *testing.T) {
	rendered := services.Notification{
		Message: "Rollout web has been completed.",
		Slack:   &services.SlackNotification{Attachments: `[{"title":"web"}]`},
		Email:   &services.EmailNotification{Subject: "web completed"},
		Webhook: services.WebhookNotifications{
			"deploy-log": {Method: "POST", Path: "/apps/web", Body: `{"app":"web"}`},
			"other":      {Method: "PUT", Body: "other"},
		},
	}
	for _, tc := range []struct {
		name, typ, reason string
		want              map[string]any
	}{
		{"slack", "slack", "slack reads the message and its attachments", map[string]any{
			"message": "Rollout web has been completed.",
			"slack":   map[string]any{"attachments": `[{"title":"web"}]`, "groupingKey": "", "notifyBroadcast": false, "deliveryPolicy": "Post"},
		}},
		{"deploy-log", "webhook", "a webhook reads its own entry only", map[string]any{
			"message": "Rollout web has been completed.",
			"webhook": map[string]any{"deploy-log": map[string]any{"method": "POST", "path": "/apps/web", "body": `{"app":"web"}`}},
		}},
		{"audit", "webhook", "a webhook the template has no entry for gets the message alone", map[string]any{
			"message": "Rollout web has been completed.",
		}},
		{"telegram", "telegram", "a type without fields of its own reads the message", map[string]any{
			"message": "Rollout web has been completed.",
		}},
		{"mail", "email", "a service named otherwise than its type reads its type's fields", map[string]any{
			"message": "Rollout web has been completed.",
			"email":   map[string]any{"subject": "web completed"},
		}},
	} {
		got, err := serviceFields(rendered, tc.name, tc.typ)
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func TestFindObject(t *testing.T) {
	const two = `apiVersion: v1
kind: ConfigMap
metadata: {name: sluice-notifications-cm}
data: {context: "a: b"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
---
apiVersion: v1
kind: Secret
metadata: {name: any-name}
`
	for _, tc := range []struct {
		data, kind, name, want, wantErr, reason string
	}{
		{two, "ConfigMap", "sluice-notifications-cm", "sluice-notifications-cm", "", "the object of the configuration's name"},
		{two, "Secret", "sluice-notifications-secret", "any-name", "", "the file's only Secret, whatever its name"},
		{two, "ConfigMap", "argo-rollouts-notification-configmap", "",
			"no ConfigMap named argo-rollouts-notification-configmap in the file, and more than one other (other, sluice-notifications-cm)",
			"several others: which one is not guessed"},
		{"kind: Secret\nmetadata: {name: s}\n", "ConfigMap", "cm", "", "no ConfigMap in the file", "none of the kind"},
		{"apiVersion: example.com/v1\nkind: ConfigMap\nmetadata: {name: cm}\n", "ConfigMap", "cm", "", "no ConfigMap in the file",
			"a ConfigMap of another group is not one"},
		{"kind: [", "ConfigMap", "cm", "", "document 1 is not YAML or JSON", "not YAML"},
	} {
		got, err := findObject([]byte(tc.data), tc.kind, tc.name)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: got error %v, want one saying %q", tc.reason, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.reason, err)
		case got.GetName() != tc.want:
			t.Errorf("%s: got %s, want %s", tc.reason, got.GetName(), tc.want)
		}
	}
}
