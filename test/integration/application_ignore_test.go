package integration

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/render"
	"github.com/sluicehq/sluice/test/gitserver"
)

// spec.ignoreDifferences against a real API server and a real Git server:
// a field another controller sets stays as it set it, and the
// Application stays Synced.
var _ = Describe("Application ignoreDifferences", Ordered, func() {
	var (
		server *gitserver.Server
		appsNS string
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		startApplicationController(application.Options{})
		appsNS = newNamespace(ctx, "ignore-")
	})

	deployment := func(name, image string) string { return deploymentManifest(name, image, 2) }
	// newApp syncs a repository's app directory with selfHeal, and waits
	// for its first sync.
	newApp := func(ctx context.Context, name string, files map[string]string,
		edit func(*gitopsv1alpha1.Application)) (*gitserver.Repo, client.ObjectKey, string, string) {
		GinkgoHelper()
		repo, app, dest, first := deployRepo(ctx, server, appsNS, name, files, edit)
		return repo, client.ObjectKeyFromObject(app), dest, first
	}
	// autoscale sets replicas as an autoscaler does: a server-side apply
	// of that one field with a field manager of its own.
	autoscale := func(ctx context.Context, namespace, name string, replicas int32) {
		GinkgoHelper()
		Expect(k8sClient.Apply(ctx, appsv1ac.Deployment(name, namespace).WithSpec(appsv1ac.DeploymentSpec().WithReplicas(replicas)),
			client.FieldOwner("hpa-controller"), client.ForceOwnership)).To(Succeed())
	}
	// scale sets replicas through the scale subresource, as kubectl scale.
	scale := func(ctx context.Context, namespace, name string, replicas int32) {
		GinkgoHelper()
		d := &appsv1.Deployment{}
		d.Namespace, d.Name = namespace, name
		s := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}
		Expect(k8sClient.SubResource("scale").Update(ctx, d, client.WithSubResourceBody(s))).To(Succeed())
	}
	replicas := func(ctx context.Context, namespace, name string) func() int32 {
		return func() int32 {
			return *get[appsv1.Deployment](ctx, namespace, name).Spec.Replicas
		}
	}
	image := func(ctx context.Context, namespace, name string) func() string {
		return func() string {
			return get[appsv1.Deployment](ctx, namespace, name).Spec.Template.Spec.Containers[0].Image
		}
	}
	// stays makes a change and then holds the Application Synced at
	// revision while check holds, for long enough that the watch of the
	// changed object woke it. A sync already under way when the change
	// lands (the one the creation's own event started) may have read the
	// object before it, and apply Git's value once: the change is made
	// again then, and must hold from there on.
	stays := func(ctx context.Context, key client.ObjectKey, revision string, change func(), check func(Gomega)) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			change()
			g.Consistently(func(g Gomega) {
				var app gitopsv1alpha1.Application
				g.Expect(k8sClient.Get(ctx, key, &app)).To(Succeed())
				g.Expect(app.Status.Sync).To(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusSynced), HaveField("Revision", revision)))
				check(g)
			}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
		}).WithContext(ctx).WithTimeout(20 * time.Second).Should(Succeed())
	}
	ignoring := func(entries ...gitopsv1alpha1.ResourceIgnoreDifferences) func(*gitopsv1alpha1.Application) {
		return func(app *gitopsv1alpha1.Application) { app.Spec.IgnoreDifferences = entries }
	}
	replicasPointer := gitopsv1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}

	It("leaves replicas an autoscaler set, by JSON pointer: Synced, not reverted, not in the diff", func(ctx context.Context) {
		_, key, dest, first := newApp(ctx, "pointer", map[string]string{"app/web.yaml": deployment("web", "web:1")}, ignoring(replicasPointer))
		Expect(replicas(ctx, dest, "web")()).To(Equal(int32(2)))

		stays(ctx, key, first, func() { autoscale(ctx, dest, "web", 5) },
			func(g Gomega) { g.Expect(replicas(ctx, dest, "web")()).To(Equal(int32(5))) })

		By("the diff kubectl sluice app diff shows: nothing")
		var app gitopsv1alpha1.Application
		Expect(k8sClient.Get(ctx, key, &app)).To(Succeed())
		objects := []*unstructured.Unstructured{mustObject(deployment("web", "web:1"), dest)}
		ignore, err := gitops.CompileIgnoreDifferences(app.Spec.IgnoreDifferences)
		Expect(err).NotTo(HaveOccurred())
		syncer := gitops.NewSyncer(k8sClient, gitops.ApplicationOwner)
		gitops.ApplicationOwner.Label(objects, client.ObjectKeyFromObject(&app))
		diffs, err := syncer.Diff(ctx, objects, ignore)
		Expect(err).NotTo(HaveOccurred())
		Expect(diffs).To(HaveLen(1))
		Expect(diffs[0].Action).To(BeEquivalentTo("unchanged"))
		diffs, err = syncer.Diff(ctx, objects, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(diffs[0].Action).To(BeEquivalentTo("configured"), "without the rule, replicas differ")
	})

	It("leaves the fields a named field manager owns", func(ctx context.Context) {
		_, key, dest, first := newApp(ctx, "managers", map[string]string{"app/web.yaml": deployment("web", "web:1")},
			ignoring(gitopsv1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"hpa-controller"}}))
		stays(ctx, key, first, func() { autoscale(ctx, dest, "web", 4) },
			func(g Gomega) { g.Expect(replicas(ctx, dest, "web")()).To(Equal(int32(4))) })
	})

	It("leaves the paths a jq expression selects", func(ctx context.Context) {
		_, key, dest, first := newApp(ctx, "jq", map[string]string{"app/web.yaml": deployment("web", "web:1")},
			ignoring(gitopsv1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment",
				JQPathExpressions: []string{`.spec.template.spec.containers[] | select(.name == "web") | .image`}}))
		stays(ctx, key, first, func() {
			patchMerge(ctx, get[appsv1.Deployment](ctx, dest, "web"),
				`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"web:patched"}]}}}}`)
		}, func(g Gomega) { g.Expect(image(ctx, dest, "web")()).To(Equal("web:patched")) })
	})

	It("with RespectIgnoreDifferences=true, a commit changing another field keeps the live replicas", func(ctx context.Context) {
		repo, key, dest, first := newApp(ctx, "respect", map[string]string{
			"app/web.yaml": deployment("web", "web:1"), "app/api.yaml": deployment("api", "api:1"),
		}, func(app *gitopsv1alpha1.Application) {
			app.Spec.IgnoreDifferences = []gitopsv1alpha1.ResourceIgnoreDifferences{replicasPointer}
			app.Spec.SyncPolicy.SyncOptions = append(app.Spec.SyncPolicy.SyncOptions, "RespectIgnoreDifferences=true")
		})
		stays(ctx, key, first, func() {
			autoscale(ctx, dest, "web", 5) // another applier owns replicas: left out of the apply
			scale(ctx, dest, "api", 3)     // an update: the apply sets the live value
		}, func(g Gomega) {
			g.Expect(replicas(ctx, dest, "web")()).To(Equal(int32(5)))
			g.Expect(replicas(ctx, dest, "api")()).To(Equal(int32(3)))
		})

		second := commitFiles(repo, map[string]string{"app/web.yaml": deployment("web", "web:2"), "app/api.yaml": deployment("api", "api:2")})
		requestSync(ctx, key)
		expectSynced(ctx, key, second)
		Expect(image(ctx, dest, "web")()).To(Equal("web:2"))
		Expect(image(ctx, dest, "api")()).To(Equal("api:2"))
		Expect(replicas(ctx, dest, "web")()).To(Equal(int32(5)))
		Expect(replicas(ctx, dest, "api")()).To(Equal(int32(3)))
	})

	It("without RespectIgnoreDifferences, the same commit applies Git's replicas too, as Argo CD does", func(ctx context.Context) {
		repo, key, dest, first := newApp(ctx, "whole", map[string]string{"app/web.yaml": deployment("web", "web:1")}, ignoring(replicasPointer))
		stays(ctx, key, first, func() { autoscale(ctx, dest, "web", 5) },
			func(g Gomega) { g.Expect(replicas(ctx, dest, "web")()).To(Equal(int32(5))) })

		second := commitFiles(repo, map[string]string{"app/web.yaml": deployment("web", "web:2")})
		requestSync(ctx, key)
		expectSynced(ctx, key, second)
		Expect(image(ctx, dest, "web")()).To(Equal("web:2"))
		Expect(replicas(ctx, dest, "web")()).To(Equal(int32(2)))
	})

	It("refuses a jq expression outside the path subset, naming the field", func(ctx context.Context) {
		repo, _ := pushRepo(server, "badjq", map[string]string{"app/web.yaml": deployment("web", "web:1")})
		app := newApplication(ctx, appsNS, "badjq", appDir(repo.URL), appsNS+"-badjq", true,
			ignoring(gitopsv1alpha1.ResourceIgnoreDifferences{Group: "apps", Kind: "Deployment", JQPathExpressions: []string{`"x" * 1000000000`}}))
		Eventually(readyOf(ctx, app)).WithContext(ctx).Should(And(HaveField("Reason", "InvalidSpec"),
			HaveField("Message", ContainSubstring("spec.ignoreDifferences[0].jqPathExpressions[0]"))))
	})
})

// mustObject reads one YAML object, in namespace.
func mustObject(doc, namespace string) *unstructured.Unstructured {
	GinkgoHelper()
	objects, err := render.Decode("web.yaml", []byte(doc))
	Expect(err).NotTo(HaveOccurred())
	Expect(objects).To(HaveLen(1))
	objects[0].SetNamespace(namespace)
	return objects[0]
}
