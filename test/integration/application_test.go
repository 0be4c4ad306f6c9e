package integration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/test/gitserver"
)

// The Application controller against a real API server and a real Git
// server on loopback: commits in, objects out.
var _ = Describe("The Application controller", Ordered, func() {
	var (
		server  *gitserver.Server
		appsNS  string // where the Applications live
		writes  *writeCounter
		hookURL string // the push-event receiver
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		hookAddr := freeLoopbackAddress()
		hookURL = "http://" + hookAddr + "/hooks/git"
		writes = startApplicationController(application.Options{WebhookAddress: hookAddr, WebhookSecret: []byte("hook-secret")})
		appsNS = newNamespace(ctx, "apps-")
	})

	configMap := func(name, value string) string { return configMapManifest(name, value) }
	// newRepo makes a repository with files committed to main.
	newRepo := func(name string, files map[string]string) (*gitserver.Repo, string) {
		GinkgoHelper()
		return pushRepo(server, name, files)
	}
	commit := commitFiles
	// newApp creates an Application of a repository's app directory, edited
	// by edits first.
	newApp := func(ctx context.Context, name, repoURL, destination string, prune bool, edits ...func(*gitopsv1alpha1.Application)) *gitopsv1alpha1.Application {
		GinkgoHelper()
		return newApplication(ctx, appsNS, name, appDir(repoURL), destination, prune, edits...)
	}
	// pushEvent posts GitHub's push event for a repository to the receiver,
	// signed with the shared secret unless a signature is given.
	pushEvent := func(ctx context.Context, repoURL, signature string) int {
		GinkgoHelper()
		payload := fmt.Sprintf(`{"ref":"refs/heads/main","repository":{"clone_url":%q}}`, repoURL)
		if signature == "" {
			mac := hmac.New(sha256.New, []byte("hook-secret"))
			mac.Write([]byte(payload))
			signature = "sha256=" + hex.EncodeToString(mac.Sum(nil))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, strings.NewReader(payload))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", signature)
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	// hourly is an edit: no poll will come during the spec.
	hourly := func(app *gitopsv1alpha1.Application) { app.Spec.Interval = metav1.Duration{Duration: time.Hour} }
	synced := func(ctx context.Context, app *gitopsv1alpha1.Application, revision string) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(app.Status.Sync).To(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusSynced), HaveField("Revision", revision)))
		}).WithContext(ctx).Should(Succeed())
	}
	failing := func(ctx context.Context, app *gitopsv1alpha1.Application, reason string) *metav1.Condition {
		GinkgoHelper()
		var ready *metav1.Condition
		Eventually(func(g Gomega) {
			ready = readyOf(ctx, app)(g)
			g.Expect(ready.Reason).To(Equal(reason), ready.Message)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		}).WithContext(ctx).Should(Succeed())
		return ready
	}
	valueOf := func(ctx context.Context, namespace, name string) func() (string, error) {
		return func() (string, error) {
			var cm corev1.ConfigMap
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cm)
			if apierrors.IsNotFound(err) {
				return "<none>", nil
			}
			return cm.Data["value"], err
		}
	}

	It("syncs a path of a repository, then follows commits that change, add and remove objects", func(ctx context.Context) {
		repo, first := newRepo("follow", map[string]string{
			"app/a.yaml": configMap("a", "1"), "app/b.yaml": configMap("b", "1"), "elsewhere/x.yaml": configMap("x", "1"),
		})
		dest := appsNS + "-follow"
		app := newApp(ctx, "follow", repo.URL, dest, true)
		synced(ctx, app, first)
		Expect(valueOf(ctx, dest, "a")()).To(Equal("1"))
		Expect(valueOf(ctx, dest, "x")()).To(Equal("<none>"), "only the Application's path")
		var a corev1.ConfigMap
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "a"}, &a)).To(Succeed())
		Expect(a.Labels).To(HaveKeyWithValue("gitops.sluice.dev/name", "follow"))
		Expect(app.Status.Inventory).To(HaveLen(2))
		Expect(app.Status.History).To(HaveLen(1))
		Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthHealthy))

		second := commit(repo, map[string]string{"app/a.yaml": configMap("a", "2"), "app/c.yaml": configMap("c", "1")}, "app/b.yaml")
		synced(ctx, app, second)
		Expect(valueOf(ctx, dest, "a")()).To(Equal("2"))
		Expect(valueOf(ctx, dest, "b")()).To(Equal("<none>"), "pruned")
		Expect(valueOf(ctx, dest, "c")()).To(Equal("1"))
		Expect(app.Status.History).To(HaveLen(2))
		Expect(app.Status.History[0].Revision).To(Equal(second))
		Expect(app.Status.History[0].Message).To(Equal("2 applied, 1 pruned"))
	})

	It("shows the commit it is at: the first line of its message, its author and date, and follows a push", func(ctx context.Context) {
		repo, err := server.Create("described")
		Expect(err).NotTo(HaveOccurred())
		Expect(repo.Write(map[string]string{"app/a.yaml": configMap("a", "1")})).To(Succeed())
		written := time.Date(2026, 4, 30, 9, 15, 0, 0, time.FixedZone("", 2*60*60))
		first, err := repo.CommitBy("main", "Add the web app\n\nIt serves the landing page.\nReviewed by Bo.",
			gitserver.Author{Name: "Ana Lima", Email: "ana@example.com", Date: written})
		Expect(err).NotTo(HaveOccurred())
		app := newApp(ctx, "described", repo.URL, appsNS+"-described", true)
		synced(ctx, app, first)
		Expect(app.Status.Sync.Commit).NotTo(BeNil())
		Expect(app.Status.Sync.Commit.Subject).To(Equal("Add the web app"))
		Expect(app.Status.Sync.Commit.Author).To(Equal("Ana Lima"), "the name, not the e-mail address")
		Expect(app.Status.Sync.Commit.Date.Time).To(BeTemporally("==", written), "the author date")

		Expect(repo.Write(map[string]string{"app/a.yaml": configMap("a", "2")})).To(Succeed())
		second, err := repo.CommitBy("main", "Set a to 2\n\nA second paragraph.", gitserver.Author{Name: "Bo Chen"})
		Expect(err).NotTo(HaveOccurred())
		synced(ctx, app, second)
		Expect(app.Status.Sync.Commit).NotTo(BeNil())
		Expect(app.Status.Sync.Commit.Subject).To(Equal("Set a to 2"))
		Expect(app.Status.Sync.Commit.Author).To(Equal("Bo Chen"))
		Expect(app.Status.Sync.Commit.Date.Time).To(BeTemporally(">", written))
	})

	It("reverts a changed or deleted object within seconds, not at the next poll", func(ctx context.Context) {
		repo, first := newRepo("heal", map[string]string{"app/a.yaml": configMap("a", "1"), "app/b.yaml": configMap("b", "1")})
		dest := appsNS + "-heal"
		app := newApp(ctx, "heal", repo.URL, dest, true, hourly)
		synced(ctx, app, first)
		Eventually(valueOf(ctx, dest, "a")).WithContext(ctx).Should(Equal("1"))

		var a corev1.ConfigMap
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "a"}, &a)).To(Succeed())
		a.Data["value"] = "edited by hand"
		Expect(k8sClient.Update(ctx, &a)).To(Succeed())
		Eventually(valueOf(ctx, dest, "a")).WithContext(ctx).WithTimeout(5 * time.Second).Should(Equal("1"))

		Expect(k8sClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "b"}})).To(Succeed())
		Eventually(valueOf(ctx, dest, "b")).WithContext(ctx).WithTimeout(5 * time.Second).Should(Equal("1"))
	})

	It("with selfHeal off, shows a changed object OutOfSync by name and leaves it", func(ctx context.Context) {
		repo, first := newRepo("drift", map[string]string{"app/a.yaml": configMap("a", "1")})
		dest := appsNS + "-drift"
		app := newApp(ctx, "drift", repo.URL, dest, true, func(app *gitopsv1alpha1.Application) {
			app.Spec.SyncPolicy.Automated.SelfHeal = false
		})
		synced(ctx, app, first)

		var a corev1.ConfigMap
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "a"}, &a)).To(Succeed())
		a.Data["value"] = "edited by hand"
		Expect(k8sClient.Update(ctx, &a)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(app.Status.Sync.Status).To(Equal(gitopsv1alpha1.SyncStatusOutOfSync))
			ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady)
			g.Expect(ready.Message).To(ContainSubstring("ConfigMap a"))
		}).WithContext(ctx).WithTimeout(5 * time.Second).Should(Succeed())
		Consistently(valueOf(ctx, dest, "a")).WithContext(ctx).WithTimeout(2 * time.Second).Should(Equal("edited by hand"))

		By("kubectl sluice app diff: the change a sync would make, exit 1")
		session := appDiff(appsNS, "drift", 1)
		Expect(session.Out).To(gbytes.Say("--- live ConfigMap " + dest + "/a"))
		Expect(session.Out).To(gbytes.Say(`-  value: edited by hand`))
		Expect(session.Out).To(gbytes.Say(`\+  value: "1"`))
	})

	It("syncs a new commit at once when asked with the sync-request annotation", func(ctx context.Context) {
		repo, first := newRepo("asked", map[string]string{"app/a.yaml": configMap("a", "1")})
		dest := appsNS + "-asked"
		app := newApp(ctx, "asked", repo.URL, dest, true, hourly)
		synced(ctx, app, first)

		second := commit(repo, map[string]string{"app/a.yaml": configMap("a", "2")})
		Consistently(valueOf(ctx, dest, "a")).WithContext(ctx).WithTimeout(2*time.Second).Should(Equal("1"), "no poll for an hour")
		patch := client.MergeFrom(app.DeepCopy())
		app.Annotations = map[string]string{application.SyncRequestAnnotation: "now"}
		Expect(k8sClient.Patch(ctx, app, patch)).To(Succeed())
		synced(ctx, app, second)
		Expect(valueOf(ctx, dest, "a")()).To(Equal("2"))
	})

	It("with wait, holds Ready until the objects are healthy", func(ctx context.Context) {
		repo, _ := newRepo("wait", map[string]string{"app/web.yaml": deploymentManifest("web", "registry.example/web:1.0", 1)})
		dest := appsNS + "-wait"
		app := newApp(ctx, "wait", repo.URL, dest, true, func(app *gitopsv1alpha1.Application) { app.Spec.Wait = true })
		ready := failing(ctx, app, "Progressing")
		Expect(ready.Message).To(ContainSubstring("Deployment web"))
		Expect(meta.IsStatusConditionTrue(app.Status.Conditions, appplan.ConditionReconciling)).To(BeTrue())

		By("the Deployment becoming available, as its controller would report it")
		var web appsv1.Deployment
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "web"}, &web)).To(Succeed())
		web.Status = appsv1.DeploymentStatus{
			ObservedGeneration: web.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		}
		Expect(k8sClient.Status().Update(ctx, &web)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(app.Status.Conditions, appplan.ConditionReady)).To(BeTrue())
			g.Expect(meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReconciling)).To(BeNil())
			g.Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthHealthy))
		}).WithContext(ctx).Should(Succeed())
	})

	It("syncs at once on a signed push event, and refuses an unsigned one", func(ctx context.Context) {
		repo, first := newRepo("pushed", map[string]string{"app/a.yaml": configMap("a", "1")})
		dest := appsNS + "-pushed"
		app := newApp(ctx, "pushed", repo.URL, dest, true, hourly)
		synced(ctx, app, first)

		second := commit(repo, map[string]string{"app/a.yaml": configMap("a", "2")})
		Eventually(func() int { return pushEvent(ctx, repo.URL, "sha256=00") }).WithContext(ctx).Should(Equal(http.StatusUnauthorized))
		Consistently(valueOf(ctx, dest, "a")).WithContext(ctx).WithTimeout(time.Second).Should(Equal("1"))

		Expect(pushEvent(ctx, repo.URL, "")).To(Equal(http.StatusAccepted))
		synced(ctx, app, second)
		Expect(valueOf(ctx, dest, "a")()).To(Equal("2"))
	})

	It("without automated sync, reports what a sync would change and syncs when asked, pruning when asked", func(ctx context.Context) {
		repo, first := newRepo("manual", map[string]string{"app/a.yaml": configMap("a", "1"), "app/b.yaml": configMap("b", "1")})
		dest := appsNS + "-manual"
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dest}})).To(Succeed())
		app := newApp(ctx, "manual", repo.URL, dest, false, func(app *gitopsv1alpha1.Application) {
			app.Spec.SyncPolicy.Automated = nil
		})
		ready := failing(ctx, app, "OutOfSync")
		Expect(ready.Message).To(ContainSubstring("ConfigMap a"))
		Expect(valueOf(ctx, dest, "a")()).To(Equal("<none>"), "nothing is applied unasked")

		ask := func(prune bool) {
			GinkgoHelper()
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			patch := client.MergeFrom(app.DeepCopy())
			app.Annotations = map[string]string{application.SyncRequestAnnotation: time.Now().Format(time.RFC3339Nano),
				application.PruneRequestAnnotation: fmt.Sprint(prune)}
			Expect(k8sClient.Patch(ctx, app, patch)).To(Succeed())
		}
		ask(false)
		synced(ctx, app, first)
		Expect(valueOf(ctx, dest, "a")()).To(Equal("1"))

		second := commit(repo, nil, "app/b.yaml")
		ask(false)
		synced(ctx, app, second)
		Expect(valueOf(ctx, dest, "b")()).To(Equal("1"), "not pruned unless asked")
		ask(true)
		Eventually(valueOf(ctx, dest, "b")).WithContext(ctx).Should(Equal("<none>"))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(app.Status.LastHandledSyncRequest).To(Equal(app.Annotations[application.SyncRequestAnnotation]))
		}).WithContext(ctx).Should(Succeed(), "the request is recorded as carried out, so it is carried out once")

		By("a push event makes it look at Git, and neither syncs nor prunes (the last request's prune is spent)")
		third := commit(repo, map[string]string{"app/a.yaml": configMap("a", "3"), "app/c.yaml": configMap("c", "1")})
		Expect(pushEvent(ctx, repo.URL, "")).To(Equal(http.StatusAccepted))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(app.Status.Sync).To(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusOutOfSync), HaveField("Revision", third)))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(valueOf(ctx, dest, "a")()).To(Equal("1"))
			g.Expect(valueOf(ctx, dest, "c")()).To(Equal("<none>"))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
		// Out of sync, it dry-runs its objects at every poll: not in the
		// write counts of the specs that follow, nor is its deletion.
		Expect(k8sClient.Delete(ctx, app)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app) }).WithContext(ctx).
			Should(Satisfy(apierrors.IsNotFound))
	})

	It("writes nothing, not even a dry run, while nothing changes", func(ctx context.Context) {
		repo, first := newRepo("quiet", map[string]string{
			"app/a.yaml": configMap("a", "1"), "app/b.yaml": configMap("b", "1"), "app/c.yaml": configMap("c", "1"),
		})
		app := newApp(ctx, "quiet", repo.URL, appsNS+"-quiet", true)
		synced(ctx, app, first)
		// Its own requests: an Application an earlier spec left failing is
		// retried by this manager too.
		writes.only(func(path string) bool {
			return strings.HasSuffix(path, "/namespaces/"+appsNS+"/applications/quiet/status") ||
				inNamespaces(appsNS+"-quiet")(path)
		})
		DeferCleanup(writes.only, func(string) bool { return true })
		writes.waitQuiet(ctx)
		writes.reset()
		// Resyncs every second: each asks the remote, and nothing else.
		Consistently(writes.total).WithContext(ctx).WithTimeout(4*time.Second).Should(BeZero(), writes.summary)
	})

	It("leaves removed objects in place without prune, showing them OutOfSync, and honours an opt-out", func(ctx context.Context) {
		repo, first := newRepo("noprune", map[string]string{"app/a.yaml": configMap("a", "1"), "app/b.yaml": configMap("b", "1")})
		dest := appsNS + "-noprune"
		app := newApp(ctx, "noprune", repo.URL, dest, false)
		synced(ctx, app, first)

		second := commit(repo, nil, "app/b.yaml")
		synced(ctx, app, second)
		Expect(valueOf(ctx, dest, "b")()).To(Equal("1"))
		Expect(app.Status.Resources).To(ContainElement(gitopsv1alpha1.ResourceStatus{
			ObjectRef: gitopsv1alpha1.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: dest, Name: "b"},
			Status:    gitopsv1alpha1.SyncStatusOutOfSync,
		}))

		By("turning prune on: b goes, unless it opted out")
		var b corev1.ConfigMap
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "b"}, &b)).To(Succeed())
		patch := client.MergeFrom(b.DeepCopy())
		b.Annotations = map[string]string{"argocd.argoproj.io/sync-options": "Prune=false"}
		Expect(k8sClient.Patch(ctx, &b, patch)).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		appPatch := client.MergeFrom(app.DeepCopy())
		app.Spec.SyncPolicy.Automated.Prune = true
		Expect(k8sClient.Patch(ctx, app, appPatch)).To(Succeed())
		Consistently(valueOf(ctx, dest, "b")).WithContext(ctx).WithTimeout(3 * time.Second).Should(Equal("1"))
	})

	It("applies nothing from a revision with a broken manifest, and says which file and line", func(ctx context.Context) {
		repo, first := newRepo("broken", map[string]string{"app/a.yaml": configMap("a", "1"), "app/b.yaml": configMap("b", "1")})
		dest := appsNS + "-broken"
		app := newApp(ctx, "broken", repo.URL, dest, true)
		synced(ctx, app, first)

		commit(repo, map[string]string{
			"app/a.yaml":   configMap("a", "2"),
			"app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n   oops: indent\n",
		}, "app/b.yaml")
		ready := failing(ctx, app, "RenderFailed")
		Expect(ready.Message).To(ContainSubstring("bad.yaml:5: "))
		Consistently(func(g Gomega) {
			g.Expect(valueOf(ctx, dest, "a")()).To(Equal("1"), "nothing of the broken revision is applied")
			g.Expect(valueOf(ctx, dest, "b")()).To(Equal("1"), "nothing is pruned")
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
		Expect(app.Status.Sync.Revision).To(Equal(first))
	})

	It("refuses a kustomization that reads a file outside its repository, naming the file, and applies nothing", func(ctx context.Context) {
		// A file the manager can read and no tenant may: in a cluster, the
		// manager's own service-account token.
		token := filepath.Join(GinkgoT().TempDir(), "token")
		Expect(os.WriteFile(token, []byte("the-managers-token"), 0o600)).To(Succeed())
		repo, _ := newRepo("steal", map[string]string{
			"app/kustomization.yaml": "resources:\n- a.yaml\nsecretGenerator:\n- name: stolen\n  options: {disableNameSuffixHash: true}\n  files:\n  - token=" + token + "\n",
			"app/a.yaml":             configMap("a", "1"),
		})
		dest := appsNS + "-steal"
		app := newApp(ctx, "steal", repo.URL, dest, true)
		ready := failing(ctx, app, "RenderFailed")
		Expect(ready.Message).To(ContainSubstring("app/kustomization.yaml"))
		Expect(ready.Message).To(ContainSubstring("is not in or below"))
		Expect(ready.Message).NotTo(ContainSubstring("the-managers-token"))
		Consistently(func(g Gomega) {
			g.Expect(valueOf(ctx, dest, "a")()).To(Equal("<none>"), "nothing of the revision is applied")
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "stolen"}, &corev1.Secret{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no Secret holds the token: %v", err)
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
	})

	It("refuses a remote base unless the manager allows them, fetching nothing", func(ctx context.Context) {
		repo, _ := newRepo("remote", map[string]string{
			"app/kustomization.yaml": "resources:\n- a.yaml\n- https://github.com/example/deploy//base?ref=v1\n",
			"app/a.yaml":             configMap("a", "1"),
		})
		dest := appsNS + "-remote"
		app := newApp(ctx, "remote", repo.URL, dest, true)
		ready := failing(ctx, app, "RenderFailed")
		Expect(ready.Message).To(ContainSubstring(`app/kustomization.yaml: "https://github.com/example/deploy//base?ref=v1" is outside the repository`))
		Expect(valueOf(ctx, dest, "a")()).To(Equal("<none>"))
	})

	It("prunes nothing when the source cannot be fetched", func(ctx context.Context) {
		repo, first := newRepo("unreachable", map[string]string{"app/a.yaml": configMap("a", "1")})
		dest := appsNS + "-unreachable"
		app := newApp(ctx, "unreachable", repo.URL, dest, true)
		synced(ctx, app, first)

		patch := client.MergeFrom(app.DeepCopy())
		app.Spec.Source.RepoURL = strings.TrimSuffix(repo.URL, "unreachable.git") + "gone.git"
		Expect(k8sClient.Patch(ctx, app, patch)).To(Succeed())
		ready := failing(ctx, app, "FetchFailed")
		Expect(ready.Message).To(ContainSubstring("gone.git"))
		Expect(valueOf(ctx, dest, "a")()).To(Equal("1"))
		Expect(app.Status.Inventory).To(HaveLen(1), "the inventory is kept for when the source is back")
		Expect(app.Status.History[0].Result).To(Equal("Failed"))

		By("counting the failure in a metric and an event, for alerting")
		Expect(syncFailuresOf(appsNS, "unreachable", "FetchFailed")).To(BeNumerically(">=", 1))
		Eventually(func(g Gomega) []string {
			var events eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(appsNS))).To(Succeed())
			var reasons []string
			for _, e := range events.Items {
				if e.Regarding.Name == "unreachable" {
					reasons = append(reasons, e.Reason)
				}
			}
			return reasons
		}).WithContext(ctx).Should(ContainElement("FetchFailed"))
	})

	It("backs off a failing Application: retries 5 s, 10 s, 20 s apart whatever its interval, one history entry, one event", func(ctx context.Context) {
		app := newApp(ctx, "backoff", server.URL+"/no-such-repository.git", appsNS+"-backoff", true)
		ready := failing(ctx, app, "FetchFailed")
		Expect(ready.Message).To(ContainSubstring("no-such-repository.git"))
		// Polled every second, a broken source used to be fetched, written
		// and announced every second: six or seven times in these 7 s.
		// Backing off from the first failure, it is tried at 5 s and 15 s.
		Consistently(func() float64 { return syncFailuresOf(appsNS, "backoff", "FetchFailed") }).
			WithContext(ctx).WithTimeout(7 * time.Second).Should(BeNumerically("<=", 3))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		Expect(app.Status.History).To(HaveLen(1), "the same failure again is not a new entry")
		var events eventsv1.EventList
		Expect(k8sClient.List(ctx, &events, client.InNamespace(appsNS))).To(Succeed())
		warnings := 0
		for _, e := range events.Items {
			if e.Regarding.Name == "backoff" && e.Reason == "FetchFailed" {
				warnings++
			}
		}
		Expect(warnings).To(Equal(1), "the same failure again is not a new event")
	})

	It("follows the highest tag of a semver range", func(ctx context.Context) {
		repo, _ := newRepo("semver", map[string]string{"app/a.yaml": configMap("a", "1.0.0")})
		Expect(repo.Tag("v1.0.0")).To(Succeed())
		dest := appsNS + "-semver"
		newApp(ctx, "semver", repo.URL, dest, true, func(app *gitopsv1alpha1.Application) { app.Spec.Source.TargetRevision = "~1.0" })
		Eventually(valueOf(ctx, dest, "a")).WithContext(ctx).Should(Equal("1.0.0"))

		commit(repo, map[string]string{"app/a.yaml": configMap("a", "1.0.1")})
		Expect(repo.Tag("v1.0.1")).To(Succeed())
		commit(repo, map[string]string{"app/a.yaml": configMap("a", "2.0.0")})
		Expect(repo.Tag("v2.0.0")).To(Succeed())
		Eventually(valueOf(ctx, dest, "a")).WithContext(ctx).Should(Equal("1.0.1"))
		Consistently(valueOf(ctx, dest, "a")).WithContext(ctx).WithTimeout(2 * time.Second).Should(Equal("1.0.1"))
	})

	It("syncs the Applications of an app of apps", func(ctx context.Context) {
		child, childCommit := newRepo("child", map[string]string{"app/a.yaml": configMap("from-child", "1")})
		dest := appsNS + "-child"
		parentRepo, parentCommit := newRepo("parent", map[string]string{"app/child.yaml": fmt.Sprintf(`apiVersion: gitops.sluice.dev/v1alpha1
kind: Application
metadata:
  name: child
spec:
  source: {repoURL: %q, targetRevision: main, path: app}
  destination: {namespace: %q}
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
  interval: 1s
`, child.URL, dest)})
		parent := newApp(ctx, "parent", parentRepo.URL, appsNS, true)
		synced(ctx, parent, parentCommit)
		childApp := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "child"}}
		synced(ctx, childApp, childCommit)
		Expect(valueOf(ctx, dest, "from-child")()).To(Equal("1"))
	})

	It("applies as the serviceAccountName, and nothing where that account may not write", func(ctx context.Context) {
		repo, _ := newRepo("restricted", map[string]string{"app/a.yaml": configMap("a", "1")})
		dest := appsNS + "-restricted"
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dest}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "team"}})).To(Succeed())
		// The account may only read ConfigMaps there.
		Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "read"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch"}}}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "read"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "read"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: appsNS, Name: "team"}}})).To(Succeed())

		app := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "restricted"},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:             gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: "app"},
				Destination:        gitopsv1alpha1.ApplicationDestination{Namespace: dest},
				SyncPolicy:         &gitopsv1alpha1.SyncPolicy{Automated: &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true}},
				ServiceAccountName: "team",
				Interval:           metav1.Duration{Duration: time.Second},
			},
		}
		Expect(k8sClient.Create(ctx, app)).To(Succeed())
		DeferCleanup(forgetApplication, app)
		ready := failing(ctx, app, "ApplyFailed")
		Expect(ready.Message).To(ContainSubstring("forbidden"))
		Expect(valueOf(ctx, dest, "a")()).To(Equal("<none>"))
	})

	It("reads Git credentials as the serviceAccountName: a Secret that account may not read is not used", func(ctx context.Context) {
		repo, _ := newRepo("creds", map[string]string{"app/a.yaml": configMap("a", "1")})
		dest := appsNS + "-creds"
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "no-secrets"}})).To(Succeed())
		// Someone else's credentials, in the Application's namespace,
		// which the tenant's account may not read.
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "platform-git"},
			StringData: map[string]string{"username": "platform", "password": "platform-token"}})).To(Succeed())
		app := newApp(ctx, "creds", repo.URL, dest, true, func(app *gitopsv1alpha1.Application) {
			app.Spec.ServiceAccountName = "no-secrets"
			app.Spec.SecretRef = &corev1.LocalObjectReference{Name: "platform-git"}
		})
		ready := failing(ctx, app, "CredentialsFailed")
		Expect(ready.Message).To(ContainSubstring("platform-git"))
		Expect(ready.Message).To(ContainSubstring("forbidden"))
		Expect(ready.Message).NotTo(ContainSubstring("platform-token"))
	})
})

// syncFailuresOf reads the Application controller's failed-sync counter.
func syncFailuresOf(namespace, name, reason string) float64 {
	GinkgoHelper()
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "sluice_application_sync_failures_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == namespace && labels["name"] == name && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
