package e2e

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/simcluster"
)

var _ = Describe("A canary Rollout on the simulated cluster", Ordered, func() {
	var ns string

	BeforeAll(func() {
		startManager("--leader-elect=false")
	})

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "canary-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
	})

	It("runs the seed's canary to completion: 20%, pause, 50%, pause, 100%", func(ctx context.Context) {
		ro := builders.Rollout("my-app").Namespace(ns).Replicas(5).Image("registry.example/app:v1").Canary(
			builders.SetWeight(20), builders.PauseFor(time.Second),
			builders.SetWeight(50), builders.PauseFor(2*time.Second),
			builders.SetWeight(100),
		).Obj()
		ro = deployAndUpdate(ctx, ro)

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
			g.Expect(*ro.Status.CurrentStepIndex).To(Equal(int32(5)))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v2": 5}))
		}).WithContext(ctx).Should(Succeed())

		// The events API's recorder keeps one Event, with a series count,
		// for events of one reconcile that share a reason: a scale-down
		// planned with a scale-up shows as the scale-up alone.
		By("Argo's events: the new revision, each step completed, the pauses, the scaling, completion")
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(SatisfyAll(
			ContainElements(
				"RolloutUpdated: Rollout updated to revision 1",
				HavePrefix("RolloutCompleted: Rollout completed update to revision 1 ("),
				"RolloutUpdated: Rollout updated to revision 2",
				"RolloutStepCompleted: Rollout step 1/5 completed (setWeight: 20)",
				"RolloutPaused: Rollout is paused (CanaryPauseStep)",
				"RolloutStepCompleted: Rollout step 2/5 completed (pause: 1s)",
				"RolloutResumed: Rollout is resumed",
				"RolloutStepCompleted: Rollout step 3/5 completed (setWeight: 50)",
				"RolloutStepCompleted: Rollout step 4/5 completed (pause: 2s)",
				"RolloutStepCompleted: Rollout step 5/5 completed (setWeight: 100)",
				HavePrefix("ScalingReplicaSet: Scaled up ReplicaSet my-app-"),
				MatchRegexp(`^RolloutCompleted: Rollout completed update to revision 2 \(\w+\): Completed all 5 canary steps$`),
			),
			HaveEach(MatchRegexp(`^(RolloutUpdated|RolloutStepCompleted|RolloutPaused|RolloutResumed|ScalingReplicaSet|RolloutCompleted): `)),
		))
	})

	It("waits at an indefinite pause until promoted the way the plugin promotes", func(ctx context.Context) {
		ro := builders.Rollout("paused").Namespace(ns).Replicas(4).Image("registry.example/app:v1").
			Canary(builders.SetWeight(25), builders.Pause(), builders.SetWeight(100)).Obj()
		ro = deployAndUpdate(ctx, ro)

		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
		Eventually(func(g Gomega) {
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 3, "registry.example/app:v2": 1}))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())

		By("kubectl argo rollouts promote: a merge patch clearing status.pauseConditions")
		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v2": 4}))
		}).WithContext(ctx).Should(Succeed())
	})

	It("returns to stable when aborted in the middle", func(ctx context.Context) {
		ro := builders.Rollout("aborted").Namespace(ns).Replicas(4).Image("registry.example/app:v1").
			Canary(builders.SetWeight(50), builders.Pause(), builders.SetWeight(100)).Obj()
		ro = deployAndUpdate(ctx, ro)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)

		By("kubectl argo rollouts abort: a merge patch setting status.abort")
		patchStatus(ctx, ro, `{"status":{"abort":true}}`)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			g.Expect(ro.Status.Message).To(HavePrefix("RolloutAborted: "))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 4}))
			var rss appsv1.ReplicaSetList
			g.Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
			for _, rs := range rss.Items {
				if rs.Spec.Template.Spec.Containers[0].Image == "registry.example/app:v1" {
					g.Expect(rs.Status.AvailableReplicas).To(Equal(int32(4)), "the stable ReplicaSet is back at full size")
				} else {
					g.Expect(*rs.Spec.Replicas).To(BeZero(), "the canary ReplicaSet is scaled down")
				}
			}
		}).WithContext(ctx).Should(Succeed())
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(
			ContainElement(HavePrefix("RolloutAborted: Rollout aborted update to revision 2")))
	})

	It("aborts by itself past progressDeadlineSeconds with progressDeadlineAbort", func(ctx context.Context) {
		ro := builders.Rollout("stuck").Namespace(ns).Replicas(2).Image("registry.example/app:v1").
			Canary(builders.SetWeight(50), builders.SetWeight(100)).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](3)
				ro.Spec.ProgressDeadlineAbort = true
			}).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		ro.Spec.Template.Spec.Containers[0].Image = simcluster.NeverReadyImage
		Expect(k8sClient.Update(ctx, ro)).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Abort).To(BeTrue(), "status: %+v", ro.Status)
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 2}))
		}).WithContext(ctx).Should(Succeed())
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(
			ContainElement(HavePrefix("ProgressDeadlineExceeded: ")))
	})

	It("takes over a Deployment through workloadRef and scales it down progressively", func(ctx context.Context) {
		deploy := deployment(ns, "legacy", 3, "registry.example/legacy:v1")
		Expect(k8sClient.Create(ctx, deploy)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/legacy:v1": 3}))
		}).WithContext(ctx).Should(Succeed())

		// Written as users write it: no template, no selector. (A typed Go
		// client would send an empty template, which the CRD rejects.)
		manifest := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal([]byte(`
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: legacy
spec:
  replicas: 3
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: legacy
    scaleDown: progressively
  strategy:
    canary:
      steps:
      - setWeight: 50
`), &manifest.Object)).To(Succeed())
		manifest.SetNamespace(ns)
		Expect(k8sClient.Create(ctx, manifest)).To(Succeed())
		ro := &rolloutsv1alpha1.Rollout{}
		ro.Namespace, ro.Name = ns, "legacy"

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(deploy), deploy)).To(Succeed())
			g.Expect(*deploy.Spec.Replicas).To(BeZero())
			g.Expect(deploy.Status.Replicas).To(BeZero())
			var rss appsv1.ReplicaSetList
			g.Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns), client.HasLabels{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey})).To(Succeed())
			g.Expect(rss.Items).To(HaveLen(1))
			g.Expect(rss.Items[0].Status.AvailableReplicas).To(Equal(int32(3)))
		}).WithContext(ctx).Should(Succeed())
	})

	It("replaces every pod on restart, the way kubectl argo rollouts restart asks", func(ctx context.Context) {
		ro := builders.Rollout("restarted").Namespace(ns).Replicas(3).Image("registry.example/app:v1").
			Canary(builders.SetWeight(50)).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		before := podNames(ctx, ns)
		Expect(before).To(HaveLen(3))

		// restartAt has whole seconds: one second after the pods were
		// created makes every one of them older (and lies in the future,
		// which the controller waits for).
		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
		restartAt := pods.Items[0].CreationTimestamp
		for _, p := range pods.Items {
			if restartAt.Before(&p.CreationTimestamp) {
				restartAt = p.CreationTimestamp
			}
		}
		restartAt.Time = restartAt.Add(time.Second)
		patch := fmt.Sprintf(`{"spec":{"restartAt":%q}}`, restartAt.UTC().Format(time.RFC3339))
		Expect(k8sClient.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.RestartedAt).NotTo(BeNil())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 3}))
			g.Expect(podNames(ctx, ns)).NotTo(ContainElements(before[0], before[1], before[2]))
		}).WithContext(ctx).Should(Succeed())
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(
			ContainElement(HavePrefix("RolloutRestarted: ")))
	})

	It("labels canary and stable pods with canaryMetadata and stableMetadata, relabelling on promotion", func(ctx context.Context) {
		ro := builders.Rollout("labelled").Namespace(ns).Replicas(2).Image("registry.example/app:v1").
			Canary(builders.SetWeight(50), builders.Pause()).
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.Canary.CanaryMetadata = &rolloutsv1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}}
				ro.Spec.Strategy.Canary.StableMetadata = &rolloutsv1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "stable"}}
			}).Obj()
		ro = deployAndUpdate(ctx, ro)
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhasePaused)
		var canaryPods []string
		Eventually(func(g Gomega) {
			roles := podRoles(ctx, g, ns)
			g.Expect(roles).To(Equal(map[string]string{"registry.example/app:v1": "stable", "registry.example/app:v2": "canary"}))
			canaryPods = podNamesWithImage(ctx, g, ns, "registry.example/app:v2")
		}).WithContext(ctx).Should(Succeed())

		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy))
			g.Expect(podRoles(ctx, g, ns)).To(Equal(map[string]string{"registry.example/app:v2": "stable"}))
			g.Expect(podNamesWithImage(ctx, g, ns, "registry.example/app:v2")).To(ContainElements(canaryPods),
				"the canary's pods were relabelled, not replaced")
		}).WithContext(ctx).Should(Succeed())
	})

	It("takes back its ReplicaSets after being deleted with them orphaned and applied again", func(ctx context.Context) {
		ro := builders.Rollout("phoenix").Namespace(ns).Replicas(2).Image("registry.example/app:v1").
			Canary(builders.SetWeight(50)).Obj()
		Expect(k8sClient.Create(ctx, ro.DeepCopy())).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		var before appsv1.ReplicaSetList
		Expect(k8sClient.List(ctx, &before, client.InNamespace(ns))).To(Succeed())
		Expect(before.Items).To(HaveLen(1))
		pods := podNames(ctx, ns)

		By("kubectl delete rollout --cascade=orphan")
		Expect(k8sClient.Delete(ctx, ro.DeepCopy(), client.PropagationPolicy(metav1.DeletePropagationOrphan))).To(Succeed())
		Eventually(func(g Gomega) {
			var rs appsv1.ReplicaSet
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(&before.Items[0]), &rs)).To(Succeed())
			g.Expect(metav1.GetControllerOf(&rs)).To(BeNil(), "the garbage collector orphans it")
			err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), &rolloutsv1alpha1.Rollout{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the Rollout is gone once its orphan finalizer is done")
		}).WithContext(ctx).Should(Succeed())

		By("applying it again")
		Expect(k8sClient.Create(ctx, ro.DeepCopy())).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		var after appsv1.ReplicaSetList
		Expect(k8sClient.List(ctx, &after, client.InNamespace(ns))).To(Succeed())
		Expect(after.Items).To(HaveLen(1))
		Expect(after.Items[0].UID).To(Equal(before.Items[0].UID), "the same ReplicaSet, not a new one")
		Expect(podNames(ctx, ns)).To(ConsistOf(pods), "the same pods, never restarted")
	})
})

// podRoles maps each image of a namespace's running pods to their "role"
// label; pods of one image that disagree show as "mixed".
func podRoles(ctx context.Context, g Gomega, ns string) map[string]string {
	var pods corev1.PodList
	g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
	roles := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		image, role := p.Spec.Containers[0].Image, p.Labels["role"]
		if prev, seen := roles[image]; seen && prev != role {
			role = "mixed"
		}
		roles[image] = role
	}
	return roles
}

func podNamesWithImage(ctx context.Context, g Gomega, ns, image string) []string {
	var pods corev1.PodList
	g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
	var names []string
	for _, p := range pods.Items {
		if p.Spec.Containers[0].Image == image && p.DeletionTimestamp == nil {
			names = append(names, p.Name)
		}
	}
	return names
}

// podNames lists the names of a namespace's pods.
func podNames(ctx context.Context, ns string) []string {
	GinkgoHelper()
	var pods corev1.PodList
	Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}

// deployAndUpdate creates a Rollout, waits for its first revision to be
// Healthy, then changes the image to registry.example/app:v2.
func deployAndUpdate(ctx context.Context, ro *rolloutsv1alpha1.Rollout) *rolloutsv1alpha1.Rollout {
	GinkgoHelper()
	Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
	ro.Spec.Template.Spec.Containers[0].Image = "registry.example/app:v2"
	Expect(k8sClient.Update(ctx, ro)).To(Succeed())
	return ro
}

func expectPhase(ctx context.Context, ro *rolloutsv1alpha1.Rollout, phase rolloutsv1alpha1.RolloutPhase) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var got rolloutsv1alpha1.Rollout
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), &got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(itoa(got.Generation)))
		g.Expect(got.Status.Phase).To(Equal(phase), "message: %s", got.Status.Message)
	}).WithContext(ctx).Should(Succeed())
}

func patchStatus(ctx context.Context, ro *rolloutsv1alpha1.Rollout, patch string) {
	GinkgoHelper()
	Expect(k8sClient.Status().Patch(ctx, ro, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())
}

// podsByImage counts the namespace's Ready pods by image.
func podsByImage(ctx context.Context, g Gomega, ns string) map[string]int {
	var pods corev1.PodList
	g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
	out := map[string]int{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && podReady(p) {
			out[p.Spec.Containers[0].Image]++
		}
	}
	return out
}

// rolloutEventNotes lists the "reason: note" of every event Sluice recorded
// on the namespace's Rollouts.
func rolloutEventNotes(ctx context.Context, ns string) ([]string, error) {
	var events eventsv1.EventList
	if err := k8sClient.List(ctx, &events, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	var notes []string
	for _, e := range events.Items {
		if e.Regarding.Kind == "Rollout" {
			notes = append(notes, e.Reason+": "+e.Note)
		}
	}
	return notes, nil
}
