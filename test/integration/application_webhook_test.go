package integration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Push events on an Application's own path, signed with its own secret: a
// manager with no shared secret at all, and two tenants who each hold only
// their own.
var _ = Describe("The push-event receiver with a secret per Application", Ordered, func() {
	var (
		server  *gitserver.Server
		tenants string // the namespace the tenants' Applications live in
		hooks   string // http://<receiver>/hooks/git
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		address := freeLoopbackAddress()
		hooks = "http://" + address + "/hooks/git"
		startApplicationController(application.Options{WebhookAddress: address})
		tenants = newNamespace(ctx, "hooked-")
	})

	configMap := func(value string) map[string]string {
		return map[string]string{"app/a.yaml": configMapManifest("a", value)}
	}
	// newTenant makes a tenant's repository, its webhook Secret holding
	// token, and its Application, polled hourly so that only an event
	// brings a commit in during a spec; it waits for the first sync.
	newTenant := func(ctx context.Context, name, token string) (*gitserver.Repo, client.ObjectKey) {
		GinkgoHelper()
		repo, err := server.Create(name)
		Expect(err).NotTo(HaveOccurred())
		first := commitFiles(repo, configMap("1"))
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenants, Name: name + "-webhook"},
			StringData: map[string]string{application.WebhookTokenKey: token + "\n"}}
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())
		app := newApplication(ctx, tenants, name, appDir(repo.URL), tenants+"-"+name, false, func(app *gitopsv1alpha1.Application) {
			app.Spec.Interval = metav1.Duration{Duration: time.Hour}
			app.Spec.Webhook = &gitopsv1alpha1.ApplicationWebhook{SecretRef: corev1.LocalObjectReference{Name: secret.Name}}
		})
		key := client.ObjectKeyFromObject(app)
		expectSynced(ctx, key, first)
		return repo, key
	}
	// pushEvent posts GitHub's push event for repoURL to path (below
	// /hooks/git), signed with secret, as delivery.
	pushEvent := func(ctx context.Context, path, repoURL, secret, delivery string) int {
		GinkgoHelper()
		payload := fmt.Sprintf(`{"ref":"refs/heads/main","repository":{"clone_url":%q}}`, repoURL)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(payload))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, hooks+path, strings.NewReader(payload))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", delivery)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	// observed is what an Application shows of the events it was sent:
	// its refresh request, and the revision it synced.
	observed := func(ctx context.Context, key client.ObjectKey) func() string {
		return func() string {
			var app gitopsv1alpha1.Application
			Expect(k8sClient.Get(ctx, key, &app)).To(Succeed())
			return fmt.Sprintf("refresh %q, revision %s", app.Annotations[application.RefreshRequestAnnotation], app.Status.Sync.Revision)
		}
	}
	pathOf := func(key client.ObjectKey) string { return "/" + key.Namespace + "/" + key.Name }

	var (
		webRepo, otherRepo *gitserver.Repo
		web, other         client.ObjectKey
	)
	It("brings a new commit in at once on an event signed with the Application's own secret", func(ctx context.Context) {
		webRepo, web = newTenant(ctx, "web", "web-token")
		otherRepo, other = newTenant(ctx, "other", "other-token")

		second := commitFiles(webRepo, configMap("2"))
		Eventually(func() int { return pushEvent(ctx, pathOf(web), webRepo.URL, "web-token", "d-1") }).
			WithContext(ctx).Should(Equal(http.StatusAccepted))
		expectSynced(ctx, web, second)
	})

	It("refuses an event signed with another tenant's secret, or for another repository, and changes nothing", func(ctx context.Context) {
		commitFiles(webRepo, configMap("3"))
		before, otherBefore := observed(ctx, web)(), observed(ctx, other)()

		By("the other tenant signing an event for the Application's repository")
		Expect(pushEvent(ctx, pathOf(web), webRepo.URL, "other-token", "d-2")).To(Equal(http.StatusUnauthorized))
		By("the Application's own secret signing an event for the other tenant's repository")
		Expect(pushEvent(ctx, pathOf(web), otherRepo.URL, "web-token", "d-3")).To(Equal(http.StatusUnauthorized))
		By("the Application's own secret, sent to the other tenant's path")
		Expect(pushEvent(ctx, pathOf(other), otherRepo.URL, "web-token", "d-4")).To(Equal(http.StatusUnauthorized))
		By("an Application that does not exist")
		Expect(pushEvent(ctx, "/"+tenants+"/nothing", webRepo.URL, "web-token", "d-5")).To(Equal(http.StatusUnauthorized))
		By("the shared path, which a manager without a shared secret does not serve")
		Expect(pushEvent(ctx, "", webRepo.URL, "web-token", "d-6")).To(Equal(http.StatusNotFound))

		Consistently(func(g Gomega) {
			g.Expect(observed(ctx, web)()).To(Equal(before))
			g.Expect(observed(ctx, other)()).To(Equal(otherBefore))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
	})

	It("does nothing for a delivery it has already accepted", func(ctx context.Context) {
		before := observed(ctx, web)()
		Expect(pushEvent(ctx, pathOf(web), webRepo.URL, "web-token", "d-1")).To(Equal(http.StatusOK))
		Consistently(observed(ctx, web)).WithContext(ctx).WithTimeout(2 * time.Second).Should(Equal(before))

		By("a new delivery of the same push is carried out")
		latest := commitFiles(webRepo, configMap("4"))
		Expect(pushEvent(ctx, pathOf(web), webRepo.URL, "web-token", "d-7")).To(Equal(http.StatusAccepted))
		expectSynced(ctx, web, latest)
	})
})
