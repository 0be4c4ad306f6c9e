package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Flux's postBuild substitution from ConfigMaps and Secrets, Flux's
// healthChecks, and Force=true on a whole Application, against a real API
// server and a real Git server.
var _ = Describe("Application postBuild, healthChecks and Force", Ordered, func() {
	// Distinctive, and plain letters and digits, so no encoding can hide
	// it from a substring search.
	const token = "sluicePostBuildCanary4d2f8a"
	var (
		server *gitserver.Server
		appsNS string
		logs   *syncBuffer
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		// Every log line of the controller, at its most verbose, and of the
		// manager (its event recorder logs every event) lands in logs.
		logs = &syncBuffer{}
		GinkgoWriter.TeeTo(logs)
		DeferCleanup(GinkgoWriter.ClearTeeWriters)
		verbose := zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true), zap.Level(zapcore.Level(-5)))
		startController("", func(mgr ctrl.Manager) error {
			return application.Setup(withLogger(mgr, verbose), application.Options{CacheDir: GinkgoT().TempDir()})
		})
		appsNS = newNamespace(ctx, "postbuild-")
	})

	substituteFrom := func(refs ...gitopsv1alpha1.SubstituteReference) func(*gitopsv1alpha1.Application) {
		return func(app *gitopsv1alpha1.Application) {
			app.Spec.PostBuild = &gitopsv1alpha1.PostBuild{Substitute: map[string]string{"tier": "web"}, SubstituteFrom: refs}
		}
	}
	settings := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n" +
		"data:\n  region: ${region}\n  size: ${size:=small}\n  tier: ${tier}\n  literal: $${region}\n"

	It("substitutes a ConfigMap's variables, and again when the ConfigMap changes", func(ctx context.Context) {
		vars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "cluster-vars"},
			Data: map[string]string{"region": "eu-west", "tier": "overridden by substitute"}}
		Expect(k8sClient.Create(ctx, vars)).To(Succeed())
		_, _, dest, _ := deployRepo(ctx, server, appsNS, "from-configmap", map[string]string{"app/settings.yaml": settings},
			substituteFrom(gitopsv1alpha1.SubstituteReference{Kind: "ConfigMap", Name: "cluster-vars"},
				gitopsv1alpha1.SubstituteReference{Kind: "Secret", Name: "not-there", Optional: true}))
		Expect(get[corev1.ConfigMap](ctx, dest, "settings").Data).To(Equal(map[string]string{
			"region": "eu-west", "size": "small", "tier": "web", "literal": "${region}",
		}))

		By("a changed variable is applied at the next interval, with no commit")
		vars.Data["region"] = "ap-south"
		Expect(k8sClient.Update(ctx, vars)).To(Succeed())
		Eventually(func(g Gomega) string {
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "settings"}, &cm)).To(Succeed())
			return cm.Data["region"]
		}).WithContext(ctx).Should(Equal("ap-south"))
	})

	It("fails the sync naming a missing ConfigMap that is not optional, and syncs once it exists", func(ctx context.Context) {
		repo, first := pushRepo(server, "missing-vars", map[string]string{"app/settings.yaml": settings})
		dest := appsNS + "-missing-vars"
		app := newApplication(ctx, appsNS, "missing-vars", appDir(repo.URL), dest, true,
			substituteFrom(gitopsv1alpha1.SubstituteReference{Kind: "ConfigMap", Name: "late-vars"}))
		Eventually(readyOf(ctx, app)).WithContext(ctx).Should(And(HaveField("Reason", "SubstituteFailed"),
			HaveField("Message", ContainSubstring("spec.postBuild.substituteFrom[0]: ConfigMap late-vars not found"))))

		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "late-vars"},
			Data: map[string]string{"region": "us-east"}})).To(Succeed())
		requestSync(ctx, client.ObjectKeyFromObject(app))
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
		Expect(get[corev1.ConfigMap](ctx, dest, "settings").Data).To(HaveKeyWithValue("region", "us-east"))
	})

	It("substitutes a Secret's value into the objects, and into no status, event or log line, even when the apply fails", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "secret-vars"},
			StringData: map[string]string{"password": token, "region": "eu-north"}})).To(Succeed())
		credentials := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: ${password}\n"
		repo, app, dest, _ := deployRepo(ctx, server, appsNS, "from-secret",
			map[string]string{"app/settings.yaml": settings, "app/db.yaml": credentials},
			substituteFrom(gitopsv1alpha1.SubstituteReference{Kind: "Secret", Name: "secret-vars"}))
		Expect(get[corev1.Secret](ctx, dest, "db").Data).To(HaveKeyWithValue("password", []byte(token)))
		Expect(get[corev1.ConfigMap](ctx, dest, "settings").Data).To(HaveKeyWithValue("region", "eu-north"))

		By("a commit that puts the value where the API server refuses it, and quotes it in its refusal")
		commitFiles(repo, map[string]string{"app/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n" +
			"spec:\n  type: ${password}\n  ports: [{port: 80}]\n"})
		Eventually(readyOf(ctx, app)).WithContext(ctx).Should(And(HaveField("Reason", "ApplyFailed"),
			HaveField("Message", ContainSubstring("***"))))
		DeferCleanup(forgetApplication, app)

		var events eventsv1.EventList
		Eventually(func(g Gomega) []string {
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(appsNS))).To(Succeed())
			var reasons []string
			for _, e := range events.Items {
				if e.Regarding.Name == app.Name {
					reasons = append(reasons, e.Reason)
				}
			}
			return reasons
		}).WithContext(ctx).Should(ContainElement("ApplyFailed"))
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		text := logs.String()
		Expect(text).To(ContainSubstring("from-secret"), "the controller's logs were captured")
		Expect(map[string][]string{
			"the Application": linesWith(indented(app), token),
			"its events":      linesWith(indented(events), token),
			"the logs":        linesWith(text, token),
		}).To(HaveEach(BeEmpty()), "the lines that carry the Secret's value")
		Expect(dest).NotTo(BeEmpty())
	})

	It("reads substituteFrom as the Application's service account: a Secret it may not read fails the sync", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "private-vars"},
			StringData: map[string]string{"region": "not-for-this-tenant"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "configmaps-only"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "configmaps-only"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"*"}}}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: "configmaps-only"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "configmaps-only"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: appsNS, Name: "configmaps-only"}}})).To(Succeed())
		repo, _ := pushRepo(server, "as-tenant", map[string]string{"app/settings.yaml": strings.Replace(settings, "settings", "tenant-settings", 1)})
		app := newApplication(ctx, appsNS, "as-tenant", appDir(repo.URL), appsNS, true, func(app *gitopsv1alpha1.Application) {
			app.Spec.ServiceAccountName = "configmaps-only"
			app.Spec.SyncPolicy.SyncOptions = nil
			substituteFrom(gitopsv1alpha1.SubstituteReference{Kind: "Secret", Name: "private-vars"})(app)
		})
		DeferCleanup(forgetApplication, app)
		Eventually(readyOf(ctx, app)).WithContext(ctx).Should(And(HaveField("Reason", "SubstituteFailed"),
			HaveField("Message", And(ContainSubstring("spec.postBuild.substituteFrom[0]: reading Secret private-vars"),
				ContainSubstring("forbidden")))))
		Consistently(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: appsNS, Name: "tenant-settings"}, &corev1.ConfigMap{})
		}).WithContext(ctx).WithTimeout(2*time.Second).Should(Satisfy(apierrors.IsNotFound), "nothing was applied")
	})

	It("counts healthChecks' objects in the Application's health, and waits for them", func(ctx context.Context) {
		shared := newNamespace(ctx, "shared-")
		repo, first := pushRepo(server, "checks", map[string]string{"app/settings.yaml": "apiVersion: v1\nkind: ConfigMap\n" +
			"metadata:\n  name: settings\ndata:\n  k: v\n"})
		app := newApplication(ctx, appsNS, "checks", appDir(repo.URL), appsNS+"-checks", true, func(app *gitopsv1alpha1.Application) {
			app.Spec.Wait = true
			app.Spec.HealthChecks = []gitopsv1alpha1.HealthCheckRef{
				{APIVersion: "v1", Kind: "ConfigMap", Name: "db-ready", Namespace: shared},
				{APIVersion: "batch/v1", Kind: "Job", Name: "migrate", Namespace: shared},
			}
		})
		Eventually(readyOf(ctx, app)).WithContext(ctx).Should(And(HaveField("Reason", "Progressing"),
			HaveField("Message", ContainSubstring("waiting for health: health check ConfigMap db-ready is Missing"))))
		Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthMissing))
		Expect(inventoryOf(ctx, client.ObjectKeyFromObject(app))).To(Equal([]string{"ConfigMap " + appsNS + "-checks/settings"}),
			"health checks are not the Application's objects")

		By("the ConfigMap exists; the Job runs")
		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "db-ready"}})).To(Succeed())
		migrate := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "migrate"},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "migrate", Image: "registry.example/migrate:1"}}}}}}
		Expect(k8sClient.Create(ctx, migrate)).To(Succeed())
		Eventually(readyOf(ctx, app)).WithContext(ctx).Should(And(HaveField("Reason", "Progressing"),
			HaveField("Message", ContainSubstring("health check Job migrate"))))

		By("the Job completes")
		now := metav1.Now()
		migrate.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}}
		Expect(k8sClient.Status().Update(ctx, migrate)).To(Succeed())
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthHealthy))
	})

	It("refuses, in the API server, a patch with both path and patch, and a substituteFrom of another kind", func(ctx context.Context) {
		app := func(name string, edit func(*gitopsv1alpha1.Application)) *gitopsv1alpha1.Application {
			a := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: appsNS, Name: name},
				Spec: gitopsv1alpha1.ApplicationSpec{Source: appDir("https://git.example/none.git")}}
			edit(a)
			return a
		}
		both := app("both", func(a *gitopsv1alpha1.Application) {
			a.Spec.Source.Kustomize = &gitopsv1alpha1.KustomizeSource{Patches: []gitopsv1alpha1.KustomizePatch{{Path: "p.yaml", Patch: "x: y"}}}
		})
		Expect(k8sClient.Create(ctx, both)).To(MatchError(ContainSubstring("a patch has either path or patch")))
		kind := app("kind", func(a *gitopsv1alpha1.Application) {
			a.Spec.PostBuild = &gitopsv1alpha1.PostBuild{SubstituteFrom: []gitopsv1alpha1.SubstituteReference{{Kind: "Pod", Name: "x"}}}
		})
		Expect(k8sClient.Create(ctx, kind)).To(MatchError(ContainSubstring(`supported values: "ConfigMap", "Secret"`)))
	})

	It("with Force=true on the Application, recreates a Job whose immutable template changed", func(ctx context.Context) {
		job := func(image string) string {
			return fmt.Sprintf("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n"+
				"      restartPolicy: Never\n      containers: [{name: migrate, image: %q}]\n", image)
		}
		repo, app, dest, _ := deployRepo(ctx, server, appsNS, "force-all", map[string]string{"app/job.yaml": job("registry.example/migrate:1")},
			func(app *gitopsv1alpha1.Application) {
				app.Spec.SyncPolicy.SyncOptions = append(app.Spec.SyncPolicy.SyncOptions, "Force=true")
			})
		before := get[batchv1.Job](ctx, dest, "migrate")
		second := commitFiles(repo, map[string]string{"app/job.yaml": job("registry.example/migrate:2")})
		expectSynced(ctx, client.ObjectKeyFromObject(app), second)
		after := get[batchv1.Job](ctx, dest, "migrate")
		Expect(after.UID).NotTo(Equal(before.UID), "recreated")
		Expect(after.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/migrate:2"))
	})
})
