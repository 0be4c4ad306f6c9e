package integration

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Sync operations against a real API server: hooks in their phases, waves
// in order, a failing hook, and a wait that times out.
var _ = Describe("The Application controller's sync waves and hooks", Ordered, ContinueOnFailure, func() {
	var (
		server *gitserver.Server
		appsNS string
	)

	BeforeAll(func(ctx context.Context) {
		server = startGitServer()
		startApplicationController(application.Options{})
		appsNS = newNamespace(ctx, "waves-apps-")
	})

	configMap := configMapManifest
	wave := func(w string) []string { return []string{appplan.SyncWaveAnnotation, w} }
	hook := func(phase, policy string) []string {
		out := []string{appplan.HookAnnotation, phase}
		if policy != "" {
			out = append(out, appplan.HookDeletePolicyAnnotation, policy)
		}
		return out
	}
	exists := func(ctx context.Context, obj client.Object) func() bool {
		return func() bool {
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), obj)
			Expect(client.IgnoreNotFound(err)).To(Succeed())
			return !apierrors.IsNotFound(err)
		}
	}
	cm := func(namespace, name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	}

	It("runs hooks in their phases and waves in order, and keeps the hooks their delete policies ask to keep", func(ctx context.Context) {
		repo, first := pushRepo(server, "waves", map[string]string{
			"app/early.yaml":     configMap("early", "1", wave("-1")...),
			"app/middle.yaml":    configMap("middle", "1"),
			"app/late.yaml":      configMap("late", "1", wave("1")...),
			"app/pre-hook.yaml":  configMap("pre-hook", "1", hook("PreSync", "HookSucceeded")...),
			"app/sync-hook.yaml": configMap("sync-hook", "1", hook("Sync", "")...),
			"app/post-hook.yaml": configMap("post-hook", "1", hook("PostSync", "BeforeHookCreation")...),
		})
		dest := newNamespace(ctx, "waves-")
		created := watchCreations(ctx, dest)
		app := newApplication(ctx, appsNS, "waves", appDir(repo.URL), dest, true)
		key := client.ObjectKeyFromObject(app)
		expectSynced(ctx, key, first)

		Eventually(created.names).WithContext(ctx).Should(Equal(
			[]string{"pre-hook", "early", "middle", "sync-hook", "late", "post-hook"}),
			"PreSync hooks, then each wave (resources, then the wave's Sync hooks), then PostSync hooks")
		Expect(k8sClient.Get(ctx, key, app)).To(Succeed())
		op := app.Status.OperationState
		Expect(op).NotTo(BeNil())
		Expect(op.Phase).To(Equal(gitopsv1alpha1.OperationSucceeded), op.Message)
		Expect(hookPhases(op)).To(Equal([]string{
			"PreSync ConfigMap pre-hook Succeeded", "Sync ConfigMap sync-hook Succeeded", "PostSync ConfigMap post-hook Succeeded"}))
		Expect(inventoryOf(ctx, key)).To(Equal([]string{
			"ConfigMap " + dest + "/early", "ConfigMap " + dest + "/late", "ConfigMap " + dest + "/middle"}), "hooks are not in the inventory")
		Eventually(exists(ctx, cm(dest, "pre-hook"))).WithContext(ctx).Should(BeFalse(), "HookSucceeded: deleted once it succeeded")
		syncHook, postHook := cm(dest, "sync-hook"), cm(dest, "post-hook")
		Expect(exists(ctx, syncHook)()).To(BeTrue(), "BeforeHookCreation (by default): kept until the next run")
		Expect(exists(ctx, postHook)()).To(BeTrue(), "BeforeHookCreation: kept until the next run")

		By("a new commit runs the hooks again, replacing the ones kept")
		created.reset()
		second := commitFiles(repo, map[string]string{"app/late.yaml": configMap("late", "2", wave("1")...)})
		expectSynced(ctx, key, second)
		Eventually(created.names).WithContext(ctx).Should(Equal([]string{"pre-hook", "sync-hook", "post-hook"}),
			"the resources in place are updated, not created; each hook is created anew")
		replaced := cm(dest, "sync-hook")
		Expect(exists(ctx, replaced)()).To(BeTrue())
		Expect(replaced.UID).NotTo(Equal(syncHook.UID), "BeforeHookCreation deleted the last run's hook first")
	})

	It("stops at a failing PreSync hook: the Sync phase is not applied, the SyncFail hooks run", func(ctx context.Context) {
		repo, _ := pushRepo(server, "failing-hook", map[string]string{
			"app/check.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: pre-check
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  containers: [{name: check, image: registry.example/check:1.0}]
`,
			"app/payload.yaml": configMap("payload", "1"),
			"app/on-fail.yaml": configMap("on-fail", "1", hook("SyncFail", "")...),
		})
		dest := newNamespace(ctx, "failing-hook-")
		app := newApplication(ctx, appsNS, "failing-hook", appDir(repo.URL), dest, true)

		By("the hook's Pod failing, as its kubelet would report it")
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "pre-check"}}
		Eventually(exists(ctx, pod)).WithContext(ctx).Should(BeTrue())
		Eventually(func(g Gomega) string { return readyOf(ctx, app)(g).Reason }).WithContext(ctx).
			Should(Equal("Progressing"), "the operation waits for its PreSync hook")
		pod.Status.Phase = corev1.PodFailed
		pod.Status.Message = "check exited with 1"
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())

		Eventually(exists(ctx, cm(dest, "on-fail"))).WithContext(ctx).Should(BeTrue(), func() string {
			_ = k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)
			return fmt.Sprintf("the SyncFail hook ran; status: %+v %+v", app.Status.Conditions, app.Status.OperationState)
		})
		Expect(exists(ctx, cm(dest, "payload"))()).To(BeFalse(), "the Sync phase was not applied")
		Eventually(func(g Gomega) {
			ready := readyOf(ctx, app)(g)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal("HookFailed"), ready.Message)
			g.Expect(ready.Message).To(ContainSubstring("PreSync hook Pod pre-check"))
			g.Expect(app.Status.OperationState.Phase).To(Equal(gitopsv1alpha1.OperationFailed))
		}).WithContext(ctx).Should(Succeed())
		Expect(exists(ctx, cm(dest, "payload"))()).To(BeFalse(), "the Sync phase was not applied")
	})

	It("ends a wait for health at spec.timeout, naming what is not healthy", func(ctx context.Context) {
		repo, _ := pushRepo(server, "timeout", map[string]string{"app/web.yaml": deploymentManifest("web", "registry.example/web:1.0", 1)})
		dest := newNamespace(ctx, "timeout-")
		app := newApplication(ctx, appsNS, "timeout", appDir(repo.URL), dest, true, func(app *gitopsv1alpha1.Application) {
			app.Spec.Wait = true
			app.Spec.Timeout = &metav1.Duration{Duration: 3 * time.Second}
		})
		// No Deployment controller here: the Deployment never becomes
		// available.
		Eventually(func(g Gomega) {
			ready := readyOf(ctx, app)(g)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal("HealthCheckFailed"), ready.Message)
			g.Expect(ready.Message).To(ContainSubstring("not healthy after 3s"))
			g.Expect(ready.Message).To(ContainSubstring("Deployment web"))
		}).WithContext(ctx).Should(Succeed())
	})
})

// The health of a custom resource, whose kind Sluice has no rule for, is
// kstatus' reading of its status, and a change of its status alone is
// seen: a Ready condition False is Progressing, True Healthy, and a
// Stalled condition Degraded.
var _ = Describe("The health of a custom resource an Application applies", Ordered, func() {
	const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.health.example.com
spec:
  group: health.example.com
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`
	const gadget = `apiVersion: health.example.com/v1
kind: Gadget
metadata:
  name: lamp
  annotations:
    argocd.argoproj.io/sync-wave: "1"
spec:
  size: 2
`

	It("follows kstatus as the resource's status changes, and alone", func(ctx context.Context) {
		server := startGitServer()
		startApplicationController(application.Options{})
		appsNS := newNamespace(ctx, "crhealth-apps-")
		dest := newNamespace(ctx, "crhealth-")
		repo, first := pushRepo(server, "gadgets", map[string]string{"app/crd.yaml": crd, "app/gadget.yaml": gadget})
		app := newApplication(ctx, appsNS, "gadgets", appDir(repo.URL), dest, true)
		expectSynced(ctx, client.ObjectKeyFromObject(app), first)
		DeferCleanup(func(ctx context.Context) {
			Expect(k8sClient.Delete(ctx, app)).To(Succeed())
			Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app) }).WithContext(ctx).
				Should(Satisfy(apierrors.IsNotFound))
		})

		setConditions := func(conditions ...map[string]any) {
			GinkgoHelper()
			live := &unstructured.Unstructured{}
			live.SetAPIVersion("health.example.com/v1")
			live.SetKind("Gadget")
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "lamp"}, live)).To(Succeed())
			list := make([]any, 0, len(conditions))
			for _, c := range conditions {
				list = append(list, c)
			}
			Expect(unstructured.SetNestedSlice(live.Object, list, "status", "conditions")).To(Succeed())
			Expect(k8sClient.Status().Update(ctx, live)).To(Succeed())
		}
		gadgetHealth := func(g Gomega) gitopsv1alpha1.HealthStatus {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
			for _, r := range app.Status.Resources {
				if r.Kind == "Gadget" {
					g.Expect(r.Health).NotTo(BeNil(), "a custom resource's health is read")
					return *r.Health
				}
			}
			g.Expect(app.Status.Resources).To(ContainElement(HaveField("Kind", "Gadget")))
			return gitopsv1alpha1.HealthStatus{}
		}
		condition := func(kind, status, reason string) map[string]any {
			return map[string]any{"type": kind, "status": status, "reason": reason, "message": reason,
				"lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
		}

		By("a status that says it is not ready yet: Progressing")
		setConditions(condition("Ready", "False", "Warming"))
		Eventually(func(g Gomega) {
			g.Expect(gadgetHealth(g).Status).To(Equal(gitopsv1alpha1.HealthProgressing))
			g.Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthProgressing), "the Application is as healthy as its least")
		}).WithContext(ctx).Should(Succeed())

		By("ready: Healthy")
		setConditions(condition("Ready", "True", "Lit"))
		Eventually(func(g Gomega) {
			g.Expect(gadgetHealth(g).Status).To(Equal(gitopsv1alpha1.HealthHealthy))
			g.Expect(app.Status.Health.Status).To(Equal(gitopsv1alpha1.HealthHealthy))
		}).WithContext(ctx).Should(Succeed())

		By("stalled: Degraded, with its message")
		setConditions(condition("Ready", "False", "Broken"), condition("Stalled", "True", "Broken"))
		Eventually(func(g Gomega) {
			h := gadgetHealth(g)
			g.Expect(h.Status).To(Equal(gitopsv1alpha1.HealthDegraded))
			g.Expect(h.Message).To(ContainSubstring("Broken"))
		}).WithContext(ctx).Should(Succeed())
	})
})

// creations records the names of the ConfigMaps created in a namespace, in
// the order the API server created them (a watch delivers its events in
// resourceVersion order).
type creations struct {
	mu    sync.Mutex
	added []string
}

func (c *creations) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.added)
}

func (c *creations) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.added = nil
}

// watchCreations watches a namespace's ConfigMaps until the spec ends.
func watchCreations(ctx context.Context, namespace string) *creations {
	GinkgoHelper()
	watcher, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	Expect(err).NotTo(HaveOccurred())
	w, err := watcher.Watch(ctx, &corev1.ConfigMapList{}, client.InNamespace(namespace))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	c := &creations{}
	go func() {
		defer GinkgoRecover()
		for e := range w.ResultChan() {
			if e.Type != watch.Added {
				continue
			}
			if cm, ok := e.Object.(*corev1.ConfigMap); ok {
				c.mu.Lock()
				c.added = append(c.added, cm.Name)
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// hookPhases lists an operation's hooks as "PreSync ConfigMap pre-hook Succeeded".
func hookPhases(op *gitopsv1alpha1.OperationState) []string {
	var out []string
	for _, h := range op.Hooks {
		out = append(out, fmt.Sprintf("%s %s %s %s", h.SyncPhase, h.Kind, h.Name, h.Phase))
	}
	return out
}
