package integration

import (
	"context"
	"fmt"
	"net"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/test/gitserver"
)

// startGitServer serves Git repositories on loopback until the container
// that started it ends.
func startGitServer() *gitserver.Server {
	GinkgoHelper()
	server, err := gitserver.Start(GinkgoT().TempDir(), gitserver.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(server.Stop)
	return server
}

// freeLoopbackAddress is an address on loopback that nothing listens on
// yet, for a server a spec starts.
func freeLoopbackAddress() string {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { Expect(l.Close()).To(Succeed()) }()
	return l.Addr().String()
}

// pushRepo makes a repository with files committed to main.
func pushRepo(server *gitserver.Server, name string, files map[string]string) (*gitserver.Repo, string) {
	GinkgoHelper()
	repo, err := server.Create(name)
	Expect(err).NotTo(HaveOccurred())
	Expect(repo.Write(files)).To(Succeed())
	sha, err := repo.Commit("main", "first")
	Expect(err).NotTo(HaveOccurred())
	return repo, sha
}

// commitFiles writes files and removes paths in a repository's working
// copy, commits that to main and returns the commit.
func commitFiles(repo *gitserver.Repo, files map[string]string, remove ...string) string {
	GinkgoHelper()
	Expect(repo.Write(files)).To(Succeed())
	Expect(repo.Remove(remove...)).To(Succeed())
	sha, err := repo.Commit("main", "change")
	Expect(err).NotTo(HaveOccurred())
	return sha
}

// newApplication creates an Application in namespace that syncs source
// into destination every second, automated with selfHeal, creating the
// namespace; edits change it first.
func newApplication(ctx context.Context, namespace, name string, source gitopsv1alpha1.ApplicationSource, destination string,
	prune bool, edits ...func(*gitopsv1alpha1.Application)) *gitopsv1alpha1.Application {
	GinkgoHelper()
	app := &gitopsv1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: gitopsv1alpha1.ApplicationSpec{
			Source:      source,
			Destination: gitopsv1alpha1.ApplicationDestination{Namespace: destination},
			SyncPolicy: &gitopsv1alpha1.SyncPolicy{
				Automated:   &gitopsv1alpha1.AutomatedSyncPolicy{Prune: prune, SelfHeal: true},
				SyncOptions: []string{"CreateNamespace=true"},
			},
			// Commits are seen by the poll; drift by the watches.
			Interval: metav1.Duration{Duration: time.Second},
		},
	}
	for _, edit := range edits {
		edit(app)
	}
	Expect(k8sClient.Create(ctx, app)).To(Succeed())
	return app
}

// expectSynced waits until an Application has synced revision and is Ready.
func expectSynced(ctx context.Context, key client.ObjectKey, revision string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var app gitopsv1alpha1.Application
		g.Expect(k8sClient.Get(ctx, key, &app)).To(Succeed())
		ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady)
		g.Expect(ready).NotTo(BeNil(), "no Ready condition yet")
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "%s: %s", ready.Reason, ready.Message)
		g.Expect(app.Status.Sync).To(Equal(gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: revision}))
	}).WithContext(ctx).Should(Succeed(), "Application %s", key)
}

// requestSync asks for a sync now, as a push webhook does.
func requestSync(ctx context.Context, key client.ObjectKey) {
	GinkgoHelper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, application.SyncRequestAnnotation, time.Now().Format(time.RFC3339Nano))
	patchMerge(ctx, &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}, patch)
}

// inventoryOf lists an Application's inventory as "Kind namespace/name".
func inventoryOf(ctx context.Context, key client.ObjectKey) []string {
	GinkgoHelper()
	var app gitopsv1alpha1.Application
	Expect(k8sClient.Get(ctx, key, &app)).To(Succeed())
	var out []string
	for _, ref := range app.Status.Inventory {
		out = append(out, fmt.Sprintf("%s %s/%s", ref.Kind, ref.Namespace, ref.Name))
	}
	slices.Sort(out)
	return out
}

// get reads one object of type T by namespace and name.
func get[T any, PT interface {
	*T
	client.Object
}](ctx context.Context, namespace, name string) PT {
	GinkgoHelper()
	obj := PT(new(T))
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)).To(Succeed())
	return obj
}

// patchMerge changes an object by hand, as a person with kubectl would.
func patchMerge(ctx context.Context, obj client.Object, patch string) {
	GinkgoHelper()
	Expect(k8sClient.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}
