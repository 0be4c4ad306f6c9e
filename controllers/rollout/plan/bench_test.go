package plan

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/test/builders"
)

// BenchmarkPlan measures one planning pass in the middle of a canary: the
// seed's steps, paused at 20%, with ten old revisions kept for undo. This is
// the work of every reconcile, so it bounds how many Rollouts one controller
// can keep up with.
//
//	go test -bench=Plan -benchmem ./controllers/rollout/plan/
func BenchmarkPlan(b *testing.B) {
	for _, replicas := range []int32{5, 100} {
		b.Run(itoa(replicas)+"-replicas", func(b *testing.B) {
			w := newWorld(builders.Rollout("bench").Replicas(replicas).Services("canary", "stable").Canary(
				builders.SetWeight(20), builders.PauseFor(time.Minute),
				builders.SetWeight(50), builders.PauseFor(2*time.Minute),
				builders.SetWeight(100),
			).Obj(), "canary", "stable")
			for v := 1; v <= 11; v++ {
				w.setImage("app:v" + itoa(int32(v)))
				w.now = w.now.Add(time.Hour)
				w.runQuietly()
				w.ro.Status.PromoteFull = true
				w.runQuietly()
			}
			w.setImage("app:v12")
			w.runQuietly()
			obs := w.observe()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = Plan(obs)
			}
		})
	}
}
