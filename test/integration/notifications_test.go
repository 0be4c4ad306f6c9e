package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/controllers/notifications"
	"github.com/sluicehq/sluice/controllers/rollout"
	notify "github.com/sluicehq/sluice/notifications"
	"github.com/sluicehq/sluice/test/builders"
)

// receiver is an HTTP server on loopback that records what it is sent and
// fails the first requests it is told to.
type receiver struct {
	mu       sync.Mutex
	server   *http.Server
	url      string
	received []receivedRequest
	failures int
}

type receivedRequest struct {
	Method, Path, Body string
	Header             http.Header
	Form               url.Values
}

func startReceiver(reply func(w http.ResponseWriter, r receivedRequest) bool) *receiver {
	GinkgoHelper()
	rc := &receiver{}
	address := freeLoopbackAddress()
	rc.url = "http://" + address
	rc.server = &http.Server{Addr: address, ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			req := receivedRequest{Method: r.Method, Path: r.URL.Path, Body: string(body), Header: r.Header}
			req.Form, _ = url.ParseQuery(string(body))
			rc.mu.Lock()
			failing := rc.failures > 0
			if failing {
				rc.failures--
			} else {
				rc.received = append(rc.received, req)
			}
			rc.mu.Unlock()
			if failing {
				// An echoing service: its error repeats the credentials
				// it was sent, which must not reach events or logs.
				http.Error(w, "refused; you sent "+r.Header.Get("Authorization"), http.StatusBadRequest)
				return
			}
			if reply == nil || !reply(w, req) {
				w.WriteHeader(http.StatusOK)
			}
		})}
	go func() { _ = rc.server.ListenAndServe() }()
	DeferCleanup(func() { _ = rc.server.Close() })
	return rc
}

// failNext makes the next n requests fail.
func (rc *receiver) failNext(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.failures = n
}

// bodies are the bodies received on path, in order.
func (rc *receiver) bodies(path string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, r := range rc.received {
		if r.Path == path {
			out = append(out, strings.TrimSpace(r.Body))
		}
	}
	return out
}

func (rc *receiver) requests(path string) []receivedRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []receivedRequest
	for _, r := range rc.received {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// argoRolloutsCatalogueIn is argoRolloutsCatalogue, in namespace.
func argoRolloutsCatalogueIn(namespace string) *corev1.ConfigMap {
	cm := argoRolloutsCatalogue()
	cm.Namespace = namespace
	return cm
}

// argoRolloutsCatalogue is Argo Rollouts' published notification
// ConfigMap, read from the module cache, unchanged.
func argoRolloutsCatalogue() *corev1.ConfigMap {
	GinkgoHelper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-rollouts").Output()
	Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "manifests", "notifications-install.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var cm corev1.ConfigMap
	Expect(yaml.Unmarshal(data, &cm)).To(Succeed())
	Expect(cm.Name).To(Equal(notify.RolloutConfigMap))
	return &cm
}

// startNotifyingManager runs the Rollout and Application controllers with
// notifications configured in configNamespace, as the manager wires them;
// stop ends it and waits until it stopped.
func startNotifyingManager(configNamespace string) (stop func()) {
	GinkgoHelper()
	mgr := newTestManager(cfg, "")
	hub, err := notifications.New(mgr, notifications.Options{Namespace: configNamespace,
		Sender: notify.SenderOptions{RetryBase: 100 * time.Millisecond, RetryMax: time.Second}})
	Expect(err).NotTo(HaveOccurred())
	Expect(controllers.Default.Setup(mgr, []string{rollout.Name, application.Name}, controllers.Options{
		Notifications: hub, GitCacheDir: GinkgoT().TempDir(), GitMaxSize: 1 << 30, ApplicationConcurrency: 2,
		Kinds: controllers.Kinds{ArgoCDApplications: true},
	})).To(Succeed())
	stop = runManager(mgr)
	DeferCleanup(stop)
	return stop
}

var _ = Describe("Notifications", Ordered, func() {
	var (
		configNS, ns string
		hooks        *receiver
		slack        *receiver
		stop         func()
		failing      *gitopsv1alpha1.Application
	)
	const token = "s3cr3t-t0ken-of-the-webhook"

	BeforeAll(func(ctx context.Context) {
		configNS = newNamespace(ctx, "notifications-config-")
		ns = newNamespaceWithFakeKubelet("notifications-")
		hooks = startReceiver(nil)
		slack = startReceiver(func(w http.ResponseWriter, _ receivedRequest) bool {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true,"channel":"C0001","ts":"1700000000.000100"}`))
			return true
		})

		// Argo Rollouts' catalogue as published, with a webhook and a
		// Slack service added, as an installation would.
		catalogue := argoRolloutsCatalogue()
		catalogue.Namespace = configNS
		// The token rides in the query too, as some services want it:
		// the error of a failed send quotes the URL.
		catalogue.Data["service.webhook.hooks"] = "url: " + hooks.url + "/rollouts?key=$webhook-token\n" +
			"headers:\n- name: Authorization\n  value: Bearer $webhook-token\n" +
			// One retry of its own, quickly: the queue's retries are what
			// the spec of a failing receiver exercises.
			"retryMax: 1\nretryWaitMin: 1000000\nretryWaitMax: 2000000\n"
		catalogue.Data["service.slack"] = "token: $slack-token\napiURL: " + slack.url + "/api/\n"
		Expect(k8sClient.Create(ctx, catalogue)).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: configNS, Name: notify.RolloutSecret},
			StringData: map[string]string{"webhook-token": token, "slack-token": "xoxb-0000-test"},
		})).To(Succeed())

		// Argo CD's trigger and a webhook template of our own for
		// Applications.
		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: configNS, Name: notify.ApplicationConfigMap},
			Data: map[string]string{
				"service.webhook.hooks": "url: " + hooks.url + "\n",
				"service.slack":         "token: $slack-token\napiURL: " + slack.url + "/api/\n",
				"context":               "argocdUrl: https://sluice.example.com\n",
				"trigger.on-sync-failed": `- description: Application syncing has failed
  oncePer: app.status.operationState.syncResult.revision
  send: [app-sync-failed]
  when: app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']
`,
				"template.app-sync-failed": `message: Sync of {{.app.metadata.name}} failed.
webhook:
  hooks:
    method: POST
    path: /applications
    body: |
      {"app": "{{.app.metadata.name}}", "phase": "{{.app.status.operationState.phase}}", "revision": "{{.app.status.operationState.syncResult.revision}}", "url": "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}", "message": {{toJson .app.status.operationState.message}}}
slack:
  blocks: |
    [{"type": "section", "text": {"type": "mrkdwn", "text": "*{{.app.metadata.name}}* failed to sync {{printf "%.7s" .app.status.operationState.syncResult.revision}}"}}]
`,
			},
		})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: configNS, Name: notify.ApplicationSecret},
			StringData: map[string]string{"slack-token": "xoxb-0000-apps"},
		})).To(Succeed())
		stop = startNotifyingManager(configNS)
	})

	subscribed := func(name string, steps []rolloutsv1alpha1.CanaryStep, triggers ...string) *rolloutsv1alpha1.Rollout {
		return builders.Rollout(name).Namespace(ns).Replicas(2).Image(name + ":v1").Canary(steps...).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Annotations = map[string]string{}
			for _, t := range triggers {
				ro.Annotations["notifications.argoproj.io/subscribe."+t] = ""
			}
		}).Obj()
	}
	setImage := func(ctx context.Context, ro *rolloutsv1alpha1.Rollout, image string) {
		GinkgoHelper()
		Expect(k8sClient.Patch(ctx, ro, client.RawPatch(types.JSONPatchType,
			[]byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"`+image+`"}]`)))).To(Succeed())
	}

	It("sends Argo's catalogue's message once for each step and completion of a canary", func(ctx context.Context) {
		ro := subscribed("completes", []rolloutsv1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}})
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		waitStableAt(ctx, ro, ro.Name+":v1")
		// Subscribed from the second revision on: a change of metadata
		// alone is no new revision, and sends nothing.
		Expect(k8sClient.Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{`+
			`"notifications.argoproj.io/subscribe.on-rollout-completed.hooks":"",`+
			`"notifications.argoproj.io/subscribe.on-rollout-step-completed.hooks":""}}}`)))).To(Succeed())
		setImage(ctx, ro, ro.Name+":v2")
		waitStableAt(ctx, ro, ro.Name+":v2")

		want := []string{
			"Rollout completes step number 1/1 has been completed.",
			"Rollout completes has been completed.",
		}
		Eventually(func() []string { return onlyOf(hooks.bodies("/rollouts"), "Rollout completes ") }).WithContext(ctx).Should(Equal(want))
		Consistently(func() []string { return onlyOf(hooks.bodies("/rollouts"), "Rollout completes ") }).
			WithContext(ctx).WithTimeout(2 * time.Second).Should(ConsistOf(want))
		for _, r := range hooks.requests("/rollouts") {
			Expect(r.Header.Get("Authorization")).To(Equal("Bearer "+token), "the Secret's value reaches the service")
		}
		AddReportEntry("received", strings.Join(onlyOf(hooks.bodies("/rollouts"), "Rollout completes "), "\n"))
	})

	It("posts Argo's rendered attachments to Slack", func(ctx context.Context) {
		// Argo's template tells the strategy by a canary that is not
		// empty: this one has a step.
		ro := subscribed("to-slack", []rolloutsv1alpha1.CanaryStep{{SetWeight: ptr.To[int32](100)}})
		ro.Annotations["notifications.argoproj.io/subscribe.on-rollout-completed.slack"] = "deploys"
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		// Argo records RolloutCompleted for the first deploy too.
		Eventually(func() []receivedRequest { return slack.requests("/api/chat.postMessage") }).WithContext(ctx).Should(HaveLen(1))
		waitStableAt(ctx, ro, ro.Name+":v1")
		setImage(ctx, ro, ro.Name+":v2")
		Eventually(func() []receivedRequest { return slack.requests("/api/chat.postMessage") }).WithContext(ctx).Should(HaveLen(2))
		for i, image := range []string{"to-slack:v1", "to-slack:v2"} {
			r := slack.requests("/api/chat.postMessage")[i]
			Expect(r.Form.Get("channel")).To(Equal("deploys"))
			Expect(r.Header.Get("Authorization") + r.Form.Get("token")).To(ContainSubstring("xoxb-0000-test"))
			Expect(r.Form.Get("text")).To(Equal("Rollout to-slack has been completed."))
			var attachments []map[string]any
			Expect(json.Unmarshal([]byte(r.Form.Get("attachments")), &attachments)).To(Succeed())
			Expect(attachments).To(HaveLen(1))
			Expect(attachments[0]).To(HaveKeyWithValue("title", "to-slack"))
			Expect(attachments[0]["fields"]).To(ContainElements(
				HaveKeyWithValue("value", "Canary"), HaveKeyWithValue("value", image)))
		}
	})

	It("sends one message for an abort", func(ctx context.Context) {
		ro := subscribed("aborts", []rolloutsv1alpha1.CanaryStep{{SetWeight: ptr.To[int32](50)}, {Pause: &rolloutsv1alpha1.RolloutPause{}}},
			"on-rollout-aborted.hooks")
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		waitStableAt(ctx, ro, ro.Name+":v1")
		setImage(ctx, ro, ro.Name+":v2")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.PauseConditions).NotTo(BeEmpty())
		}).WithContext(ctx).Should(Succeed())
		Expect(k8sClient.Status().Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(`{"status":{"abort":true}}`)))).To(Succeed())

		want := []string{"Rollout aborts has been aborted."}
		Eventually(func() []string { return onlyOf(hooks.bodies("/rollouts"), "Rollout aborts ") }).WithContext(ctx).Should(Equal(want))
		Consistently(func() []string { return onlyOf(hooks.bodies("/rollouts"), "Rollout aborts ") }).
			WithContext(ctx).WithTimeout(2 * time.Second).Should(Equal(want))
	})

	It("retries a failed send until the service takes it, and sends it once", func(ctx context.Context) {
		ro := subscribed("retried", nil)
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		waitStableAt(ctx, ro, "retried:v1")
		Expect(k8sClient.Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{`+
			`"notifications.argoproj.io/subscribe.on-rollout-completed.hooks":""}}}`)))).To(Succeed())
		// Refused twice (a refusal is not retried by the service itself:
		// the queue retries).
		hooks.failNext(2)
		setImage(ctx, ro, "retried:v2")
		want := []string{"Rollout retried has been completed."}
		Eventually(func() []string { return onlyOf(hooks.bodies("/rollouts"), "Rollout retried ") }).WithContext(ctx).Should(Equal(want))
		Consistently(func() []string { return onlyOf(hooks.bodies("/rollouts"), "Rollout retried ") }).
			WithContext(ctx).WithTimeout(2 * time.Second).Should(Equal(want))

		var failed []string
		Eventually(func(g Gomega) {
			var events corev1.EventList
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			failed = nil
			for _, e := range events.Items {
				if e.InvolvedObject.Name == "retried" && e.Reason == "NotificationFailed" {
					failed = append(failed, e.Message)
				}
			}
			g.Expect(failed).NotTo(BeEmpty())
		}).WithContext(ctx).Should(Succeed())
		for _, message := range failed {
			Expect(message).To(ContainSubstring("on-rollout-completed to hooks failed, retrying"))
			Expect(message).NotTo(ContainSubstring(token), "the Secret's value is masked")
			Expect(message).To(ContainSubstring("******"))
		}
	})

	It("sends one message when an Application's sync fails, with Argo CD's variables", func(ctx context.Context) {
		server := startGitServer()
		repo, sha := pushRepo(server, "notified", map[string]string{
			"app/good.yaml":   configMapManifest("good", "1"),
			"app/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [name\n",
		})
		// The first send is refused: a oncePer condition is retried too.
		hooks.failNext(1)
		app := newApplication(ctx, ns, "notified", appDir(repo.URL), ns+"-notified", true, func(app *gitopsv1alpha1.Application) {
			app.Annotations = map[string]string{
				"notifications.argoproj.io/subscribe.on-sync-failed.hooks": "",
				"notifications.argoproj.io/subscribe.on-sync-failed.slack": "deploys",
			}
		})
		failing = app // still failing when the manager restarts, below

		Eventually(func() []string { return hooks.bodies("/applications") }).WithContext(ctx).Should(HaveLen(1))
		AddReportEntry("received", hooks.requests("/applications")[0].Method+" /applications "+hooks.bodies("/applications")[0])
		var got map[string]string
		Expect(json.Unmarshal([]byte(hooks.bodies("/applications")[0]), &got)).To(Succeed())
		Expect(got).To(HaveKeyWithValue("app", "notified"))
		Expect(got).To(HaveKeyWithValue("phase", "Failed"))
		Expect(got).To(HaveKeyWithValue("revision", sha))
		Expect(got).To(HaveKeyWithValue("url", "https://sluice.example.com/applications/notified"))
		Expect(got["message"]).To(ContainSubstring("broken.yaml"))
		// The sync is retried, and fails again: still one message.
		Consistently(func() []string { return hooks.bodies("/applications") }).WithContext(ctx).WithTimeout(3 * time.Second).Should(HaveLen(1))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		Expect(app.Annotations).To(HaveKey("notified.notifications.argoproj.io"))

		// Slack gets the rendered blocks.
		var blocks []string
		for _, r := range slack.requests("/api/chat.postMessage") {
			// Applications' messages go with their configuration's token.
			if strings.Contains(r.Header.Get("Authorization")+r.Form.Get("token"), "xoxb-0000-apps") {
				Expect(r.Form.Get("channel")).To(Equal("deploys"))
				blocks = append(blocks, r.Form.Get("blocks"))
			}
		}
		Expect(blocks).To(HaveLen(1))
		var parsed []map[string]any
		Expect(json.Unmarshal([]byte(blocks[0]), &parsed)).To(Succeed())
		Expect(parsed[0]["text"]).To(HaveKeyWithValue("text", "*notified* failed to sync "+sha[:7]))
	})

	It("sends Argo CD's Application kind's notifications the same way", func(ctx context.Context) {
		server := startGitServer()
		repo, sha := pushRepo(server, "argocd-notified", map[string]string{
			"app/broken.yaml": "kind: ConfigMap\nmetadata: {name: [\n",
		})
		app := argoCDApplicationManifest(ns, "argocd-notified", repo.URL, "app", ns+"-argocd-notified")
		app.SetAnnotations(map[string]string{"notifications.argoproj.io/subscribe.on-sync-failed.hooks": ""})
		Expect(k8sClient.Create(ctx, app)).To(Succeed())
		DeferCleanup(func(ctx context.Context) {
			Expect(client.IgnoreNotFound(k8sClient.Patch(ctx, app, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))))).To(Succeed())
			Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, app))).To(Succeed())
		})

		mine := func() []map[string]string {
			var out []map[string]string
			for _, body := range hooks.bodies("/applications") {
				var got map[string]string
				Expect(json.Unmarshal([]byte(body), &got)).To(Succeed())
				if got["app"] == "argocd-notified" {
					out = append(out, got)
				}
			}
			return out
		}
		Eventually(mine).WithContext(ctx).Should(HaveLen(1))
		Expect(mine()[0]).To(HaveKeyWithValue("revision", sha))
		Consistently(mine).WithContext(ctx).WithTimeout(2 * time.Second).Should(HaveLen(1))
	})

	It("sends nothing twice after the manager restarts", func(ctx context.Context) {
		Expect(failing).NotTo(BeNil())
		DeferCleanup(forgetApplication, failing)
		rolloutsBefore := len(hooks.bodies("/rollouts"))
		before := rolloutsBefore + len(hooks.bodies("/applications"))
		slackBefore := len(slack.requests("/api/chat.postMessage"))
		stop()
		stop = startNotifyingManager(configNS)
		Consistently(func() int { return len(hooks.bodies("/rollouts")) + len(hooks.bodies("/applications")) }).
			WithContext(ctx).WithTimeout(4 * time.Second).Should(Equal(before))
		Expect(slack.requests("/api/chat.postMessage")).To(HaveLen(slackBefore))

		// And the restarted manager does send what happens next.
		ro := &rolloutsv1alpha1.Rollout{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "completes"}, ro)).To(Succeed())
		setImage(ctx, ro, "completes:v3")
		Eventually(func() []string { return hooks.bodies("/rollouts")[rolloutsBefore:] }).
			WithContext(ctx).Should(Equal([]string{
			"Rollout completes step number 1/1 has been completed.",
			"Rollout completes has been completed.",
		}))
	})
})

// waitStableAt waits until a Rollout's stable revision runs image.
func waitStableAt(ctx context.Context, ro *rolloutsv1alpha1.Rollout, image string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var got rolloutsv1alpha1.Rollout
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), &got)).To(Succeed())
		g.Expect(got.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), got.Status.Message)
		g.Expect(got.Status.StableRS).To(Equal(got.Status.CurrentPodHash))
		var rs appsv1.ReplicaSet
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ro.Name + "-" + got.Status.StableRS}, &rs)).To(Succeed())
		g.Expect(rs.Spec.Template.Spec.Containers[0].Image).To(Equal(image))
	}).WithContext(ctx).Should(Succeed())
}

// onlyOf keeps the bodies that start with prefix.
func onlyOf(bodies []string, prefix string) []string {
	var out []string
	for _, b := range bodies {
		if strings.HasPrefix(b, prefix) {
			out = append(out, b)
		}
	}
	return out
}
