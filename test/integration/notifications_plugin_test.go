package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/notifications"
	"github.com/sluicehq/sluice/test/builders"
)

// kubectl sluice notifications against a real API server: the configuration
// comes from the manager's namespace, the resources from theirs.
var _ = Describe("kubectl sluice notifications", Ordered, func() {
	var configNamespace, namespace string

	BeforeAll(func(ctx context.Context) {
		configNamespace = newNamespace(ctx, "notify-config-")
		namespace = newNamespace(ctx, "notify-")
		Expect(k8sClient.Create(ctx, argoRolloutsCatalogueIn(configNamespace))).To(Succeed())
		// A decoy in the resources' namespace: the plugin must not read it.
		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: notifications.RolloutConfigMap},
			Data:       map[string]string{"template.rollout-step-completed": "message: not the manager's configuration"},
		})).To(Succeed())
	})

	// notify runs the plugin's notifications group on namespace with the
	// configuration of configNamespace, and waits until it exits with code.
	notify := func(code int, args ...string) *gexec.Session {
		GinkgoHelper()
		return runPlugin(code, append([]string{"notifications", "-n", namespace, "--config-namespace", configNamespace}, args...)...)
	}

	It("lists the triggers and templates of Argo Rollouts' catalogue", func() {
		want := []string{"analysis-run-error", "analysis-run-failed", "analysis-run-running", "rollout-aborted",
			"rollout-completed", "rollout-paused", "rollout-step-completed", "rollout-updated"}
		triggers := notify(0, "trigger", "get", "-o", "name")
		var wantTriggers []string
		for _, name := range want {
			wantTriggers = append(wantTriggers, "on-"+name)
		}
		wantTriggers = append(wantTriggers, "on-scaling-replica-set")
		Expect(strings.Fields(string(triggers.Out.Contents()))).To(Equal(wantTriggers))
		templates := notify(0, "template", "get", "-o", "name")
		Expect(strings.Fields(string(templates.Out.Contents()))).To(Equal(append(want, "scaling-replicaset")))

		table := notify(0, "trigger", "get")
		Expect(table.Out).To(gbytes.Say(`NAME\s+TEMPLATE\s+CONDITION`))
		Expect(table.Out).To(gbytes.Say(`on-rollout-step-completed\s+rollout-step-completed\s+\(on every RolloutStepCompleted event\)`))
		AddReportEntry("kubectl sluice notifications trigger get", string(table.Out.Contents()))

		By("the configuration is the manager's namespace's, not the resources'")
		missing := runPlugin(1, "notifications", "-n", namespace, "--config-namespace", "nowhere", "trigger", "get")
		Expect(missing.Err).To(gbytes.Say(`no ConfigMap argo-rollouts-notification-configmap in namespace nowhere`))
	})

	It("renders rollout-step-completed against a live Rollout, and runs its trigger", func(ctx context.Context) {
		ro := builders.Rollout("web").Namespace(namespace).Replicas(3).Image("registry.example/web:v2").
			Canary(builders.SetWeight(20), builders.Pause(), builders.SetWeight(60)).Edit(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Annotations = map[string]string{"notifications.argoproj.io/subscribe.on-rollout-step-completed.slack": "deploys"}
		}).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		ro.Status.CurrentStepIndex = ptr.To[int32](1)
		Expect(k8sClient.Status().Update(ctx, ro)).To(Succeed())

		rendered := notify(0, "template", "notify", "rollout-step-completed", "web", "--dry-run")
		Expect(rendered.Out).To(gbytes.Say(`(?m)^message: Rollout web step number 2/3 has been completed\.$`))
		var console struct {
			Slack struct {
				Attachments string `json:"attachments"`
			} `json:"slack"`
		}
		Expect(yaml.Unmarshal(rendered.Out.Contents(), &console)).To(Succeed())
		Expect(console.Slack.Attachments).To(ContainSubstring(`"value": "registry.example/web:v2"`), "the slack attachment, rendered")
		AddReportEntry("kubectl sluice notifications template notify rollout-step-completed web --dry-run", string(rendered.Out.Contents()))

		run := notify(0, "trigger", "run", "on-rollout-step-completed", "web")
		Expect(run.Out).To(gbytes.Say(`-\s+true \(no when: holds on every RolloutStepCompleted event\)\s+rollout-step-completed`))
		Expect(run.Out).To(gbytes.Say(`Subscribed: slack:deploys`))

		unknown := notify(1, "template", "notify", "rollout-step-completed", "web", "--recipient", "slack:deploys", "--dry-run")
		Expect(unknown.Err).To(gbytes.Say(`slack:deploys: no service slack in ConfigMap argo-rollouts-notification-configmap`))
	})

	It("renders and sends an Application's template, never printing the Secret", func(ctx context.Context) {
		const token = "t0ken-of-the-deploy-log"
		var mu sync.Mutex
		var received []string
		hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			received = append(received, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(body))
			mu.Unlock()
			if strings.HasSuffix(r.URL.Path, "/broken") {
				http.Error(w, "no such app", http.StatusBadRequest)
			}
		}))
		DeferCleanup(hooks.Close)
		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: notifications.ApplicationConfigMap},
			Data: map[string]string{
				"context": "dashboard: https://sluice.example",
				"service.webhook.deploy-log": "url: " + hooks.URL + "/hooks/$deploy-token\n" +
					"headers:\n- name: Authorization\n  value: Bearer $deploy-token\n",
				"template.app-synced": `message: Application {{.app.metadata.name}} is {{.app.status.sync.status}} at {{.app.status.sync.revision}} (see {{.context.dashboard}})
webhook:
  deploy-log:
    method: POST
    path: /apps/{{.app.metadata.name}}
    body: '{"app": "{{.app.metadata.name}}", "health": "{{.app.status.health.status}}", "via": "{{.context.notificationType}}"}'
`,
				"trigger.on-synced": "- when: app.status.sync.status == 'Synced'\n  send: [app-synced]\n",
			},
		})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: notifications.ApplicationSecret},
			StringData: map[string]string{"deploy-token": token},
		})).To(Succeed())
		for _, name := range []string{"shop", "broken"} {
			app := &gitopsv1alpha1.Application{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
				Spec: gitopsv1alpha1.ApplicationSpec{
					Source: gitopsv1alpha1.ApplicationSource{RepoURL: "https://git.example/shop.git", Path: "deploy"},
				},
			}
			Expect(k8sClient.Create(ctx, app)).To(Succeed())
			app.Status.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: "4f2a9c1"}
			app.Status.Health = gitopsv1alpha1.HealthStatus{Status: "Healthy"}
			Expect(k8sClient.Status().Update(ctx, app)).To(Succeed())
		}

		By("a dry run prints what the webhook would get, and sends nothing")
		dry := notify(0, "template", "notify", "app-synced", "shop", "--kind", "application", "--recipient", "deploy-log", "--dry-run")
		out := string(dry.Out.Contents())
		AddReportEntry("kubectl sluice notifications template notify app-synced shop --kind application --recipient deploy-log --dry-run", out)
		Expect(out).To(ContainSubstring("# deploy-log (service deploy-log of type webhook; dry run, not sent)\n"))
		Expect(out).To(ContainSubstring("message: Application shop is Synced at 4f2a9c1 (see https://sluice.example)\n"))
		var printed struct {
			Webhook map[string]map[string]string `json:"webhook"`
		}
		Expect(yaml.Unmarshal([]byte(out), &printed)).To(Succeed())
		Expect(printed.Webhook).To(Equal(map[string]map[string]string{"deploy-log": {
			"method": "POST", "path": "/apps/shop", "body": `{"app": "shop", "health": "Healthy", "via": "deploy-log"}`,
		}}))
		Expect(out).NotTo(ContainSubstring(token))
		mu.Lock()
		Expect(received).To(BeEmpty())
		mu.Unlock()

		By("the trigger holds")
		run := notify(0, "trigger", "run", "on-synced", "shop", "--kind", "application")
		Expect(run.Out).To(gbytes.Say(`app.status.sync.status == 'Synced'\s+true\s+app-synced`))
		Expect(run.Out).To(gbytes.Say(`Subscribed: nobody`))

		By("sent, the webhook gets it with the Secret's token")
		sent := notify(0, "template", "notify", "app-synced", "shop", "--kind", "application", "--recipient", "deploy-log")
		Expect(sent.Out).To(gbytes.Say(`notification app-synced sent to deploy-log`))
		mu.Lock()
		Expect(received).To(ConsistOf(`POST /hooks/` + token + `/apps/shop Bearer ` + token +
			` {"app": "shop", "health": "Healthy", "via": "deploy-log"}`))
		mu.Unlock()

		By("a failed send says why, with the token masked")
		failed := notify(1, "template", "notify", "app-synced", "broken", "--kind", "application", "--recipient", "deploy-log")
		Expect(failed.Err).To(gbytes.Say(`deploy-log: .*400`))
		Expect(string(failed.Err.Contents())).NotTo(ContainSubstring(token))
		Expect(string(failed.Err.Contents())).To(ContainSubstring("******"))
	})
})

// runPlugin runs kubectl sluice as the suite's administrator and waits
// until it exits with code.
func runPlugin(code int, args ...string) *gexec.Session {
	GinkgoHelper()
	session, err := gexec.Start(exec.Command(buildPlugin(), append(args, "--kubeconfig", kubeconfig)...), GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(code))
	return session
}
