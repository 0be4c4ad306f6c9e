package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/audit"
	"github.com/sluicehq/sluice/test/framework"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/test/simcluster"
)

// Two managers, one per shard, on an API server of their own whose audit
// log says who touched what: each manager's writes, and its reads of named
// objects, stay in its own shard, and each shard's Rollouts and
// Applications are carried out by its manager. Every object of shard X
// lives in a namespace named shard-X-..., so the namespace of a request
// tells its shard; the objects of no shard (shard-none), which only a main
// shard's manager would handle, are touched by neither.
var _ = Describe("Managers of two shards", Ordered, func() {
	var (
		c       client.Client
		cluster *simcluster.Cluster
		server  *gitserver.Server
		shards  = []string{"a", "b"}
		// managers by shard, and the user each runs as.
		managers    = map[string]*framework.Manager{}
		kubeconfigs = map[string]string{}
		userOf      = func(shard string) string { return "sluice-shard-" + shard }
	)

	BeforeAll(func(ctx context.Context) {
		crds, err := simcluster.DefaultCRDPaths()
		Expect(err).NotTo(HaveOccurred())
		cluster, err = simcluster.Start(ctx, simcluster.Options{
			StateDir: GinkgoT().TempDir(), ControlPlaneOnly: true, CRDPaths: crds, Audit: true, Progress: GinkgoWriter,
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(cluster.Stop)
		c, err = client.New(cluster.Config, client.Options{Scheme: scheme.New()})
		Expect(err).NotTo(HaveOccurred())
		server = startGitServer()

		for _, ns := range []string{"shard-a-rollouts", "shard-b-rollouts", "shard-none-rollouts", "shard-a-apps", "shard-b-apps"} {
			Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		}
		kubelet, stop := context.WithCancel(context.Background())
		DeferCleanup(stop)
		for _, ns := range []string{"shard-a-rollouts", "shard-b-rollouts", "shard-none-rollouts", "shard-a-dest", "shard-b-dest"} {
			startFakeKubeletOf(kubelet, c, ns)
		}

		for _, shard := range shards {
			kubeconfig, _, err := cluster.AddUser(userOf(shard), "system:masters")
			Expect(err).NotTo(HaveOccurred())
			kubeconfigs[shard] = kubeconfig
			managers[shard] = startShard(kubeconfig, shard)
		}
	})

	rolloutIn := func(namespace, shard string) *rolloutsv1alpha1.Rollout {
		ro := &rolloutsv1alpha1.Rollout{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "web"},
			Spec: rolloutsv1alpha1.RolloutSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1"}}},
				},
				Strategy: rolloutsv1alpha1.RolloutStrategy{Canary: &rolloutsv1alpha1.CanaryStrategy{}},
			},
		}
		if shard != "" {
			ro.Labels = map[string]string{instance.ShardLabel: shard}
		}
		return ro
	}
	healthyAt := func(ctx context.Context, namespace, image string) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			var ro rolloutsv1alpha1.Rollout
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "web"}, &ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Spec.Template.Spec.Containers[0].Image).To(Equal(image))
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed(), "Rollout %s/web", namespace)
	}
	replicaSetShards := func(ctx context.Context, namespace string) []string {
		GinkgoHelper()
		var rss appsv1.ReplicaSetList
		Expect(c.List(ctx, &rss, client.InNamespace(namespace))).To(Succeed())
		var out []string
		for _, rs := range rss.Items {
			out = append(out, rs.Labels[instance.ShardLabel])
		}
		return out
	}
	synced := func(ctx context.Context, key client.ObjectKey, revision string) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			var app gitopsv1alpha1.Application
			g.Expect(c.Get(ctx, key, &app)).To(Succeed())
			ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady)
			g.Expect(ready).NotTo(BeNil(), "no Ready condition yet")
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), "%s: %s", ready.Reason, ready.Message)
			g.Expect(app.Status.Sync).To(SatisfyAll(HaveField("Status", gitopsv1alpha1.SyncStatusSynced), HaveField("Revision", revision)))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed(), "Application %s", key)
	}

	// moveSetup starts both shards' managers and makes a namespace with a
	// fake kubelet, for a spec that moves a Rollout between them.
	moveSetup := func(ctx context.Context, ns string) {
		GinkgoHelper()
		for _, shard := range shards {
			managers[shard] = startShard(kubeconfigs[shard], shard)
		}
		Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		kubelet, stop := context.WithCancel(context.Background())
		DeferCleanup(stop)
		startFakeKubeletOf(kubelet, c, ns)
	}

	It("lead with a Lease each", func() {
		for _, shard := range shards {
			Eventually(func() (bool, error) { return managers[shard].Leads("sluice.sluice.dev-shard-" + shard) }).
				WithTimeout(time.Minute).Should(BeTrue(), "the manager of shard %s leads its own Lease", shard)
		}
	})

	It("each roll out their own shard's Rollouts, whose ReplicaSets join the shard", func(ctx context.Context) {
		for _, shard := range []string{"a", "b", ""} {
			ns := "shard-none-rollouts"
			if shard != "" {
				ns = "shard-" + shard + "-rollouts"
			}
			Expect(c.Create(ctx, rolloutIn(ns, shard))).To(Succeed())
		}
		for _, shard := range shards {
			ns := "shard-" + shard + "-rollouts"
			healthyAt(ctx, ns, "registry.example/web:1")
			Expect(c.Patch(ctx, &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}},
				client.RawPatch(types.MergePatchType, []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/web:2"}]}}}}`)))).
				To(Succeed())
		}
		for _, shard := range shards {
			ns := "shard-" + shard + "-rollouts"
			healthyAt(ctx, ns, "registry.example/web:2")
			Expect(replicaSetShards(ctx, ns)).To(ConsistOf(shard, shard), "both revisions' ReplicaSets are in shard %s", shard)
		}
		var none rolloutsv1alpha1.Rollout
		Expect(c.Get(ctx, client.ObjectKey{Namespace: "shard-none-rollouts", Name: "web"}, &none)).To(Succeed())
		Expect(none.Status.Phase).To(BeEmpty(), "a Rollout in no shard is no shard manager's")
	})

	It("each sync their own shard's Applications, and what they apply joins the shard without drifting", func(ctx context.Context) {
		revisions := map[string]string{}
		for _, shard := range shards {
			repo, first := pushRepo(server, "shard-"+shard, map[string]string{
				"app/config.yaml": configMapManifest("settings", "one"),
				// Committed without a shard: the Application puts it in its own.
				"app/rollout.yaml": `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: registry.example/web:1}]}
  strategy: {canary: {}}
`})
			app := &gitopsv1alpha1.Application{
				ObjectMeta: metav1.ObjectMeta{Namespace: "shard-" + shard + "-apps", Name: "web",
					Labels: map[string]string{instance.ShardLabel: shard}},
				Spec: gitopsv1alpha1.ApplicationSpec{
					Source:      appDir(repo.URL),
					Destination: gitopsv1alpha1.ApplicationDestination{Namespace: "shard-" + shard + "-dest"},
					SyncPolicy: &gitopsv1alpha1.SyncPolicy{
						Automated:   &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true},
						SyncOptions: []string{"CreateNamespace=true"},
					},
					Interval: metav1.Duration{Duration: time.Second},
				},
			}
			Expect(c.Create(ctx, app)).To(Succeed())
			synced(ctx, client.ObjectKeyFromObject(app), first)
			// A second commit, a second sync.
			revisions[shard] = commitFiles(repo, map[string]string{"app/config.yaml": configMapManifest("settings", "two")})
		}
		for _, shard := range shards {
			key := client.ObjectKey{Namespace: "shard-" + shard + "-apps", Name: "web"}
			dest := "shard-" + shard + "-dest"
			synced(ctx, key, revisions[shard])
			var cm corev1.ConfigMap
			Expect(c.Get(ctx, client.ObjectKey{Namespace: dest, Name: "settings"}, &cm)).To(Succeed())
			Expect(cm.Data).To(HaveKeyWithValue("value", "two"))
			Expect(cm.Labels).To(HaveKeyWithValue(instance.ShardLabel, shard))
			var ro rolloutsv1alpha1.Rollout
			Expect(c.Get(ctx, client.ObjectKey{Namespace: dest, Name: "web"}, &ro)).To(Succeed())
			Expect(ro.Labels).To(HaveKeyWithValue(instance.ShardLabel, shard), "the applied Rollout is in its Application's shard")
			healthyAt(ctx, dest, "registry.example/web:1")
			Expect(replicaSetShards(ctx, dest)).To(ConsistOf(shard))
			// The label is part of what is desired: no perpetual diff.
			Consistently(func(g Gomega) gitopsv1alpha1.SyncStatusCode {
				var app gitopsv1alpha1.Application
				g.Expect(c.Get(ctx, key, &app)).To(Succeed())
				return app.Status.Sync.Status
			}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Equal(gitopsv1alpha1.SyncStatusSynced))
		}
	})

	It("touched only their own shard, as the API server counts it", func() {
		for _, shard := range shards {
			managers[shard].Stop()
		}
		requests, err := audit.Read(cluster.AuditLogPath)
		Expect(err).NotTo(HaveOccurred())

		for _, shard := range shards {
			mine := "shard-" + shard + "-"
			var strays []string
			touched := audit.Tally{}
			for _, r := range requests {
				if r.User != userOf(shard) || !named(r) {
					continue
				}
				place := r.Namespace
				if r.Resource == "namespaces" {
					place = r.Name
				}
				if place == "" || r.Namespace == "default" {
					continue // cluster-scoped kinds no shard owns (CRDs); the manager's own Lease, and the events of its election
				}
				if !strings.HasPrefix(place, mine) {
					strays = append(strays, fmt.Sprintf("%s %s/%s", r.Key(), r.Namespace, r.Name))
					continue
				}
				touched[strings.TrimPrefix(r.Namespace, mine)+": "+r.Key()]++
			}
			Expect(strays).To(BeEmpty(), "the manager of shard %s touched objects outside its shard", shard)
			GinkgoWriter.Printf("shard %s, named requests by its manager:\n%s\n", shard, touched)

			// And it did the shard's work: its Rollouts' ReplicaSets, their
			// status, its Application's sync and what that applied.
			Expect(touched).To(HaveKeyWithValue("rollouts: create replicasets.apps", BeNumerically(">=", 2)))
			Expect(touched).To(HaveKey("rollouts: patch rollouts.argoproj.io/status"))
			Expect(touched).To(HaveKey("apps: patch applications.gitops.sluice.dev/status"))
			Expect(touched).To(HaveKey("dest: patch configmaps"))
			Expect(touched).To(HaveKey("dest: create replicasets.apps"))

			// Its memory holds only its shard: every list and watch of a
			// kind the shard's objects are of asks for the shard alone.
			selectors := map[string][]string{}
			for _, r := range requests {
				if r.User == userOf(shard) && (r.Verb == "list" || r.Verb == "watch") && sharded[r.Resource] {
					selectors[r.Resource] = append(selectors[r.Resource], r.LabelSelector)
				}
			}
			GinkgoWriter.Printf("shard %s, selectors of its lists and watches: %v\n", shard, selectors)
			Expect(selectors).To(HaveKey("rollouts"))
			Expect(selectors).To(HaveKey("replicasets"))
			Expect(selectors).To(HaveKey("analysisruns"))
			Expect(selectors).To(HaveKey("experiments"))
			Expect(selectors).To(HaveKey("jobs"))
			Expect(selectors).To(HaveKey("applications"))
			Expect(selectors).To(HaveKey("configmaps"), "the watches of what its Applications applied")
			for resource, all := range selectors {
				for _, selector := range all {
					Expect(strings.Split(selector, ",")).To(ContainElement(instance.ShardLabel+"="+shard),
						"a %s list or watch by the manager of shard %s", resource, shard)
				}
			}
		}
	})

	It("hand a Rollout over when it is relabelled: the new shard takes its ReplicaSets and carries on", func(ctx context.Context) {
		const ns = "moving"
		moveSetup(ctx, ns)
		Expect(c.Create(ctx, rolloutIn(ns, "a"))).To(Succeed())
		healthyAt(ctx, ns, "registry.example/web:1")
		Expect(replicaSetShards(ctx, ns)).To(ConsistOf("a"))

		// Moved, and a new version at once.
		Expect(c.Patch(ctx, &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"`+instance.ShardLabel+`":"b"}},`+
				`"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/web:2"}]}}}}`)))).To(Succeed())
		healthyAt(ctx, ns, "registry.example/web:2")
		Eventually(func() []string { return replicaSetShards(ctx, ns) }).WithContext(ctx).
			Should(ConsistOf("b", "b"), "one ReplicaSet per revision, both now in shard b")
	})

	It("hand a Rollout over mid-analysis: the new shard takes the running AnalysisRun and lets it finish", func(ctx context.Context) {
		const ns = "moving-analysis"
		moveSetup(ctx, ns)
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"ok":true}`))
		}))
		DeferCleanup(web.Close)
		// Long enough to move the Rollout while it measures: ten
		// measurements two seconds apart.
		Expect(c.Create(ctx, &rolloutsv1alpha1.AnalysisTemplate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gate"},
			Spec: rolloutsv1alpha1.AnalysisTemplateSpec{Metrics: []rolloutsv1alpha1.Metric{{
				Name: "ok", Count: ptr.To(intstr.FromInt32(10)), Interval: "2s", SuccessCondition: "result == true",
				Provider: rolloutsv1alpha1.MetricProvider{Web: &rolloutsv1alpha1.WebMetric{URL: web.URL, JSONPath: "{$.ok}"}},
			}}},
		})).To(Succeed())
		ro := rolloutIn(ns, "a")
		ro.Spec.Strategy.Canary.Steps = []rolloutsv1alpha1.CanaryStep{
			{SetWeight: ptr.To[int32](50)},
			{Analysis: &rolloutsv1alpha1.RolloutAnalysis{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "gate"}}}},
		}
		Expect(c.Create(ctx, ro)).To(Succeed())
		healthyAt(ctx, ns, "registry.example/web:1")
		Expect(c.Patch(ctx, &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}},
			client.RawPatch(types.MergePatchType, []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/web:2"}]}}}}`)))).
			To(Succeed())

		runs := func(g Gomega) []rolloutsv1alpha1.AnalysisRun {
			var list rolloutsv1alpha1.AnalysisRunList
			g.Expect(c.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			return list.Items
		}
		var measuring rolloutsv1alpha1.AnalysisRun
		Eventually(func(g Gomega) {
			all := runs(g)
			g.Expect(all).To(HaveLen(1))
			measuring = all[0]
			g.Expect(measuring.Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseRunning))
			g.Expect(measuring.Status.MetricResults).NotTo(BeEmpty())
			g.Expect(measuring.Status.MetricResults[0].Count).To(BeNumerically(">=", 1))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed(), "shard a measures the step's analysis")
		Expect(measuring.Labels).To(HaveKeyWithValue(instance.ShardLabel, "a"))

		Expect(c.Patch(ctx, &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"`+instance.ShardLabel+`":"b"}}}`)))).To(Succeed())

		healthyAt(ctx, ns, "registry.example/web:2")
		all := runs(Default)
		Expect(all).To(HaveLen(1), "the run was taken over, not started again")
		Expect(all[0].UID).To(Equal(measuring.UID))
		Expect(all[0].Labels).To(HaveKeyWithValue(instance.ShardLabel, "b"))
		Expect(all[0].Status.Phase).To(Equal(rolloutsv1alpha1.AnalysisPhaseSuccessful))
		Expect(all[0].Status.MetricResults[0].Count).To(BeEquivalentTo(10), "its ten measurements, taken across both shards")
		Expect(replicaSetShards(ctx, ns)).To(ConsistOf("b", "b"))
	})
})

// startShard runs the manager binary for one shard.
func startShard(kubeconfig, shard string) *framework.Manager {
	GinkgoHelper()
	return framework.StartManager(kubeconfig,
		"--watch-label-selector="+instance.ShardLabel+"="+shard,
		"--leader-election-namespace=default", "--notifications=false",
		"--git-cache-dir="+GinkgoT().TempDir())
}

// sharded are the resources whose objects are each in one shard: the kinds
// Sluice serves, the children they make, and what Applications apply (the
// spec's Applications apply ConfigMaps and Rollouts).
var sharded = map[string]bool{
	"rollouts": true, "experiments": true, "analysisruns": true, "replicasets": true, "jobs": true,
	"applications": true, "kustomizations": true, "gitrepositories": true, "configmaps": true,
}

// named reports whether a request names one object to write or read:
// create, update, patch, delete or get. Lists and watches name none; the
// manager's cache makes those, with the shard's selector.
func named(r audit.Request) bool {
	switch r.Verb {
	case "create", "update", "patch", "delete", "get":
		return r.Resource != "" && !strings.HasPrefix(r.Resource, "/")
	}
	return false
}
