package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Argo CD's Replace=true and Force=true sync options, per Application and
// per object, against a real API server.
var _ = Describe("The sync options Replace and Force", Ordered, func() {
	var (
		server *gitserver.Server
		appsNS string
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		startApplicationController(application.Options{})
		appsNS = newNamespace(ctx, "options-")
	})

	job := func(image, syncOptions string) string {
		annotations := ""
		if syncOptions != "" {
			annotations = fmt.Sprintf("  annotations:\n    argocd.argoproj.io/sync-options: %q\n", syncOptions)
		}
		return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
%sspec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: %q}]
`, annotations, image)
	}

	It("with Force=true on an object, deletes and recreates a Job whose immutable template changed; without, the sync fails naming it", func(ctx context.Context) {
		repo, first := pushRepo(server, "force", map[string]string{
			"force/job.yaml": job("registry.example/migrate:1", "Force=true"), "plain/job.yaml": job("registry.example/migrate:1", ""),
		})
		dest := appsNS + "-force"
		source := gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: "main", Path: "force"}
		app := newApplication(ctx, appsNS, "force", source, dest, true)
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
		before := get[batchv1.Job](ctx, dest, "migrate")

		second := commitFiles(repo, map[string]string{
			"force/job.yaml": job("registry.example/migrate:2", "Force=true"), "plain/job.yaml": job("registry.example/migrate:2", ""),
		})
		expectSynced(ctx, client.ObjectKeyFromObject(app), second)
		after := get[batchv1.Job](ctx, dest, "migrate")
		Expect(after.UID).NotTo(Equal(before.UID), "recreated")
		Expect(after.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/migrate:2"))

		By("the same change without Force fails the sync, naming the field, and leaves the Job")
		plainDest := appsNS + "-noforce"
		plainSource := gitopsv1alpha1.ApplicationSource{RepoURL: repo.URL, TargetRevision: first, Path: "plain"}
		plain := newApplication(ctx, appsNS, "noforce", plainSource, plainDest, true)
		expectSynced(ctx, client.ObjectKeyFromObject(plain), first)
		kept := get[batchv1.Job](ctx, plainDest, "migrate")
		patchMerge(ctx, plain, fmt.Sprintf(`{"spec":{"source":{"targetRevision":%q}}}`, second))
		Eventually(readyOf(ctx, plain)).WithContext(ctx).Should(And(HaveField("Reason", "ApplyFailed"),
			HaveField("Message", ContainSubstring("field is immutable"))))
		Expect(get[batchv1.Job](ctx, plainDest, "migrate").UID).To(Equal(kept.UID))
	})

	It("with Replace=true on the Application, writes objects whole: a field set outside Git is cleared, and a resync writes nothing", func(ctx context.Context) {
		configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n"
		repo, app, dest, _ := deployRepo(ctx, server, appsNS, "replace", map[string]string{"app/settings.yaml": configMap},
			func(app *gitopsv1alpha1.Application) {
				app.Spec.SyncPolicy.SyncOptions = append(app.Spec.SyncPolicy.SyncOptions, "Replace=true")
			})
		Expect(get[corev1.ConfigMap](ctx, dest, "settings").Data).To(Equal(map[string]string{"mode": "fast"}))

		By("a key added by hand, which a server-side apply would leave to its own manager")
		patchMerge(ctx, get[corev1.ConfigMap](ctx, dest, "settings"), `{"data":{"debug":"on"}}`)
		Eventually(func(g Gomega) map[string]string {
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "settings"}, &cm)).To(Succeed())
			return cm.Data
		}).WithContext(ctx).Should(Equal(map[string]string{"mode": "fast"}))

		By("nothing changes: the object keeps its resource version through resyncs")
		version := get[corev1.ConfigMap](ctx, dest, "settings").ResourceVersion
		requestSync(ctx, client.ObjectKeyFromObject(app))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			g.Expect(app.Status.LastHandledSyncRequest).To(Equal(app.Annotations[application.SyncRequestAnnotation]))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func() string { return get[corev1.ConfigMap](ctx, dest, "settings").ResourceVersion }).
			WithContext(ctx).WithTimeout(3 * time.Second).Should(Equal(version))

		By("a commit changes it")
		second := commitFiles(repo, map[string]string{"app/settings.yaml": strings.Replace(configMap, "fast", "safe", 1)})
		expectSynced(ctx, client.ObjectKeyFromObject(app), second)
		Expect(get[corev1.ConfigMap](ctx, dest, "settings").Data).To(Equal(map[string]string{"mode": "safe"}))
	})
})
