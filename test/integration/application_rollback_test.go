package integration

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
)

// A rollback as kubectl sluice app rollback asks for it: automated sync
// off and a sync request naming an earlier commit, in one patch.
var _ = Describe("A rollback to an earlier revision", Ordered, func() {
	It("syncs the earlier commit, keeps it through later polls, and moves forward once automated sync is back", func(ctx context.Context) {
		server := startGitServer()
		startApplicationController(application.Options{})
		appsNS := newNamespace(ctx, "rollback-")
		configMap := func(value string) string { return configMapManifest("settings", value) }
		valueOf := func(g Gomega) string {
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: appsNS + "-web", Name: "settings"}, &cm)).To(Succeed())
			return cm.Data["value"]
		}
		repo, first := pushRepo(server, "rollback", map[string]string{"app/settings.yaml": configMap("1")})
		app := newApplication(ctx, appsNS, "web", appDir(repo.URL), appsNS+"-web", true) // polls every second
		key := client.ObjectKeyFromObject(app)
		expectSynced(ctx, key, first)
		second := commitFiles(repo, map[string]string{"app/settings.yaml": configMap("2")})
		expectSynced(ctx, key, second)
		Eventually(valueOf).WithContext(ctx).Should(Equal("2"))

		By("rolling back to the first commit")
		requested := time.Now().UTC().Format(time.RFC3339Nano)
		patchMerge(ctx, app, fmt.Sprintf(`{"metadata":{"annotations":{%q:%q,%q:%q}},"spec":{"syncPolicy":{"automated":null}}}`,
			application.SyncRequestAnnotation, requested, application.RevisionRequestAnnotation, first))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, app)).To(Succeed())
			g.Expect(app.Status.LastHandledSyncRequest).To(Equal(requested))
			g.Expect(app.Status.History[0].Revision).To(Equal(first))
			g.Expect(app.Status.History[0].Result).To(Equal("Succeeded"))
		}).WithContext(ctx).Should(Succeed())
		Eventually(valueOf).WithContext(ctx).Should(Equal("1"))

		By("later polls show OutOfSync against targetRevision's commit, and leave the first in place")
		Eventually(func(g Gomega) gitopsv1alpha1.SyncStatus {
			g.Expect(k8sClient.Get(ctx, key, app)).To(Succeed())
			return app.Status.Sync
		}).WithContext(ctx).Should(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusOutOfSync), HaveField("Revision", second)))
		Consistently(valueOf).WithContext(ctx).WithTimeout(4 * time.Second).Should(Equal("1"))

		By("turning automated sync back on moves it forward")
		patchMerge(ctx, app, `{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}`)
		expectSynced(ctx, key, second)
		Eventually(valueOf).WithContext(ctx).Should(Equal("2"))
	})
})
