package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/test/framework"
)

// The timings the replicas run with: the manager's documented defaults
// (cmd/sluice), spelled out so the bounds below use the numbers the
// managers were given. The Lease they compete for is named after each
// spec's namespace and lives in the chart's namespace, where the chart's
// Role lets the manager keep Leases.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// attemptSpacing is the longest client-go waits between two attempts to
// take a Lease: retryPeriod plus up to JitterFactor retryPeriods of jitter.
var attemptSpacing = time.Duration((1 + leaderelection.JitterFactor) * float64(retryPeriod))

// killedTakeover bounds how long after a leader's death the standby takes
// its Lease. The standby notices the dead leader's last renewal at its next
// attempt (up to attemptSpacing later), counts leaseDuration from then, and
// takes the Lease at its first attempt after that (up to attemptSpacing
// more): leaseDuration + 2 attemptSpacings at worst, 23.8 s with the
// defaults. Five seconds more cover API calls on a two-core machine that
// also runs the control plane, kwok and both managers.
var killedTakeover = leaseDuration + 2*attemptSpacing + 5*time.Second

// handedOverTakeover bounds a graceful handover: sooner than any replica
// could take a Lease that was not released. A standby counts leaseDuration
// from when it saw the last renewal, and the leader renews every
// retryPeriod, so an unreleased Lease changes hands no sooner than
// leaseDuration - retryPeriod (13 s) after the leader stops. A released one
// is taken at the standby's next attempt, within attemptSpacing (4.4 s).
var handedOverTakeover = leaseDuration - retryPeriod

// Two replicas of the manager share a Lease; the leader dies in the middle
// of a rollout and the other finishes it. Each spec records every version
// of the namespace's ReplicaSets, Services and Rollout, and checks on that
// history, once the rollout is over:
//
//   - no revision had a second ReplicaSet, side by side or one after the
//     other (framework.DuplicateRevisions);
//   - a blue-green active Service, at every version from the one that
//     first pinned it, selected a ReplicaSet with all spec.replicas pods
//     available: it switched only to a fully available ReplicaSet, as
//     Argo's does, and what it served was never scaled down under it; and
//     it switched to the new revision only after the promote. The preview
//     Service is left out: it follows a new revision from its first pod,
//     available or not, as Argo's does;
//   - a canary's stable and canary Services, at every version, selected a
//     ReplicaSet with at least one available pod (Argo's rule for them:
//     never a Service with nothing behind it), and the stable Service left
//     the stable revision only once every step was done.
var _ = Describe("High availability: a standby manager takes over a rollout", Ordered, func() {
	var (
		ns              string
		haLease         string
		history         *framework.History
		leader, standby *framework.Manager
		previousHolder  string
		v1, v2          = "registry.example/app:v1", "registry.example/app:v2"
	)

	BeforeEach(func(ctx context.Context) {
		namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "ha-"}}
		Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
		ns = namespace.Name
		haLease = "sluice-" + ns
		history = framework.RecordHistory(ctx, cluster.Config, ns)
		args := []string{
			"--leader-election-id=" + haLease,
			"--leader-election-lease-duration=" + leaseDuration.String(),
			"--leader-election-renew-deadline=" + renewDeadline.String(),
			"--leader-election-retry-period=" + retryPeriod.String(),
		}
		replicas := []*framework.Manager{
			startManager(args...),
			startManager(args...),
		}
		Eventually(func(g Gomega) {
			var leading []*framework.Manager
			for _, m := range replicas {
				leads, err := m.Leads(haLease)
				g.Expect(err).NotTo(HaveOccurred())
				if leads {
					leading = append(leading, m)
				}
			}
			g.Expect(leading).To(HaveLen(1), "one replica leads")
			leader = leading[0]
			standby = replicas[0]
			if standby == leader {
				standby = replicas[1]
			}
			previousHolder = ptr.Deref(lease(ctx, g, haLease).Spec.HolderIdentity, "")
			g.Expect(previousHolder).NotTo(BeEmpty())
		}).WithContext(ctx).Should(Succeed())
	})

	// takenOver waits for the standby to hold the Lease the leader held,
	// expects it to have taken it within a bound of the leader's end, and
	// returns when it took it: the Lease's acquireTime, which the standby
	// writes as it takes it.
	takenOver := func(ctx context.Context, leaderEnded time.Time, within time.Duration) time.Time {
		GinkgoHelper()
		var acquired time.Time
		Eventually(func(g Gomega) {
			l := lease(ctx, g, haLease)
			g.Expect(l.Spec.HolderIdentity).To(HaveValue(And(Not(BeEmpty()), Not(Equal(previousHolder)))))
			g.Expect(standby.Leads(haLease)).To(BeTrue())
			g.Expect(l.Spec.AcquireTime).NotTo(BeNil())
			acquired = l.Spec.AcquireTime.Time
		}).WithContext(ctx).WithTimeout(within).Should(Succeed())
		Expect(acquired.Sub(leaderEnded)).To(BeNumerically("<", within))
		return acquired
	}
	// recorded waits for the history to hold everything written so far and
	// checks that no revision got a second ReplicaSet.
	recorded := func(ctx context.Context) []framework.Record {
		GinkgoHelper()
		Eventually(history.CaughtUp).WithContext(ctx).WithArguments(k8sClient, ns).Should(Succeed())
		records, err := history.Records()
		Expect(err).NotTo(HaveOccurred())
		Expect(framework.DuplicateRevisions(records)).To(BeEmpty(), "one ReplicaSet per revision")
		return records
	}

	It("finishes a blue-green rollout whose leader is killed while the preview ReplicaSet scales up", func(ctx context.Context) {
		createServices(ctx, ns, "web", "web", "web-preview")
		ro := builders.Rollout("web").Namespace(ns).Replicas(3).Image(v1).BlueGreen("web", "web-preview").
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.BlueGreen.AutoPromotionEnabled = ptr.To(false)
				ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = ptr.To[int32](3)
			}).Obj()
		blue := deployBlue(ctx, ro)
		setImage(ctx, ro, v2, 8*time.Second)

		By("SIGKILL to the leader once green's ReplicaSet exists, before any of its pods is ready")
		Eventually(func(g Gomega) {
			rs := replicaSetWithImage(ctx, g, ns, v2)
			g.Expect(rs.Status.AvailableReplicas).To(BeZero())
		}).WithContext(ctx).Should(Succeed())
		killed := time.Now()
		leader.Kill()
		acquired := takenOver(ctx, killed, killedTakeover)
		report("blue-green, SIGKILL: the standby took the Lease after", acquired.Sub(killed))

		By("the new leader holds green behind the preview Service until promoted")
		var green string
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			green = ro.Status.CurrentPodHash
			g.Expect(green).NotTo(Or(BeEmpty(), Equal(blue)))
			g.Expect(ro.Status.PauseConditions).To(ContainElement(
				HaveField("Reason", rolloutsv1alpha1.PauseReasonBlueGreenPause)))
			g.Expect(selectedHash(ctx, g, ro, "web-preview")).To(Equal(green))
			g.Expect(selectedHash(ctx, g, ro, "web")).To(Equal(blue))
			g.Expect(replicaSetOf(ctx, g, ns, green).Status.AvailableReplicas).To(Equal(int32(3)))
		}).WithContext(ctx).Should(Succeed())
		promoted := promote(ctx, ro)

		expectBlueGreenDone(ctx, ro, blue, green)
		records := recorded(ctx)
		Expect(framework.ServiceViolations(records, "web", 3)).To(BeEmpty(),
			"the active Service selects only a ReplicaSet with every pod available")
		Expect(framework.Selections(records, "web")).To(HaveExactElements(
			HaveField("Hash", blue),
			And(HaveField("Hash", green), HaveField("Version", BeNumerically(">", promoted))),
		), "the active Service moved to green once, after the promote")
		report("blue-green, SIGKILL: the new leader's first write after",
			firstWriteAfter(records, acquired, promoted).Received.Sub(killed))
	})

	It("finishes a canary whose leader is killed during a timed pause", func(ctx context.Context) {
		createServices(ctx, ns, "shop", "shop-canary", "shop-stable")
		steps := []rolloutsv1alpha1.CanaryStep{
			builders.SetWeight(25), builders.PauseFor(10 * time.Second),
			builders.SetWeight(50), builders.PauseFor(2 * time.Second),
		}
		ro := builders.Rollout("shop").Namespace(ns).Replicas(4).Image(v1).
			Services("shop-canary", "shop-stable").Canary(steps...).Obj()
		Expect(k8sClient.Create(ctx, ro)).To(Succeed())
		expectPhase(ctx, ro, rolloutsv1alpha1.RolloutPhaseHealthy)
		// New pods take two seconds to turn Ready: time enough for a
		// Service to be pointed at pods that are not there yet.
		setImage(ctx, ro, v2, 2*time.Second)
		var stable string
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			stable = ro.Status.StableRS
			g.Expect(ro.Status.CurrentStepIndex).To(HaveValue(Equal(int32(1))))
			g.Expect(ro.Status.PauseConditions).To(ContainElement(
				HaveField("Reason", rolloutsv1alpha1.PauseReasonCanaryPauseStep)))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{v1: 3, v2: 1}))
		}).WithContext(ctx).Should(Succeed())

		// The pause runs out while no replica leads: the new leader reads
		// when it started from the Rollout's status and moves on at once.
		By("SIGKILL to the leader at 25%, while the 10 s pause runs")
		killed := time.Now()
		leader.Kill()
		acquired := takenOver(ctx, killed, killedTakeover)
		report("canary, SIGKILL: the standby took the Lease after", acquired.Sub(killed))

		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
			g.Expect(ro.Status.StableRS).To(Equal(ro.Status.CurrentPodHash))
			g.Expect(ro.Status.CurrentStepIndex).To(HaveValue(Equal(int32(len(steps)))))
			g.Expect(selectedHash(ctx, g, ro, "shop-stable")).To(Equal(ro.Status.StableRS))
			g.Expect(podsByImage(ctx, g, ns)).To(Equal(map[string]int{v2: 4}))
		}).WithContext(ctx).Should(Succeed())
		canary := ro.Status.CurrentPodHash

		records := recorded(ctx)
		for _, service := range []string{"shop-stable", "shop-canary"} {
			Expect(framework.ServiceViolations(records, service, 1)).To(BeEmpty(),
				"Service %s always selects a ReplicaSet with available pods", service)
		}
		// With no traffic routing the stable ReplicaSet drains once the
		// steps are done, and the stable Service follows the pods to the
		// new revision as it does, a little ahead of the promotion (it
		// never selects a ReplicaSet with no pods): what must hold is that
		// it does not move before.
		selections := framework.Selections(records, "shop-stable")
		Expect(selections).To(HaveExactElements(HaveField("Hash", stable), HaveField("Hash", canary)),
			"the stable Service stays on the stable revision, then moves once")
		Expect(stepsDoneAt(records, "shop", selections[1].Version)).To(Equal(int32(len(steps))),
			"the stable Service moves to the new revision only once every step is done")
		Expect(pauseStarts(records, "shop")).To(And(HaveKey(int32(1)), HaveEach(HaveLen(1))),
			"each pause keeps the start the old leader gave it: the new leader does not start it over")
		report("canary, SIGKILL: the new leader's first write after",
			firstWriteAfter(records, acquired).Received.Sub(killed))
	})

	It("hands the Lease over at once when the leader is stopped with SIGTERM", func(ctx context.Context) {
		createServices(ctx, ns, "api", "api", "api-preview")
		ro := builders.Rollout("api").Namespace(ns).Replicas(3).Image(v1).BlueGreen("api", "api-preview").
			Edit(func(ro *rolloutsv1alpha1.Rollout) {
				ro.Spec.Strategy.BlueGreen.AutoPromotionEnabled = ptr.To(false)
				ro.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds = ptr.To[int32](3)
			}).Obj()
		blue := deployBlue(ctx, ro)
		setImage(ctx, ro, v2, 0)
		var green string
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
			green = ro.Status.CurrentPodHash
			g.Expect(ro.Status.PauseConditions).To(ContainElement(
				HaveField("Reason", rolloutsv1alpha1.PauseReasonBlueGreenPause)))
			g.Expect(selectedHash(ctx, g, ro, "api-preview")).To(Equal(green))
		}).WithContext(ctx).Should(Succeed())

		By("SIGTERM to the leader while the rollout waits for its promote, which comes meanwhile")
		stopped := time.Now()
		leader.Stop()
		Expect(leader.Session.ExitCode()).To(BeZero(), "a clean shutdown")
		promoted := promote(ctx, ro)
		acquired := takenOver(ctx, stopped, handedOverTakeover)
		report("blue-green, SIGTERM: the standby took the Lease after", acquired.Sub(stopped))

		expectBlueGreenDone(ctx, ro, blue, green)
		records := recorded(ctx)
		Expect(framework.ServiceViolations(records, "api", 3)).To(BeEmpty(),
			"the active Service selects only a ReplicaSet with every pod available")
		Expect(framework.Selections(records, "api")).To(HaveExactElements(
			HaveField("Hash", blue),
			And(HaveField("Hash", green), HaveField("Version", BeNumerically(">", promoted))),
		))
		report("blue-green, SIGTERM: the new leader's first write after",
			firstWriteAfter(records, acquired, promoted).Received.Sub(stopped))
	})
})

// report prints a measured duration and keeps it in the suite's report.
func report(what string, d time.Duration) {
	d = d.Round(time.Millisecond)
	fmt.Fprintf(GinkgoWriter, "%s %s\n", what, d)
	AddReportEntry(what, d.String(), Offset(1))
}

func lease(ctx context.Context, g Gomega, name string) *coordinationv1.Lease {
	var l coordinationv1.Lease
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: chartNamespace, Name: name}, &l)).To(Succeed())
	return &l
}

// setImage changes the Rollout's image. Its pods turn Ready readyAfter
// their start: kwok honours a readiness probe's initial delay
// (test/simcluster/kwok-stages.yaml), which makes a revision whose pods
// come up slowly enough to act while they do.
func setImage(ctx context.Context, ro *rolloutsv1alpha1.Rollout, image string, readyAfter time.Duration) {
	GinkgoHelper()
	Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
	container := &ro.Spec.Template.Spec.Containers[0]
	container.Image = image
	if readyAfter > 0 {
		container.ReadinessProbe = &corev1.Probe{
			InitialDelaySeconds: int32(readyAfter.Seconds()),
			ProbeHandler:        corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(8080)}},
		}
	}
	Expect(k8sClient.Update(ctx, ro)).To(Succeed())
}

// promote clears the pause conditions, as kubectl argo rollouts promote
// does, and returns the version of the Rollout that write made.
func promote(ctx context.Context, ro *rolloutsv1alpha1.Rollout) uint64 {
	GinkgoHelper()
	patchStatus(ctx, ro, `{"status":{"pauseConditions":null}}`)
	version, err := strconv.ParseUint(ro.ResourceVersion, 10, 64)
	Expect(err).NotTo(HaveOccurred())
	return version
}

// expectBlueGreenDone waits for green to be the stable revision behind the
// active Service, and blue scaled down.
func expectBlueGreenDone(ctx context.Context, ro *rolloutsv1alpha1.Rollout, blue, green string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(ro), ro)).To(Succeed())
		g.Expect(ro.Status.Phase).To(Equal(rolloutsv1alpha1.RolloutPhaseHealthy), ro.Status.Message)
		g.Expect(ro.Status.StableRS).To(Equal(green))
		g.Expect(selectedHash(ctx, g, ro, ro.Spec.Strategy.BlueGreen.ActiveService)).To(Equal(green))
		g.Expect(*replicaSetOf(ctx, g, ro.Namespace, blue).Spec.Replicas).To(BeZero())
	}).WithContext(ctx).Should(Succeed())
}

func replicaSetWithImage(ctx context.Context, g Gomega, ns, image string) *appsv1.ReplicaSet {
	var rss appsv1.ReplicaSetList
	g.Expect(k8sClient.List(ctx, &rss, client.InNamespace(ns))).To(Succeed())
	var found []*appsv1.ReplicaSet
	for i := range rss.Items {
		if rss.Items[i].Spec.Template.Spec.Containers[0].Image == image {
			found = append(found, &rss.Items[i])
		}
	}
	g.Expect(found).To(HaveLen(1), "ReplicaSets of %s", image)
	return found[0]
}

// firstWriteAfter is the first version of a Rollout or Service recorded
// after t that the spec did not write itself (its versions in ours): with
// t the moment the new leader took the Lease, the first thing it did.
// ReplicaSets are left out: kube-controller-manager writes their status.
func firstWriteAfter(records []framework.Record, t time.Time, ours ...uint64) framework.Record {
	GinkgoHelper()
	for _, r := range records {
		switch r.Object.(type) {
		case *rolloutsv1alpha1.Rollout, *corev1.Service:
			if r.Received.After(t) && !slices.Contains(ours, r.Version) {
				return r
			}
		}
	}
	Fail("the new leader wrote nothing")
	return framework.Record{}
}

// stepsDoneAt is the Rollout's status.currentStepIndex as the plan that
// made a write at version left it: the controller writes a plan's Services
// before its status, so that is the Rollout's first version after, or,
// when the plan left the status as it was, its last version before.
func stepsDoneAt(records []framework.Record, name string, version uint64) int32 {
	var before, after *rolloutsv1alpha1.Rollout
	for _, r := range records {
		ro, ok := r.Object.(*rolloutsv1alpha1.Rollout)
		if !ok || ro.Name != name {
			continue
		}
		if r.Version < version {
			before = ro
		} else if after == nil {
			after = ro
		}
	}
	index := func(ro *rolloutsv1alpha1.Rollout) int32 {
		if ro == nil || ro.Status.CurrentStepIndex == nil {
			return -1
		}
		return *ro.Status.CurrentStepIndex
	}
	return max(index(before), index(after))
}

// pauseStarts maps each canary step a Rollout paused at, over a history,
// to the distinct start times its pause condition had.
func pauseStarts(records []framework.Record, name string) map[int32]map[time.Time]bool {
	starts := map[int32]map[time.Time]bool{}
	for _, r := range records {
		ro, ok := r.Object.(*rolloutsv1alpha1.Rollout)
		if !ok || ro.Name != name || ro.Status.CurrentStepIndex == nil {
			continue
		}
		for _, c := range ro.Status.PauseConditions {
			if c.Reason == rolloutsv1alpha1.PauseReasonCanaryPauseStep {
				step := *ro.Status.CurrentStepIndex
				if starts[step] == nil {
					starts[step] = map[time.Time]bool{}
				}
				starts[step][c.StartTime.UTC()] = true
			}
		}
	}
	return starts
}
