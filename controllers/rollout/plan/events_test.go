package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

// normal and warning are the events a test expects.
func normal(reason, format string, args ...any) Event {
	return Event{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func warning(reason, format string, args ...any) Event {
	return Event{Warning: true, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// rsName is the name of the ReplicaSet running image.
func (w *world) rsName(image string) string { return w.ro.Name + "-" + w.hashOf(image) }

// runOf is the AnalysisRun of the given rollout-type label.
func (w *world) runOf(typeLabel string) *rolloutsv1alpha1.AnalysisRun {
	GinkgoHelper()
	for _, run := range w.runs {
		if run.Labels[rolloutsv1alpha1.RolloutTypeLabel] == typeLabel && !superseded(run) {
			return run
		}
	}
	Fail("no " + typeLabel + " AnalysisRun")
	return nil
}

// transitions are the events that are not a ReplicaSet's scaling.
func transitions(events []Event) []Event {
	var out []Event
	for _, e := range events {
		if e.Reason != reasonScaling {
			out = append(out, e)
		}
	}
	return out
}

// untilNext plans, applies and makes pods available until the next plan,
// once the pods asked for are available, would record an event whose
// "Reason: message" starts with note; the pods are left as they are.
func (w *world) untilNext(note string) {
	GinkgoHelper()
	for range 20 {
		obs := w.observe()
		obs.ReplicaSets = nil
		for _, rs := range w.rss {
			settled := rs.DeepCopy()
			n := *settled.Spec.Replicas
			settled.Status.Replicas, settled.Status.ReadyReplicas, settled.Status.AvailableReplicas = n, n, n
			obs.ReplicaSets = append(obs.ReplicaSets, settled)
		}
		if slices.ContainsFunc(eventNotes(Plan(obs).Events), func(n string) bool { return strings.HasPrefix(n, note) }) {
			return
		}
		w.step()
		w.settle()
	}
	Fail("no " + note + " in 20 reconciles")
}

var _ = Describe("Events", func() {
	// A canary of 4 replicas (maxSurge 1, maxUnavailable 1): setWeight 25,
	// pause, setWeight 50, pause 1m, analysis, setWeight 100; settled at
	// app:v1. A background analysis runs from the first pause on when
	// background is set.
	canary := func(background bool) *world {
		ro := builders.Rollout("web").Replicas(4).Surge(1, 1).Canary(
			builders.SetWeight(25), builders.Pause(),
			builders.SetWeight(50), builders.PauseFor(time.Minute),
			rolloutsv1alpha1.CanaryStep{Analysis: checks()},
			builders.SetWeight(100),
		).Obj()
		if background {
			ro.Spec.Strategy.Canary.Analysis = &rolloutsv1alpha1.RolloutAnalysisBackground{RolloutAnalysis: *checks(), StartingStep: ptr.To[int32](1)}
		}
		w := newWorld(ro)
		w.templates = passingTemplate
		w.run()
		return w
	}
	// updated is the canary with app:v2 applied, not seen yet.
	updated := func() *world {
		w := canary(false)
		w.setImage("app:v2")
		return w
	}
	// at runs a canary updated to app:v2 until it waits at step index.
	at := func(index int32, background bool) func() *world {
		return func() *world {
			w := canary(background)
			w.setImage("app:v2")
			w.run()
			for *w.ro.Status.CurrentStepIndex < index {
				w.promote()
				w.now = w.now.Add(time.Minute)
				w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
				w.run()
			}
			Expect(*w.ro.Status.CurrentStepIndex).To(Equal(index))
			return w
		}
	}
	// atAnalysisRunning waits at the analysis step with its run Running,
	// as the last status written says.
	atAnalysisRunning := func() *world {
		w := at(4, false)()
		w.runOf(rolloutsv1alpha1.RolloutTypeStepLabel).Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
		w.run()
		return w
	}
	stepRunPhase := func(phase rolloutsv1alpha1.AnalysisPhase) func(*world) {
		return func(w *world) { w.runOf(rolloutsv1alpha1.RolloutTypeStepLabel).Status.Phase = phase }
	}
	// runNews is Argo's event for a new phase of the run of a kind (its
	// rollout-type label): a Warning when it failed.
	runNews := func(w *world, kind string, phase rolloutsv1alpha1.AnalysisPhase, previous string) Event {
		message := fmt.Sprintf("%s Analysis Run '%s' Status New: '%s' Previous: '%s'", kind, w.runOf(kind).Name, phase, previous)
		if phase == rolloutsv1alpha1.AnalysisPhaseFailed || phase == rolloutsv1alpha1.AnalysisPhaseError {
			return warning("AnalysisRun"+string(phase), "%s", message)
		}
		return normal("AnalysisRun"+string(phase), "%s", message)
	}

	// A blue-green Rollout of 3 replicas, promoted by a person, with a
	// pre-promotion analysis; settled at app:v1.
	blueGreenGated := func() *world {
		w := blueGreen(3, func(bg *rolloutsv1alpha1.BlueGreenStrategy) {
			bg.AutoPromotionEnabled = ptr.To(false)
			bg.PrePromotionAnalysis = checks()
		})
		w.setImage("app:v2")
		w.run()
		return w
	}
	preRunPhase := func(phase rolloutsv1alpha1.AnalysisPhase) func(*world) {
		return func(w *world) { w.runOf(rolloutsv1alpha1.RolloutTypePrePromotionLabel).Status.Phase = phase }
	}
	// blueGreenPreRunning has the pre-promotion run Running, as the last
	// status written says.
	blueGreenPreRunning := func() *world {
		w := blueGreenGated()
		preRunPhase(rolloutsv1alpha1.AnalysisPhaseRunning)(w)
		w.run()
		return w
	}

	nothing := func(*world) {}

	DescribeTable("are Argo's, recorded once at the transition Argo records them at",
		func(setup func() *world, change func(*world), want func(*world) []Event) {
			w := setup()
			change(w)
			res := w.step()
			if diff := cmp.Diff(want(w), res.Events); diff != "" {
				Fail("events (-want +got):\n" + diff)
			}
			// The planner may scale further from what it just wrote (its
			// scaling goes a safe step at a time), and says so; it
			// records no transition again.
			again := Plan(w.observe())
			Expect(transitions(again.Events)).To(BeEmpty(), "planning the state just written again, as after a restart, records no transition")
		},

		Entry("a first deploy: revision 1, its pods, and stable at once, as Argo's \"Initial deploy\"",
			func() *world {
				return newWorld(builders.Rollout("web").Replicas(4).Canary(builders.SetWeight(25), builders.Pause()).Obj())
			}, nothing,
			func(w *world) []Event {
				return []Event{
					normal("RolloutUpdated", "Rollout updated to revision 1"),
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 1) from 0 to 4", w.rsName("app:v1")),
					normal("RolloutCompleted", "Rollout completed update to revision 1 (%s): Initial deploy", w.hashOf("app:v1")),
				}
			}),
		Entry("a new pod template: the new revision, its canary ReplicaSet, the stable one scaled down",
			updated, nothing,
			func(w *world) []Event {
				return []Event{
					normal("RolloutUpdated", "Rollout updated to revision 2"),
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 2) from 0 to 1", w.rsName("app:v2")),
					normal("ScalingReplicaSet", "Scaled down ReplicaSet %s (revision 1) from 4 to 3", w.rsName("app:v1")),
				}
			}),
		Entry("the canary's pods available: the setWeight step completed, then paused at the pause step",
			func() *world { w := updated(); w.step(); return w }, (*world).settle,
			func(*world) []Event {
				return []Event{
					normal("RolloutStepCompleted", "Rollout step 1/6 completed (setWeight: 25)"),
					normal("RolloutPaused", "Rollout is paused (CanaryPauseStep)"),
				}
			}),
		Entry("promoted the way the plugins promote, clearing the pause condition: the pause step completed, not resumed, as in Argo",
			at(1, false), (*world).promote,
			func(w *world) []Event {
				return []Event{
					normal("RolloutStepCompleted", "Rollout step 2/6 completed (pause)"),
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 2) from 1 to 2", w.rsName("app:v2")),
					normal("ScalingReplicaSet", "Scaled down ReplicaSet %s (revision 1) from 3 to 2", w.rsName("app:v1")),
				}
			}),
		Entry("a pause with a duration over: completed and resumed, and the analysis step's run created",
			at(3, false), func(w *world) { w.now = w.now.Add(time.Minute) },
			func(*world) []Event {
				return []Event{
					normal("RolloutStepCompleted", "Rollout step 4/6 completed (pause: 1m0s)"),
					normal("RolloutResumed", "Rollout is resumed"),
				}
			}),
		Entry("the step's run seen Running for the first time",
			at(4, false), stepRunPhase(rolloutsv1alpha1.AnalysisPhaseRunning),
			func(w *world) []Event {
				// Mirrored in status as soon as it existed, with no phase
				// yet, as Argo mirrors it.
				return []Event{runNews(w, "Step", rolloutsv1alpha1.AnalysisPhaseRunning, "")}
			}),
		Entry("the step's run seen for the first time with a phase already: no previous status",
			func() *world {
				w := at(3, false)()
				w.now = w.now.Add(time.Minute)
				w.step() // creates the run
				return w
			}, stepRunPhase(rolloutsv1alpha1.AnalysisPhaseRunning),
			func(w *world) []Event {
				return []Event{runNews(w, "Step", rolloutsv1alpha1.AnalysisPhaseRunning, "NoPreviousStatus")}
			}),
		Entry("the step's run Successful: the analysis step completed",
			atAnalysisRunning, stepRunPhase(rolloutsv1alpha1.AnalysisPhaseSuccessful),
			func(w *world) []Event {
				return []Event{
					runNews(w, "Step", rolloutsv1alpha1.AnalysisPhaseSuccessful, "Running"),
					normal("RolloutStepCompleted", "Rollout step 5/6 completed (analysis)"),
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 2) from 2 to 3", w.rsName("app:v2")),
					normal("ScalingReplicaSet", "Scaled down ReplicaSet %s (revision 1) from 2 to 1", w.rsName("app:v1")),
				}
			}),
		Entry("the step's run Failed: a Warning, and the abort, a Warning too",
			atAnalysisRunning, stepRunPhase(rolloutsv1alpha1.AnalysisPhaseFailed),
			func(w *world) []Event {
				return []Event{
					runNews(w, "Step", rolloutsv1alpha1.AnalysisPhaseFailed, "Running"),
					warning("RolloutAborted", "Rollout aborted update to revision 2"),
				}
			}),
		Entry("the step's run Error: a Warning, and the abort",
			atAnalysisRunning, stepRunPhase(rolloutsv1alpha1.AnalysisPhaseError),
			func(w *world) []Event {
				return []Event{
					runNews(w, "Step", rolloutsv1alpha1.AnalysisPhaseError, "Running"),
					warning("RolloutAborted", "Rollout aborted update to revision 2"),
				}
			}),
		Entry("the step's run Inconclusive: paused for it",
			atAnalysisRunning, stepRunPhase(rolloutsv1alpha1.AnalysisPhaseInconclusive),
			func(w *world) []Event {
				return []Event{
					runNews(w, "Step", rolloutsv1alpha1.AnalysisPhaseInconclusive, "Running"),
					normal("RolloutPaused", "Rollout is paused (InconclusiveAnalysisRun)"),
				}
			}),
		Entry("the last step reached: completed, and the canary stable, having completed all steps",
			func() *world {
				w := atAnalysisRunning()
				stepRunPhase(rolloutsv1alpha1.AnalysisPhaseSuccessful)(w)
				w.untilNext("RolloutStepCompleted: Rollout step 6/6")
				return w
			}, (*world).settle,
			func(w *world) []Event {
				return []Event{
					normal("RolloutStepCompleted", "Rollout step 6/6 completed (setWeight: 100)"),
					normal("RolloutCompleted", "Rollout completed update to revision 2 (%s): Completed all 6 canary steps", w.hashOf("app:v2")),
				}
			}),
		Entry("aborted by a person while paused: aborted, a Warning, and not resumed",
			at(1, false), func(w *world) { w.ro.Status.Abort = true },
			func(w *world) []Event {
				return []Event{
					normal("ScalingReplicaSet", "Scaled down ReplicaSet %s (revision 2) from 1 to 0", w.rsName("app:v2")),
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 1) from 3 to 4", w.rsName("app:v1")),
					warning("RolloutAborted", "Rollout aborted update to revision 2"),
				}
			}),
		Entry("a full promotion asked for while paused: resumed, since the pause condition is the controller's to clear",
			at(1, false), func(w *world) { w.ro.Status.PromoteFull = true },
			func(w *world) []Event {
				return []Event{
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 2) from 1 to 2", w.rsName("app:v2")),
					normal("ScalingReplicaSet", "Scaled down ReplicaSet %s (revision 1) from 3 to 2", w.rsName("app:v1")),
					normal("RolloutResumed", "Rollout is resumed"),
				}
			}),
		Entry("a full promotion done: completed, as Argo says why",
			func() *world {
				w := at(1, false)()
				w.ro.Status.PromoteFull = true
				w.untilNext("RolloutCompleted: ")
				return w
			}, (*world).settle,
			func(w *world) []Event {
				return []Event{
					normal("RolloutCompleted", "Rollout completed update to revision 2 (%s): Full promotion requested", w.hashOf("app:v2")),
				}
			}),
		Entry("retried after an abort: the steps start over, with no new revision",
			func() *world {
				w := at(1, false)()
				w.ro.Status.Abort = true
				w.run()
				return w
			}, func(w *world) { w.ro.Status.Abort = false },
			func(w *world) []Event {
				return []Event{
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 2) from 0 to 1", w.rsName("app:v2")),
					normal("ScalingReplicaSet", "Scaled down ReplicaSet %s (revision 1) from 4 to 3", w.rsName("app:v1")),
				}
			}),
		Entry("a new pod template while paused: the new revision, and resumed, as the pause belonged to the old one",
			at(1, false), func(w *world) { w.setImage("app:v3") },
			func(w *world) []Event {
				return []Event{
					normal("RolloutUpdated", "Rollout updated to revision 3"),
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 3) from 0 to 1", w.rsName("app:v3")),
					normal("ScalingReplicaSet", "Scaled down ReplicaSet %s (revision 2) from 1 to 0", w.rsName("app:v2")),
					normal("RolloutResumed", "Rollout is resumed"),
				}
			}),
		Entry("a person's spec.paused: no pause condition, so no event, as in Argo",
			func() *world { return canary(false) }, func(w *world) { w.ro.Spec.Paused = true },
			func(*world) []Event { return nil }),
		Entry("a rollback within spec.rollbackWindow: completed as Argo says, with no steps",
			func() *world {
				w := canary(false)
				w.ro.Spec.RollbackWindow = &rolloutsv1alpha1.RollbackWindowSpec{Revisions: 2}
				w.setImage("app:v2")
				w.step()
				w.ro.Status.PromoteFull = true
				w.run()
				w.setImage("app:v1")
				w.untilNext("RolloutCompleted: ")
				return w
			}, (*world).settle,
			func(w *world) []Event {
				return []Event{
					normal("RolloutCompleted", "Rollout completed update to revision 3 (%s): Rollback within window", w.hashOf("app:v1")),
				}
			}),
		Entry("the background run seen Running",
			at(1, true), func(w *world) {
				w.runOf(rolloutsv1alpha1.RolloutTypeBackgroundRunLabel).Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
			},
			func(w *world) []Event {
				return []Event{runNews(w, "Background", rolloutsv1alpha1.AnalysisPhaseRunning, "")}
			}),

		Entry("the background run Failed: a Warning, and the abort",
			func() *world {
				w := at(1, true)()
				w.runOf(rolloutsv1alpha1.RolloutTypeBackgroundRunLabel).Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
				w.run()
				return w
			}, func(w *world) {
				w.runOf(rolloutsv1alpha1.RolloutTypeBackgroundRunLabel).Status.Phase = rolloutsv1alpha1.AnalysisPhaseFailed
			},
			func(w *world) []Event {
				return []Event{
					runNews(w, "Background", rolloutsv1alpha1.AnalysisPhaseFailed, "Running"),
					warning("RolloutAborted", "Rollout aborted update to revision 2"),
				}
			}),

		Entry("a blue-green update: the new revision at full size behind the preview, its pre-promotion run created",
			func() *world { w := blueGreen(3, nil); w.setImage("app:v2"); return w }, nothing,
			func(w *world) []Event {
				return []Event{
					normal("RolloutUpdated", "Rollout updated to revision 2"),
					normal("ScalingReplicaSet", "Scaled up ReplicaSet %s (revision 2) from 0 to 3", w.rsName("app:v2")),
				}
			}),
		Entry("the pre-promotion run Running",
			blueGreenGated, preRunPhase(rolloutsv1alpha1.AnalysisPhaseRunning),
			func(w *world) []Event {
				return []Event{runNews(w, "PrePromotion", rolloutsv1alpha1.AnalysisPhaseRunning, "")}
			}),
		Entry("the pre-promotion run Successful: paused until promoted",
			blueGreenPreRunning,
			preRunPhase(rolloutsv1alpha1.AnalysisPhaseSuccessful),
			func(w *world) []Event {
				return []Event{
					runNews(w, "PrePromotion", rolloutsv1alpha1.AnalysisPhaseSuccessful, "Running"),
					normal("RolloutPaused", "Rollout is paused (BlueGreenPause)"),
				}
			}),
		Entry("the pre-promotion run Failed: a Warning, and the abort",
			blueGreenPreRunning,
			preRunPhase(rolloutsv1alpha1.AnalysisPhaseFailed),
			func(w *world) []Event {
				return []Event{
					runNews(w, "PrePromotion", rolloutsv1alpha1.AnalysisPhaseFailed, "Running"),
					warning("RolloutAborted", "Rollout aborted update to revision 2"),
				}
			}),
		Entry("the pre-promotion run Inconclusive: paused for it",
			blueGreenPreRunning,
			preRunPhase(rolloutsv1alpha1.AnalysisPhaseInconclusive),
			func(w *world) []Event {
				return []Event{
					runNews(w, "PrePromotion", rolloutsv1alpha1.AnalysisPhaseInconclusive, "Running"),
					normal("RolloutPaused", "Rollout is paused (InconclusiveAnalysisRun)"),
				}
			}),
		Entry("a blue-green promoted by a person: the active Service switched, and completed",
			func() *world {
				w := blueGreenGated()
				w.finishRuns(rolloutsv1alpha1.AnalysisPhaseSuccessful)
				w.run()
				return w
			}, (*world).promote,
			func(w *world) []Event {
				return []Event{
					normal("SwitchService", "Switched selector for service 'active' from '%s' to '%s'", w.hashOf("app:v1"), w.hashOf("app:v2")),
					normal("RolloutCompleted", "Rollout completed update to revision 2 (%s): Completed blue-green update", w.hashOf("app:v2")),
				}
			}),
		Entry("a blue-green's autoPromotionSeconds over: resumed, switched, completed",
			func() *world {
				w := blueGreen(3, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.AutoPromotionSeconds = 30 })
				w.setImage("app:v2")
				w.run()
				return w
			}, func(w *world) { w.now = w.now.Add(30 * time.Second) },
			func(w *world) []Event {
				return []Event{
					normal("SwitchService", "Switched selector for service 'active' from '%s' to '%s'", w.hashOf("app:v1"), w.hashOf("app:v2")),
					normal("RolloutCompleted", "Rollout completed update to revision 2 (%s): Completed blue-green update", w.hashOf("app:v2")),
					normal("RolloutResumed", "Rollout is resumed"),
				}
			}),
		Entry("the post-promotion run Successful: completed",
			func() *world {
				w := blueGreen(3, func(bg *rolloutsv1alpha1.BlueGreenStrategy) { bg.PostPromotionAnalysis = checks() })
				w.setImage("app:v2")
				w.run()
				w.runOf(rolloutsv1alpha1.RolloutTypePostPromotionLabel).Status.Phase = rolloutsv1alpha1.AnalysisPhaseRunning
				w.run()
				return w
			}, func(w *world) {
				w.runOf(rolloutsv1alpha1.RolloutTypePostPromotionLabel).Status.Phase = rolloutsv1alpha1.AnalysisPhaseSuccessful
			},
			func(w *world) []Event {
				return []Event{
					runNews(w, "PostPromotion", rolloutsv1alpha1.AnalysisPhaseSuccessful, "Running"),
					normal("RolloutCompleted", "Rollout completed update to revision 2 (%s): Completed blue-green update", w.hashOf("app:v2")),
				}
			}),
	)
})
