package notifications

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
)

// FuzzSubscriptions feeds hostile subscription annotations, which anyone
// who may annotate a Rollout or an Application writes, to the parsing of
// subscriptions: it must not panic, and must yield only destinations of
// the configuration's triggers or the annotation's own.
func FuzzSubscriptions(f *testing.F) {
	f.Add("notifications.argoproj.io/subscribe.on-rollout-completed.slack", "deploys;oncall")
	f.Add("notifications.argoproj.io/subscribe.slack", "")
	f.Add("notifications.argoproj.io/subscribe..", ";;")
	f.Add("notifications.argoproj.io/subscribe.on-sync-failed.webhook", "\n- a\n- b")
	cfg, err := api.ParseConfig(&corev1.ConfigMap{Data: map[string]string{
		"defaultTriggers":       "[on-sync-failed]",
		"defaultTriggers.slack": "[on-rollout-completed]",
		"subscriptions":         "- recipients: [slack:all]\n  selector: team=payments\n",
	}}, &corev1.Secret{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		dests := Destinations(*cfg, map[string]string{"team": "payments"}, map[string]string{key: value})
		// The configuration's own subscription holds whatever the
		// annotation says.
		if !slices.ContainsFunc(dests["on-sync-failed"], func(d services.Destination) bool {
			return d.Service == "slack" && d.Recipient == "all"
		}) {
			t.Errorf("the configuration's subscription was lost: %v", dests)
		}
		// An annotation that is no subscription subscribes nothing.
		if !strings.HasPrefix(key, "notifications.argoproj.io/subscribe") && len(dests) != 1 {
			t.Errorf("annotation %q subscribed %v", key, dests)
		}
	})
}

// FuzzArgoCDView feeds arbitrary Applications, as a tenant may write their
// metadata and spec, to the view templates read: it must not panic, and
// must leave the object given unchanged.
func FuzzArgoCDView(f *testing.F) {
	f.Add(`{"spec":{"source":{"repoURL":"https://example.com/r.git"}},"status":{"operationState":{"phase":"Failed","revision":"abc"}}}`)
	f.Add(`{"status":{"operationState":{"syncResult":{"revision":"abc"}}}}`)
	f.Add(`{"status":{"operationState":"text"}}`)
	f.Add(`{"status":null}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var obj map[string]any
		if json.Unmarshal([]byte(doc), &obj) != nil || obj == nil {
			return
		}
		before, _ := json.Marshal(obj)
		_ = argoCDView(obj)
		after, _ := json.Marshal(obj)
		if string(before) != string(after) {
			t.Errorf("argoCDView changed its input:\n%s\n%s", before, after)
		}
	})
}
