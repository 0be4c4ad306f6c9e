package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("StatusNeedsWrite", func() {
	progressing := func(edit func(*rolloutsv1alpha1.RolloutStatus)) *rolloutsv1alpha1.RolloutStatus {
		st := &rolloutsv1alpha1.RolloutStatus{
			Phase: rolloutsv1alpha1.RolloutPhaseProgressing, Message: "more replicas need to be updated",
			Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 2, CurrentPodHash: "abc",
		}
		if edit != nil {
			edit(st)
		}
		return st
	}

	DescribeTable("writes what matters, and counters only once settled",
		func(observed, planned *rolloutsv1alpha1.RolloutStatus, want bool) {
			Expect(StatusNeedsWrite(observed, planned)).To(Equal(want))
		},
		Entry("nothing changed", progressing(nil), progressing(nil), false),
		Entry("only counters and their message changed while progressing",
			progressing(nil), progressing(func(s *rolloutsv1alpha1.RolloutStatus) {
				s.AvailableReplicas, s.Message = 3, "updated replicas are still becoming available"
			}), false),
		Entry("the step moved", progressing(nil), progressing(func(s *rolloutsv1alpha1.RolloutStatus) {
			s.CurrentStepIndex = new(int32(1))
		}), true),
		Entry("the phase settled", progressing(nil), progressing(func(s *rolloutsv1alpha1.RolloutStatus) {
			s.Phase = rolloutsv1alpha1.RolloutPhaseHealthy
		}), true),
		Entry("counters changed while Healthy",
			progressing(func(s *rolloutsv1alpha1.RolloutStatus) { s.Phase = rolloutsv1alpha1.RolloutPhaseHealthy }),
			progressing(func(s *rolloutsv1alpha1.RolloutStatus) {
				s.Phase, s.AvailableReplicas = rolloutsv1alpha1.RolloutPhaseHealthy, 3
			}), true),
	)
})
