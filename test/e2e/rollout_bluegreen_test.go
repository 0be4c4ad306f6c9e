package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/promtest"
)

// Blue is the revision the active Service selects before an update, green
// the new one. Analyses read an error rate from a real Prometheus.
var _ = Describe("A blue-green Rollout on the simulated cluster", Ordered, func() {
	var (
		ns       string
		exporter *promtest.Exporter
		prom     *promtest.Prometheus
	)

	BeforeAll(func(ctx context.Context) {
		exporter, prom = startPrometheus(ctx)
		startManager("--leader-elect=false")
	})

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bluegreen-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		// Two measurements 2 s apart, and a run fails only at its second
		// failure: every run stays Running long enough to watch the
		// rollout while it decides.
		Expect(k8sClient.Create(ctx, errorRateTemplate(ns, prom, func(m *rolloutsv1alpha1.Metric) {
			m.FailureLimit = ptr.To(intstr.FromInt(1))
		}))).To(Succeed())
	})

	// bluegreen is a 3-replica Rollout behind Services <name> and
	// <name>-preview, created here, whose error rate is errorRate.
	bluegreen := func(ctx context.Context, name string, errorRate float64, edit func(*rolloutsv1alpha1.BlueGreenStrategy)) *rolloutsv1alpha1.Rollout {
		GinkgoHelper()
		// Scraped before any run asks: a first query finding nothing would
		// end in an error measurement, which Argo retries only 10 s later.
		setScraped(ctx, exporter, prom, fmt.Sprintf(`demo_error_rate{app=%q}`, name), errorRate)
		createServices(ctx, ns, name, name, name+"-preview")
		return builders.Rollout(name).Namespace(ns).Replicas(3).Image("registry.example/app:v1").
			BlueGreen(name, name+"-preview").Edit(func(ro *rolloutsv1alpha1.Rollout) { edit(ro.Spec.Strategy.BlueGreen) }).Obj()
	}
	// gate is an analysis of the error rate of app.
	gate := func(app string) *rolloutsv1alpha1.RolloutAnalysis {
		return &rolloutsv1alpha1.RolloutAnalysis{
			Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "error-rate"}},
			Args:      []rolloutsv1alpha1.AnalysisRunArgument{{Name: "app", Value: app}},
		}
	}

	It("runs the seed's blue-green strategy as written", func(ctx context.Context) {
		seed := seedRollout("rollout-bluegreen.yaml")
		bg := seed.Spec.Strategy.BlueGreen
		Expect(bg).NotTo(BeNil())
		createServices(ctx, ns, seed.Name, bg.ActiveService, bg.PreviewService)
		ro := builders.Rollout(seed.Name).Namespace(ns).Replicas(*seed.Spec.Replicas).Image("registry.example/app:v1").
			Edit(func(ro *rolloutsv1alpha1.Rollout) { ro.Spec.Strategy = seed.Spec.Strategy }).Obj()
		blue := deployBlue(ctx, ro)
		updateImage(ctx, ro)

		By("green comes up behind the preview Service and waits for a person")
		var green string
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			green = ro.Status.CurrentPodHash
			g.Expect(green).NotTo(Or(BeEmpty(), Equal(blue)))
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused), ro.Status.Message)
			g.Expect(ro.Status.ControllerPause).To(BeTrue())
			g.Expect(ro.Status.PauseConditions).To(ContainElement(
				HaveField("Reason", rolloutsv1alpha1.PauseReasonBlueGreenPause)))
			g.Expect(selectedHash(ctx, g, ro, bg.PreviewService)).To(Equal(green))
			g.Expect(selectedHash(ctx, g, ro, bg.ActiveService)).To(Equal(blue))
			g.Expect(ro.Status.BlueGreen.PreviewSelector).To(Equal(green))
			g.Expect(ro.Status.BlueGreen.ActiveSelector).To(Equal(blue))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 3, "registry.example/app:v2": 3}))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(selectedHash(ctx, g, ro, bg.ActiveService)).To(Equal(blue))
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhasePaused))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())

		By("kubectl argo rollouts promote: the active Service switches, blue is kept for scaleDownDelaySeconds")
		patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(green))
			g.Expect(selectedHash(ctx, g, ro, bg.ActiveService)).To(Equal(green))
			g.Expect(ro.Status.BlueGreen.ActiveSelector).To(Equal(green))
			old := replicaSetOf(ctx, g, ns, blue)
			g.Expect(old.Annotations).To(HaveKey(rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey))
			g.Expect(*old.Spec.Replicas).To(Equal(int32(3)), "blue keeps its pods, a quick way back")
		}).WithContext(ctx).Should(Succeed())
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(ContainElements(
			fmt.Sprintf("SwitchService: Switched selector for service '%s' from '%s' to '%s'", bg.ActiveService, blue, green),
			HavePrefix("RolloutCompleted: Rollout completed update to revision 2"),
		))

		// The seed leaves scaleDownDelaySeconds at Argo's default, 30 s.
		Eventually(func(g Gomega) {
			g.Expect(*replicaSetOf(ctx, g, ns, blue).Spec.Replicas).To(BeZero())
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v2": 3}))
		}).WithContext(ctx).WithTimeout(45 * time.Second).Should(Succeed())
	})

	It("aborts on a failing prePromotionAnalysis with the active Service still on blue, and analyses again on retry", func(ctx context.Context) {
		ro := bluegreen(ctx, "pre-fails", 0.5, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.PrePromotionAnalysis = gate("pre-fails")
			bg.AbortScaleDownDelaySeconds = ptr.To[int32](1)
		})
		blue := deployBlue(ctx, ro)
		active := selectorHistory(ctx, ns, "pre-fails")
		updateImage(ctx, ro)

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(gateRun(ctx, g, ro, "pre").Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
			g.Expect(selectedHash(ctx, g, ro, "pre-fails")).To(Equal(blue), "green waits for its analysis")
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())

		var green string
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			green = ro.Status.CurrentPodHash
			g.Expect(gateRun(ctx, g, ro, "pre").Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseFailed))
			g.Expect(ro.Status.Abort).To(BeTrue())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded))
			g.Expect(ro.Status.Message).To(HavePrefix("RolloutAborted: "))
			g.Expect(ro.Status.StableRS).To(Equal(blue))
			g.Expect(*replicaSetOf(ctx, g, ns, green).Spec.Replicas).To(BeZero(), "green is scaled down after abortScaleDownDelaySeconds")
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{"registry.example/app:v1": 3}))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(active()).To(Equal([]string{blue}), "the active Service never left blue")
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(
			ContainElement(HavePrefix("AnalysisRunFailed: ")))

		By("kubectl argo rollouts retry, once the errors are fixed: the analysis runs again")
		setScraped(ctx, exporter, prom, `demo_error_rate{app="pre-fails"}`, 0.01)
		failed := fmt.Sprintf("pre-fails-%s-2-pre", green)
		patchStatus(ctx, ro, `{"status":{"abort":false}}`)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(green))
			g.Expect(selectedHash(ctx, g, ro, "pre-fails")).To(Equal(green))
			var old, retried rolloutsv1alpha1.AnalysisRun
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: failed}, &old)).To(Succeed())
			g.Expect(old.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseFailed), "kept, for the record")
			g.Expect(old.Annotations).To(HaveKeyWithValue(plan.SupersededAnnotation, "true"))
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: failed + ".1"}, &retried)).To(Succeed())
			g.Expect(retried.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
	})

	It("switches back to blue when postPromotionAnalysis fails", func(ctx context.Context) {
		ro := bluegreen(ctx, "post-fails", 0.5, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.PostPromotionAnalysis = gate("post-fails")
		})
		blue := deployBlue(ctx, ro)
		active := selectorHistory(ctx, ns, "post-fails")
		updateImage(ctx, ro)

		By("green serves while its analysis runs, blue still the stable one at full size")
		var green string
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			green = ro.Status.CurrentPodHash
			g.Expect(gateRun(ctx, g, ro, "post").Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
			g.Expect(selectedHash(ctx, g, ro, "post-fails")).To(Equal(green))
			g.Expect(ro.Status.StableRS).To(Equal(blue))
			g.Expect(replicaSetOf(ctx, g, ns, blue).Status.AvailableReplicas).To(Equal(int32(3)))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())

		By("the analysis fails: the active Service goes back to blue")
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(gateRun(ctx, g, ro, "post").Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseFailed))
			g.Expect(ro.Status.Abort).To(BeTrue())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseDegraded), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(blue))
			g.Expect(ro.Status.BlueGreen.ActiveSelector).To(Equal(blue))
			g.Expect(selectedHash(ctx, g, ro, "post-fails")).To(Equal(blue))
			rs := replicaSetOf(ctx, g, ns, blue)
			g.Expect(*rs.Spec.Replicas).To(Equal(int32(3)))
			g.Expect(rs.Status.AvailableReplicas).To(Equal(int32(3)))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(active()).To(Equal([]string{blue, green, blue}))
		Eventually(rolloutEventNotes).WithContext(ctx).WithArguments(ns).Should(ContainElements(
			fmt.Sprintf("SwitchService: Switched selector for service 'post-fails' from '%s' to '%s'", blue, green),
			fmt.Sprintf("SwitchService: Switched selector for service 'post-fails' from '%s' to '%s'", green, blue),
		))
	})

	It("promotes after a passing prePromotionAnalysis without a pause", func(ctx context.Context) {
		ro := bluegreen(ctx, "pre-passes", 0.01, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.PrePromotionAnalysis = gate("pre-passes")
		})
		blue := deployBlue(ctx, ro)
		active := selectorHistory(ctx, ns, "pre-passes")
		updateImage(ctx, ro)

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(gateRun(ctx, g, ro, "pre").Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
			g.Expect(selectedHash(ctx, g, ro, "pre-passes")).To(Equal(blue), "green waits for its analysis")
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())

		var green string
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			green = ro.Status.CurrentPodHash
			g.Expect(gateRun(ctx, g, ro, "pre").Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(green))
			g.Expect(selectedHash(ctx, g, ro, "pre-passes")).To(Equal(green))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(active()).To(Equal([]string{blue, green}))
		Expect(ro.Status.PauseConditions).To(BeEmpty())
		Expect(rolloutEventNotes(ctx, ns)).NotTo(ContainElement(HavePrefix("RolloutPaused: ")))
	})
})

// seedRollout reads a Rollout of examples/seed as written.
func seedRollout(file string) *rolloutsv1alpha1.Rollout {
	GinkgoHelper()
	root, err := repo.Root()
	Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(root, "examples", "seed", file))
	Expect(err).NotTo(HaveOccurred())
	ro := &rolloutsv1alpha1.Rollout{}
	Expect(yaml.UnmarshalStrict(data, ro)).To(Succeed())
	return ro
}

// createServices creates Services selecting app=<app>, as users write them
// before a Rollout pins them to a revision.
func createServices(ctx context.Context, ns, app string, names ...string) {
	GinkgoHelper()
	for _, name := range names {
		Expect(k8sClient.Create(ctx, builders.Service(ns, name, app))).To(Succeed())
	}
}

// deployBlue creates a blue-green Rollout and returns the hash of its first
// revision, which goes straight to both Services with no pause.
func deployBlue(ctx context.Context, ro *rolloutsv1alpha1.Rollout) string {
	GinkgoHelper()
	Expect(k8sClient.Create(ctx, ro)).To(Succeed())
	expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
	bg := ro.Spec.Strategy.BlueGreen
	var blue string
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		blue = ro.Status.CurrentPodHash
		g.Expect(blue).NotTo(BeEmpty())
		g.Expect(ro.Status.StableRS).To(Equal(blue))
		g.Expect(ro.Status.PauseConditions).To(BeEmpty())
		g.Expect(selectedHash(ctx, g, ro, bg.ActiveService)).To(Equal(blue))
		g.Expect(ro.Status.BlueGreen.ActiveSelector).To(Equal(blue))
		if bg.PreviewService != "" {
			g.Expect(selectedHash(ctx, g, ro, bg.PreviewService)).To(Equal(blue))
			g.Expect(ro.Status.BlueGreen.PreviewSelector).To(Equal(blue))
		}
		g.Expect(podsByImage(ctx, g, ro.Namespace)).To(Equal(map[string]int{"registry.example/app:v1": int(*ro.Spec.Replicas)}))
	}).WithContext(ctx).Should(Succeed())
	return blue
}

// updateImage changes the Rollout's image to registry.example/app:v2.
func updateImage(ctx context.Context, ro *rolloutsv1alpha1.Rollout) {
	GinkgoHelper()
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
	ro.Spec.Template.Spec.Containers[0].Image = "registry.example/app:v2"
	Expect(k8sClient.Update(ctx, ro)).To(Succeed())
}

// selectedHash is the revision a Service selects, which must be pinned by
// the Rollout and marked as managed by it.
func selectedHash(ctx context.Context, g Gomega, ro *rolloutsv1alpha1.Rollout, name string) string {
	var svc corev1.Service
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: name}, &svc)).To(Succeed())
	g.Expect(svc.Annotations).To(HaveKeyWithValue(rolloutsv1alpha1.ManagedByRolloutsKey, ro.Name), "Service %s", name)
	return svc.Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
}

// selectorHistory watches a Service from now on and returns a function
// listing, in order, every revision its selector pinned: a watch sees each
// write, where polling could miss a brief switch.
func selectorHistory(ctx context.Context, ns, name string) func() []string {
	GinkgoHelper()
	clientset, err := kubernetes.NewForConfig(cluster.Config)
	Expect(err).NotTo(HaveOccurred())
	w, err := clientset.CoreV1().Services(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	var (
		mu     sync.Mutex
		hashes []string
	)
	go func() {
		for event := range w.ResultChan() {
			svc, ok := event.Object.(*corev1.Service)
			if !ok {
				continue
			}
			mu.Lock()
			if hash := svc.Spec.Selector[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]; len(hashes) == 0 || hashes[len(hashes)-1] != hash {
				hashes = append(hashes, hash)
			}
			mu.Unlock()
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(hashes)
	}
}

// replicaSetOf is the namespace's ReplicaSet of one revision.
func replicaSetOf(ctx context.Context, g Gomega, ns, hash string) *appsv1.ReplicaSet {
	var rss appsv1.ReplicaSetList
	g.Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns), client.MatchingLabels{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: hash})).To(Succeed())
	g.Expect(rss.Items).To(HaveLen(1), "ReplicaSets of revision %s", hash)
	return &rss.Items[0]
}

// gateRun is the current revision's (revision 2's) pre- or post-promotion
// AnalysisRun ("pre" or "post"), under Argo's name and labels.
func gateRun(ctx context.Context, g Gomega, ro *rolloutsv1alpha1.Rollout, infix string) *rolloutsv1alpha1.AnalysisRun {
	label := map[string]string{"pre": rolloutsv1alpha1.RolloutTypePrePromotionLabel, "post": rolloutsv1alpha1.RolloutTypePostPromotionLabel}[infix]
	var run rolloutsv1alpha1.AnalysisRun
	name := fmt.Sprintf("%s-%s-2-%s", ro.Name, ro.Status.CurrentPodHash, infix)
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: name}, &run)).To(Succeed())
	g.Expect(run.Labels).To(HaveKeyWithValue(rolloutsv1alpha1.RolloutTypeLabel, label))
	g.Expect(run.Labels).To(HaveKeyWithValue(rolloutsv1alpha1.DefaultRolloutUniqueLabelKey, ro.Status.CurrentPodHash))
	return &run
}
