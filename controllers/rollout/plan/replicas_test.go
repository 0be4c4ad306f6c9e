package plan

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var _ = Describe("resolveLimits", func() {
	DescribeTable("resolves surge up and unavailability down, as a Deployment does",
		func(surge, unavailable *intstr.IntOrString, replicas int32, want limits) {
			got, err := resolveLimits(surge, unavailable, replicas)
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry("defaults are 25% each: 5 replicas surge 2, unavailable 1", nil, nil, int32(5), limits{surge: 2, unavailable: 1}),
		Entry("defaults on 2 replicas: surge 1, unavailable 0", nil, nil, int32(2), limits{surge: 1, unavailable: 0}),
		Entry("absolute numbers are taken as they are", ptrInt(3), ptrInt(1), int32(10), limits{surge: 3, unavailable: 1}),
		Entry("both zero leaves one pod unavailable, or nothing could move", ptrInt(0), ptrInt(0), int32(4), limits{surge: 0, unavailable: 1}),
		Entry("unavailability never exceeds the replicas", ptrInt(0), ptrInt(9), int32(2), limits{surge: 0, unavailable: 2}),
	)
})

var _ = Describe("weightedCounts", func() {
	DescribeTable("approximates the weight as Argo Rollouts does",
		func(replicas, weight, surge, wantCanary, wantStable int32) {
			canary, stable := weightedCounts(replicas, weight, 100, surge)
			Expect([]int32{canary, stable}).To(Equal([]int32{wantCanary, wantStable}))
		},
		Entry("the seed: 5 replicas at 20%", int32(5), int32(20), int32(2), int32(1), int32(4)),
		Entry("the seed: 5 replicas at 50% (2.5 ties; 6 pods split 3/3)", int32(5), int32(50), int32(2), int32(3), int32(3)),
		Entry("10 replicas at 30%", int32(10), int32(30), int32(3), int32(3), int32(7)),
		Entry("3 replicas at 50%, no surge: the tie goes to the larger canary", int32(3), int32(50), int32(0), int32(2), int32(1)),
		Entry("a small weight still gets one canary; 1 of 11 is closer to 5% than 1 of 10", int32(10), int32(5), int32(1), int32(1), int32(10)),
		Entry("without surge, 1 of 10", int32(10), int32(5), int32(0), int32(1), int32(9)),
		Entry("one replica at 5% with surge runs one of each", int32(1), int32(5), int32(1), int32(1), int32(1)),
		Entry("one replica at 95% with surge runs one of each", int32(1), int32(95), int32(1), int32(1), int32(1)),
		Entry("one replica at 5% without surge stays stable", int32(1), int32(5), int32(0), int32(0), int32(1)),
		Entry("0% is all stable", int32(4), int32(0), int32(1), int32(0), int32(4)),
		Entry("100% is all canary", int32(4), int32(100), int32(1), int32(4), int32(0)),
		Entry("2 replicas at 50%", int32(2), int32(50), int32(1), int32(1), int32(1)),
		Entry("no replicas, no pods", int32(0), int32(50), int32(1), int32(0), int32(0)),
	)
})

var _ = Describe("nextCanaryCounts", func() {
	steady := func(n int32) rsCounts { return rsCounts{exists: true, spec: n, available: n} }
	targets := func(replicas int32, l limits, weight int32, canary, stable rsCounts) canaryTargets {
		dc, ds := weightedCounts(replicas, weight, 100, l.surge)
		return canaryTargets{replicas: replicas, desiredCanary: dc, desiredStable: ds, limits: l, canary: canary, stable: stable}
	}

	DescribeTable("takes one safe step towards the weight",
		func(t canaryTargets, wantCanary, wantStable int32) {
			canary, stable := nextCanaryCounts(t)
			Expect([]int32{canary, stable}).To(Equal([]int32{wantCanary, wantStable}))
		},
		Entry("10 at 10%, surge 1, unavailable 1: one canary, one stable fewer",
			targets(10, limits{1, 1}, 10, rsCounts{}, steady(10)), int32(1), int32(9)),
		Entry("10 at 30%, surge 3, unavailable 0: canaries first, stable waits for them",
			targets(10, limits{3, 0}, 30, rsCounts{}, steady(10)), int32(3), int32(10)),
		Entry("10 at 30%, no surge, unavailable 5: make room first",
			targets(10, limits{0, 5}, 30, rsCounts{}, steady(10)), int32(0), int32(7)),
		Entry("10 at 5%, surge 1, unavailable 1: the surge pod is the canary",
			targets(10, limits{1, 1}, 5, rsCounts{}, steady(10)), int32(1), int32(10)),
		Entry("1 at 5%, surge 1, no unavailability",
			targets(1, limits{1, 0}, 5, rsCounts{}, steady(1)), int32(1), int32(1)),
		Entry("canaries available: the stable side shrinks to its share",
			targets(10, limits{3, 0}, 30, steady(3), steady(10)), int32(3), int32(7)),
		Entry("canaries not yet available: the stable side holds",
			targets(10, limits{3, 0}, 30, rsCounts{exists: true, spec: 3}, steady(10)), int32(3), int32(10)),
		Entry("abort: the stable grows into the free surge while the canary drains to the availability floor",
			targets(5, limits{2, 1}, 0, steady(3), steady(3)), int32(1), int32(4)),
		Entry("abort, next step: the stable is back at full size, the canary gone",
			targets(5, limits{2, 1}, 0, steady(1), steady(4)), int32(0), int32(5)),
		Entry("at the desired counts nothing changes",
			targets(5, limits{2, 1}, 20, steady(1), steady(4)), int32(1), int32(4)),
	)

	It("only grows canary and stable while another ReplicaSet still has pods", func() {
		t := targets(4, limits{1, 0}, 50, rsCounts{}, steady(2))
		t.othersSpec = 2
		canary, stable := nextCanaryCounts(t)
		Expect([]int32{canary, stable}).To(Equal([]int32{1, 2}))
	})
})

func ptrInt(i int) *intstr.IntOrString {
	v := intstr.FromInt32(int32(i))
	return &v
}

var intstrZero = intstr.FromInt32(0)

func intstrOf(s string) intstr.IntOrString { return intstr.FromString(s) }
