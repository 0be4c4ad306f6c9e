package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/builders"
)

// The dashboard's API against a real API server, as two people: an
// administrator, and a viewer who may read Rollouts and ReplicaSets and
// nothing else. The browser's side is in the end-to-end suite.
var _ = Describe("kubectl sluice dashboard", Ordered, func() {
	var (
		ns              string
		admin, viewer   dashboardClient
		ro              *rolloutsv1alpha1.Rollout
		viewerName      = "dashboard-viewer"
		pausedAtSecond  = ptr.To[int32](1)
		postJSON        func(d dashboardClient, path string, body string) (int, map[string]string)
		readRolloutPage func(d dashboardClient) map[string]any
	)

	// startDashboard runs the plugin's dashboard with a kubeconfig, opens
	// the address it prints (the token's cookie then goes with every
	// request of the returned client) and returns its base URL and client.
	startDashboard := func(kubeconfigPath string) dashboardClient {
		GinkgoHelper()
		if pluginBinary == "" {
			var err error
			pluginBinary, err = gexec.Build("github.com/sluicehq/sluice/cmd/kubectl-sluice")
			Expect(err).NotTo(HaveOccurred())
		}
		cmd := exec.Command(pluginBinary, "dashboard", "--port", "0", "--kubeconfig", kubeconfigPath, "-n", ns)
		stdout, err := cmd.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		cmd.Stderr = GinkgoWriter
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		line, err := bufio.NewReader(stdout).ReadString('\n')
		Expect(err).NotTo(HaveOccurred())
		address := strings.TrimSpace(strings.TrimPrefix(line, "Sluice dashboard: "))
		Expect(address).To(MatchRegexp(`^http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{43}$`))
		base, _, _ := strings.Cut(address, "/?token=")

		res, err := http.Get(base + "/api/config")
		Expect(err).NotTo(HaveOccurred())
		res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusUnauthorized), "nothing is served without the token")

		jar, err := cookiejar.New(nil)
		Expect(err).NotTo(HaveOccurred())
		d := dashboardClient{base: base, Client: &http.Client{Jar: jar}}
		res, err = d.Get(address)
		Expect(err).NotTo(HaveOccurred())
		res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusOK))
		Expect(res.Request.URL.String()).To(Equal(base+"/"), "the address sends the browser on without the token")
		return d
	}

	BeforeAll(func(ctx context.Context) {
		ns = newNamespace(ctx, "dashboard-")
		ro = builders.Rollout("shop").Namespace(ns).Replicas(2).Image("registry.example/shop:v2").Canary(
			builders.SetWeight(50), builders.Pause(), builders.SetWeight(100)).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		ro.Status = rolloutsv1alpha1.RolloutStatus{
			Phase: rolloutsv1alpha1.RolloutPhasePaused, CurrentStepIndex: pausedAtSecond,
			PauseConditions: []rolloutsv1alpha1.PauseCondition{{Reason: rolloutsv1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.Now()}},
			ControllerPause: true,
		}
		Expect(k8sClient.Status().Update(ctx, ro)).To(Succeed())

		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "rollout-viewer", Namespace: ns}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"argoproj.io"}, Resources: []string{"rollouts"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"get", "list", "watch"}},
		}}
		Expect(k8sClient.Create(ctx, role)).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "rollout-viewer", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: viewerName}},
		})).To(Succeed())

		admin = startDashboard(kubeconfig)
		viewer = startDashboard(writeKubeconfig(testEnv, cfg, envtest.User{Name: viewerName}))

		postJSON = func(d dashboardClient, path, body string) (int, map[string]string) {
			GinkgoHelper()
			req, err := http.NewRequest(http.MethodPost, d.base+path, strings.NewReader(body))
			Expect(err).NotTo(HaveOccurred())
			req.Header.Set("X-Sluice-Dashboard", "1")
			res, err := d.Do(req)
			Expect(err).NotTo(HaveOccurred())
			defer res.Body.Close()
			answer := map[string]string{}
			Expect(json.NewDecoder(res.Body).Decode(&answer)).To(Succeed())
			return res.StatusCode, answer
		}
		readRolloutPage = func(d dashboardClient) map[string]any {
			GinkgoHelper()
			res, err := d.Get(d.base + "/api/namespaces/" + ns + "/rollouts/shop")
			Expect(err).NotTo(HaveOccurred())
			defer res.Body.Close()
			Expect(res.StatusCode).To(Equal(http.StatusOK))
			page := map[string]any{}
			Expect(json.NewDecoder(res.Body).Decode(&page)).To(Succeed())
			return page
		}
	})

	It("serves the page itself, and its data as JSON", func() {
		res, err := admin.Get(admin.base + "/")
		Expect(err).NotTo(HaveOccurred())
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusOK))
		Expect(string(body)).To(ContainSubstring(`<script type="module" src="app.js">`))

		page := readRolloutPage(admin)
		Expect(page).To(HaveKeyWithValue("phase", "Paused"))
		Expect(page).To(HaveKeyWithValue("step", "2/3"))
		Expect(page["steps"]).To(HaveLen(3))
		Expect(page).NotTo(HaveKey("warnings"), "the administrator may read everything the page shows")
	})

	It("shows a viewer what the viewer may read, and says what was left out", func() {
		page := readRolloutPage(viewer)
		Expect(page).To(HaveKeyWithValue("phase", "Paused"))
		Expect(page["warnings"]).To(ConsistOf(
			"cannot list pods in "+ns+": forbidden",
			"cannot list analysisruns in "+ns+": forbidden",
		))
	})

	It("refuses a viewer's promote with the API server's answer, and changes nothing", func(ctx context.Context) {
		status, answer := postJSON(viewer, "/api/namespaces/"+ns+"/rollouts/shop/promote", "")
		Expect(status).To(Equal(http.StatusForbidden))
		Expect(answer["error"]).To(And(ContainSubstring("forbidden"), ContainSubstring(`User "`+viewerName+`" cannot patch resource "rollouts/status"`)))

		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		Expect(ro.Status.PauseConditions).To(HaveLen(1), "the refused promote left the Rollout paused")
	})

	It("refuses an action without its header, and a request for another host", func() {
		res, err := admin.Post(admin.base+"/api/namespaces/"+ns+"/rollouts/shop/abort", "application/json", nil)
		Expect(err).NotTo(HaveOccurred())
		res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusForbidden))

		req, err := http.NewRequest(http.MethodGet, admin.base+"/api/namespaces/"+ns+"/rollouts", nil)
		Expect(err).NotTo(HaveOccurred())
		req.Host = "rebound.example"
		res, err = admin.Do(req)
		Expect(err).NotTo(HaveOccurred())
		res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusMisdirectedRequest))
	})

	It("streams the page again when the Rollout changes, and promotes as the plugin does", func(ctx context.Context) {
		streamCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		req, err := http.NewRequestWithContext(streamCtx, http.MethodGet, admin.base+"/api/namespaces/"+ns+"/rollouts/shop?watch=1", nil)
		Expect(err).NotTo(HaveOccurred())
		res, err := admin.Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer res.Body.Close()
		Expect(res.Header.Get("Content-Type")).To(Equal("text/event-stream"))
		pages := make(chan map[string]any, 16)
		go func() {
			defer GinkgoRecover()
			scanner := bufio.NewScanner(res.Body)
			scanner.Buffer(make([]byte, 1<<20), 1<<20)
			for scanner.Scan() {
				data, ok := strings.CutPrefix(scanner.Text(), "data: ")
				if !ok {
					continue
				}
				page := map[string]any{}
				Expect(json.Unmarshal([]byte(data), &page)).To(Succeed())
				pages <- page
			}
			close(pages)
		}()
		Eventually(pages).Should(Receive(HaveKeyWithValue("phase", "Paused")))

		status, answer := postJSON(admin, "/api/namespaces/"+ns+"/rollouts/shop/promote", "")
		Expect(status).To(Equal(http.StatusOK), "%v", answer)
		Expect(answer).To(HaveKeyWithValue("message", "rollout 'shop' promoted"))
		Eventually(func(g Gomega) []rolloutsv1alpha1.PauseCondition {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			return ro.Status.PauseConditions
		}).WithContext(ctx).Should(BeEmpty(), "promote clears the pause, as kubectl sluice promote does")

		// What the controller would do next: the Rollout moves on.
		ro.Status.Phase = rolloutsv1alpha1.RolloutPhaseProgressing
		ro.Status.CurrentStepIndex = ptr.To[int32](2)
		Expect(k8sClient.Status().Update(ctx, ro)).To(Succeed())
		Eventually(pages).WithTimeout(30 * time.Second).Should(Receive(And(
			HaveKeyWithValue("phase", "Progressing"), HaveKeyWithValue("step", "3/3"))))
	})

	It("asks an Application to sync with prune, and to refresh", func(ctx context.Context) {
		app := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:      gitopsv1alpha1.ApplicationSource{RepoURL: "http://127.0.0.1:1/none.git", Path: "apps/shop"},
				Destination: gitopsv1alpha1.ApplicationDestination{Namespace: ns},
			},
		}
		Expect(k8sClient.Create(ctx, app)).To(Succeed())

		status, answer := postJSON(admin, "/api/namespaces/"+ns+"/applications/shop/sync", `{"prune": true}`)
		Expect(status).To(Equal(http.StatusOK), "%v", answer)
		status, answer = postJSON(admin, "/api/namespaces/"+ns+"/applications/shop/refresh", "")
		Expect(status).To(Equal(http.StatusOK), "%v", answer)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		Expect(app.Annotations).To(HaveKey(gitopsv1alpha1.SyncRequestAnnotation))
		Expect(app.Annotations).To(HaveKeyWithValue(gitopsv1alpha1.PruneRequestAnnotation, "true"))
		Expect(app.Annotations).To(HaveKey(gitopsv1alpha1.RefreshRequestAnnotation))

		status, answer = postJSON(admin, "/api/namespaces/"+ns+"/applications/shop/rollback", `{}`)
		Expect(status).To(Equal(http.StatusConflict))
		Expect(answer["error"]).To(ContainSubstring("application shop"), "a rollback with no history to go back to says so")
	})
})

// dashboardClient is a browser of one dashboard: its base URL, and a client
// that holds its token's cookie.
type dashboardClient struct {
	*http.Client
	base string
}
