package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
)

// What the Application controller asks of the API server, counted request
// by request (reads, lists, watches and dry runs included): a sync costs
// about a request per object, and a change costs requests for what
// changed, not for everything the Application owns.
var _ = Describe("The Application controller's requests", Ordered, ContinueOnFailure, func() {
	const objects = 500
	var (
		requests *writeCounter
		app      *gitopsv1alpha1.Application
		dest     string
	)

	BeforeAll(func(ctx context.Context) {
		server := startGitServer()
		requests = startApplicationController(application.Options{})
		// Five files of a hundred ConfigMaps each.
		files := map[string]string{}
		for f := range 5 {
			var b strings.Builder
			for i := range objects / 5 {
				fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\ndata:\n  value: \"1\"\n", f*objects/5+i)
			}
			files[fmt.Sprintf("app/part-%d.yaml", f)] = b.String()
		}
		repo, _ := pushRepo(server, "many", files)
		appsNS := newNamespace(ctx, "requests-apps-")
		dest = newNamespace(ctx, "requests-")
		// Give the manager's own watches time to settle, so the counts
		// below are the sync's.
		requests.waitRequestsQuiet(ctx)
		requests.reset()
		// This spec's namespaces only: the manager serves every namespace,
		// Applications earlier specs left behind included.
		requests.only(inNamespaces(appsNS, dest))
		app = newApplication(ctx, appsNS, "many", appDir(repo.URL), dest, true, func(app *gitopsv1alpha1.Application) {
			// No poll during the spec: what the manager does is what the
			// change asks of it.
			app.Spec.Interval = metav1.Duration{Duration: time.Hour}
		})
	})

	valueOf := func(ctx context.Context, name string) func() (string, error) {
		return func() (string, error) {
			var cm corev1.ConfigMap
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: name}, &cm)
			return cm.Data["value"], err
		}
	}

	// synced waits until the Application has synced its 500 objects, and
	// the manager is quiet.
	synced := func(ctx context.Context) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(app.Status.Sync.Status).To(Equal(gitopsv1alpha1.SyncStatusSynced))
			g.Expect(app.Status.Inventory).To(HaveLen(objects))
		}).WithContext(ctx).WithTimeout(3 * time.Minute).Should(Succeed())
		expectSynced(ctx, client.ObjectKeyFromObject(app), app.Status.Sync.Revision)
		requests.waitRequestsQuiet(ctx)
	}

	It("syncs 500 objects with at most 1.2 requests each", func(ctx context.Context) {
		synced(ctx)
		Expect(requests.requests()).To(BeNumerically("<=", objects*12/10), requests.requestSummary())
	})

	It("puts back one object changed in the cluster with a handful of requests, not one per object", func(ctx context.Context) {
		synced(ctx)
		requests.reset()
		By("another manager changing one ConfigMap")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "cm-250"}}
		Expect(k8sClient.Patch(ctx, cm, client.RawPatch("application/merge-patch+json", []byte(`{"data":{"value":"edited by hand"}}`)),
			client.FieldOwner("someone-else"))).To(Succeed())

		Eventually(valueOf(ctx, "cm-250")).WithContext(ctx).Should(Equal("1"), "selfHeal puts it back")
		requests.waitRequestsQuiet(ctx)
		// On the ConfigMaps, seven: the reconcile the watch wakes checks the
		// one object (read, dry run) and applies it (read, dry run, patch);
		// the apply's own watch event wakes one more that checks it again.
		// Around them each reconcile reads the Application, and the one that
		// heals writes its status and an event; the poll every second adds
		// a read of the Application: a handful in all, where a check of
		// every object would be a thousand.
		Expect(requests.requestsOn("configmaps")).To(BeNumerically("<=", 8), requests.requestSummary())
		Expect(requests.requests()).To(BeNumerically("<=", 20), requests.requestSummary())
		Expect(valueOf(ctx, "cm-250")()).To(Equal("1"))
	})
})
