package metrics

import (
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// application is an Application of repoURL; edit sets the rest.
func application(repoURL string, edit func(*gitopsv1alpha1.Application)) *gitopsv1alpha1.Application {
	app := &gitopsv1alpha1.Application{}
	app.Namespace, app.Name = "team-a", "shop"
	app.Spec.Source.RepoURL = repoURL
	if edit != nil {
		edit(app)
	}
	return app
}

var _ = Describe("InfoOf", func() {
	DescribeTable("labels an Application",
		func(app *gitopsv1alpha1.Application, want ApplicationInfo) {
			Expect(cmp.Diff(want, InfoOf(app))).To(BeEmpty())
		},
		Entry("a synced, healthy Application with automated sync",
			application("https://git.example/shop.git", func(app *gitopsv1alpha1.Application) {
				app.Spec.Destination.Namespace = "shop"
				app.Spec.SyncPolicy = &gitopsv1alpha1.SyncPolicy{Automated: &gitopsv1alpha1.AutomatedSyncPolicy{}}
				app.Status.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: "6d4f0c1e"}
				app.Status.Health.Status = gitopsv1alpha1.HealthHealthy
			}),
			ApplicationInfo{Repo: "https://git.example/shop.git", DestNamespace: "shop", Revision: "6d4f0c1e",
				SyncStatus: "Synced", HealthStatus: "Healthy", AutoSync: "true"}),
		Entry("one not reconciled yet is Unknown, not blank",
			application("https://git.example/shop.git", nil),
			ApplicationInfo{Repo: "https://git.example/shop.git", SyncStatus: "Unknown", HealthStatus: "Unknown", AutoSync: "false"}),
		Entry("a password in the repository URL stays out of the metric",
			application("https://deploy:s3cret@git.example/shop.git", nil),
			ApplicationInfo{Repo: "https://git.example/shop.git", SyncStatus: "Unknown", HealthStatus: "Unknown", AutoSync: "false"}),
		Entry("an SSH address in scp form is kept as it is",
			application("git@git.example:shop/shop.git", nil),
			ApplicationInfo{Repo: "git@git.example:shop/shop.git", SyncStatus: "Unknown", HealthStatus: "Unknown", AutoSync: "false"}),
	)
})

var _ = Describe("ApplicationMetrics.Recorded", func() {
	entry := func(result string, at time.Time) gitopsv1alpha1.SyncHistory {
		return gitopsv1alpha1.SyncHistory{Revision: "6d4f0c1e", Result: result, DeployedAt: metav1.Time{Time: at}}
	}
	count := func(app *gitopsv1alpha1.Application, phase string) float64 {
		return testutil.ToFloat64(Applications.syncs.WithLabelValues(app.Namespace, app.Name, phase))
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	It("counts the sync a reconcile added to the history, by its result", func() {
		before := application("https://git.example/shop.git", func(app *gitopsv1alpha1.Application) { app.Name = "recorded" })
		before.Status.History = []gitopsv1alpha1.SyncHistory{entry("Failed", now)}
		after := before.DeepCopy()
		after.Status.History = append([]gitopsv1alpha1.SyncHistory{entry("Succeeded", now.Add(time.Minute))}, after.Status.History...)

		Applications.Recorded(before, after)
		Expect(count(after, "Succeeded")).To(Equal(1.0))
		Expect(count(after, "Failed")).To(BeZero())

		By("a reconcile that recorded nothing counts nothing")
		Applications.Recorded(after, after.DeepCopy())
		Expect(count(after, "Succeeded")).To(Equal(1.0))

		By("nor does one of an Application with no history")
		empty := application("https://git.example/shop.git", func(app *gitopsv1alpha1.Application) { app.Name = "recorded" })
		Applications.Recorded(empty, empty.DeepCopy())
		Expect(count(after, "Succeeded")).To(Equal(1.0))
		Expect(count(after, "Failed")).To(BeZero())

		By("the first sync of an Application counts")
		first := empty.DeepCopy()
		first.Status.History = []gitopsv1alpha1.SyncHistory{entry("Failed", now)}
		Applications.Recorded(empty, first)
		Expect(count(after, "Failed")).To(Equal(1.0))
	})
})
