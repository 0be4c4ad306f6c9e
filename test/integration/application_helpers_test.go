package integration

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/test/gitserver"
)

// startApplicationController runs the Application controller in this
// process, as startController does, until the container that started it
// ends; with a cache directory of its own unless opts names one.
func startApplicationController(opts application.Options) *writeCounter {
	GinkgoHelper()
	if opts.CacheDir == "" {
		opts.CacheDir = GinkgoT().TempDir()
	}
	return startController("", func(mgr ctrl.Manager) error { return application.Setup(mgr, opts) })
}

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

// appDir is the source most specs sync: a repository's app directory on
// main.
func appDir(repoURL string) gitopsv1alpha1.ApplicationSource {
	return gitopsv1alpha1.ApplicationSource{RepoURL: repoURL, TargetRevision: "main", Path: "app"}
}

// deployRepo pushes files to a new repository called name, creates an
// Application of the same name in namespace for its app directory (as
// newApplication does, edited by edits) with destination namespace-name,
// and waits until it synced. It returns the repository, the Application
// as it is then, the destination and the commit synced.
func deployRepo(ctx context.Context, server *gitserver.Server, namespace, name string, files map[string]string,
	edits ...func(*gitopsv1alpha1.Application)) (*gitserver.Repo, *gitopsv1alpha1.Application, string, string) {
	GinkgoHelper()
	repo, first := pushRepo(server, name, files)
	dest := namespace + "-" + name
	app := newApplication(ctx, namespace, name, appDir(repo.URL), dest, true, edits...)
	expectSynced(ctx, client.ObjectKeyFromObject(app), first)
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
	return repo, app, dest, first
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

// forgetApplication removes an Application a spec leaves failing, leaving
// its objects: otherwise the managers of later specs, which serve every
// namespace, would go on retrying it, each retry a status write in the
// midst of their counts. Its finalizers go first, so no manager needs to
// be running.
func forgetApplication(ctx context.Context, app *gitopsv1alpha1.Application) {
	GinkgoHelper()
	key := client.ObjectKeyFromObject(app)
	live := &gitopsv1alpha1.Application{}
	if err := k8sClient.Get(ctx, key, live); apierrors.IsNotFound(err) {
		return
	}
	err := k8sClient.Patch(ctx, live, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))
	Expect(client.IgnoreNotFound(err)).To(Succeed())
	Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, live))).To(Succeed())
	Eventually(func() error { return k8sClient.Get(ctx, key, live) }).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound))
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
		g.Expect(app.Status.Sync).To(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusSynced), HaveField("Revision", revision)))
	}).WithContext(ctx).Should(Succeed(), "Application %s", key)
}

// readyOf reads an Application's Ready condition, refreshing app, for
// Eventually to poll.
func readyOf(ctx context.Context, app *gitopsv1alpha1.Application) func(Gomega) *metav1.Condition {
	return func(g Gomega) *metav1.Condition {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady)
		g.Expect(ready).NotTo(BeNil(), "no Ready condition yet")
		return ready
	}
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

// configMapManifest is a ConfigMap's manifest holding value under the key
// "value", with annotations given as key, value pairs.
func configMapManifest(name, value string, annotations ...string) string {
	GinkgoHelper()
	Expect(len(annotations)%2).To(BeZero(), "annotations come in key, value pairs")
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n", name)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for i := 0; i < len(annotations); i += 2 {
			fmt.Fprintf(&b, "    %s: %q\n", annotations[i], annotations[i+1])
		}
	}
	fmt.Fprintf(&b, "data:\n  value: %q\n", value)
	return b.String()
}

// deploymentManifest is a Deployment's manifest: replicas of one container
// "web" running image, selected by the label app: name.
func deploymentManifest(name, image string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers: [{name: web, image: %[2]s}]
`, name, image, replicas)
}

// appDiff runs kubectl sluice app diff on an Application as the suite's
// administrator and waits until it exits with code.
func appDiff(namespace, name string, code int) *gexec.Session {
	GinkgoHelper()
	session, err := gexec.Start(exec.Command(buildPlugin(), "app", "diff", name, "-n", namespace, "--kubeconfig", kubeconfig),
		GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(session).WithTimeout(time.Minute).Should(gexec.Exit(code))
	return session
}

// expectHealed changes a ConfigMap's value by hand and waits until a sync
// puts want back.
func expectHealed(ctx context.Context, cm *corev1.ConfigMap, want string) {
	GinkgoHelper()
	patchMerge(ctx, cm, `{"data":{"value":"by hand"}}`)
	Eventually(func(g Gomega) string {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cm), cm)).To(Succeed())
		return cm.Data["value"]
	}).WithContext(ctx).Should(Equal(want))
}
