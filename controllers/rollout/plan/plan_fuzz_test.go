package plan

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/test/builders"
	"github.com/sluicehq/sluice/traffic"
)

// FuzzPlan plans Rollouts a tenant could write, numbers and all, from
// whatever state their ReplicaSets and status are in, and checks that the
// planner never panics and never plans what cannot be executed: a negative
// replica count, a weight outside 0..maxTrafficWeight, a write to a
// ReplicaSet or Service that is not there, or anything at all for an
// invalid spec.
//
// An input is a fuzzSpec, then its steps and ReplicaSets, then the bytes
// that steer the run (promotes, aborts, new images, time, pods and
// AnalysisRuns ending) for fuzzTicks plans.
//
//	go test ./controllers/rollout/plan -run XXX -fuzz FuzzPlan -fuzztime 60s
func FuzzPlan(f *testing.F) {
	// The seeds are steered as the simulations are, at random.
	var steer []byte
	pcg := rand.NewPCG(1, 2)
	for range 8 * fuzzTicks {
		steer = binary.BigEndian.AppendUint64(steer, pcg.Uint64())
	}
	for _, seed := range []fuzzInput{
		{ // the seed's canary, a new revision beside a settled stable
			spec: fuzzSpec{Kind: fuzzCanary, Replicas: some(10), MaxSurge: some(1), Template: 2},
			steps: []fuzzStep{{Kind: stepWeight, Value: 20}, {Kind: stepPause}, {Kind: stepWeight, Value: 50},
				{Kind: stepPause, Value: 60, Option: 1}, {Kind: stepWeight, Value: 100}},
			replicaSets: []fuzzReplicaSet{{Spec: 10, Replicas: 10, Available: 10}},
		},
		{ // paused at its second step, an analysis next
			spec: fuzzSpec{Kind: fuzzCanary, Replicas: some(5), Template: 2, Stable: 1, Continuing: true,
				CurrentStepIndex: some(1), ControllerPause: true, PauseCondition: true},
			steps:       []fuzzStep{{Kind: stepWeight, Value: 20}, {Kind: stepPause, Value: 30, Option: 2}, {Kind: stepAnalysis}},
			replicaSets: []fuzzReplicaSet{{Spec: 4, Replicas: 4, Available: 4}, {Spec: 1, Replicas: 1}},
		},
		{ // routed, with setCanaryScale, a header route and dynamicStableScale
			spec: fuzzSpec{Kind: fuzzRouted, Replicas: some(6), Template: 2, Stable: 1, MaxTrafficWeight: some(1000),
				MinPodsPerReplicaSet: some(2), DynamicStableScale: true, RoutedCanaryWeight: 100},
			steps: []fuzzStep{{Kind: stepCanaryScale, Value: 2, Option: 1}, {Kind: stepWeight, Value: 300},
				{Kind: stepHeaderRoute}, {Kind: stepPause}, {Kind: stepWeight, Value: 1000}},
			replicaSets: []fuzzReplicaSet{{Spec: 6, Replicas: 6, Available: 6}},
		},
		{ // blue-green at previewReplicaCount behind a pre-promotion analysis, two old revisions warm
			spec: fuzzSpec{Kind: fuzzBlueGreen, Replicas: some(3), Template: 4, Stable: 3, PreviewReplicaCount: some(1),
				AutoPromotionSeconds: 20, ScaleDownDelaySeconds: some(30), ScaleDownDelayRevisionLimit: some(1), Analysis: true},
			replicaSets: []fuzzReplicaSet{{Spec: 3, Replicas: 3, Available: 3}, {Spec: 3, Replicas: 3, Available: 3}, {Spec: 3, Replicas: 3, Available: 2}},
		},
		{ // aborted mid-canary, with a background analysis from the second step
			spec: fuzzSpec{Kind: fuzzCanary, Replicas: some(4), Template: 2, Stable: 1, Continuing: true,
				CurrentStepIndex: some(1), Abort: true, Analysis: true, StartingStep: some(1)},
			steps:       []fuzzStep{{Kind: stepWeight, Value: 50}, {Kind: stepPause}},
			replicaSets: []fuzzReplicaSet{{Spec: 2, Replicas: 2, Available: 2}, {Spec: 2, Replicas: 2, Available: 1}},
		},
		{ // a negative revisionHistoryLimit with old revisions to prune
			spec:        fuzzSpec{Kind: fuzzCanary, Replicas: some(1), Template: 4, Stable: 3, RevisionHistoryLimit: some(-1)},
			replicaSets: []fuzzReplicaSet{{}, {}, {Spec: 1, Replicas: 1, Available: 1}},
		},
	} {
		f.Add(append(seed.encode(), steer...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := decodeFuzzInput(data)
		w := in.world()
		rng := rand.New(&fuzzSource{data: in.steer, then: rand.NewPCG(uint64(len(data)), 1)})
		steer := steering(rng, 20*time.Second)
		for tick := range fuzzTicks {
			obs := w.observe()
			res := Plan(obs)
			checkPlan(t, obs, res, tick)
			w.applyQuietly(res)
			steer(w)
			endSomeRuns(w, rng)
			makeSomePodsAvailable(w, rng)
		}
	})
}

// fuzzTicks is how many plans one input runs: enough to go through a few
// steps, few enough for the fuzzer to try many inputs.
const fuzzTicks = 20

// checkPlan fails the test on a plan that cannot be right, whatever the
// Rollout asked for.
func checkPlan(t *testing.T, obs Observation, res Result, tick int) {
	t.Helper()
	if c := findCondition(&res.Status, rolloutsv1alpha1.InvalidSpec); c != nil && c.Status == corev1.ConditionTrue {
		if len(res.Actions) > 0 {
			t.Fatalf("tick %d: an invalid spec (%s) planned %v", tick, c.Message, res.Actions)
		}
		return
	}
	maxWeight := int32(defaultMaxWeight)
	if routing, err := traffic.SettingsOf(obs.Rollout); err == nil && routing != nil {
		maxWeight = routing.MaxWeight
	}
	specOf := map[string]int32{}
	for _, rs := range obs.ReplicaSets {
		specOf[rs.Name] = specReplicas(rs)
	}
	for _, a := range res.Actions {
		switch a := a.(type) {
		case CreateReplicaSet:
			if *a.ReplicaSet.Spec.Replicas < 0 {
				t.Fatalf("tick %d: %v", tick, a)
			}
		case ScaleReplicaSet:
			from, ok := specOf[a.Name]
			if !ok || a.From != from || a.To < 0 {
				t.Fatalf("tick %d: %v, observed %d (exists: %t)", tick, a, from, ok)
			}
		case SetServiceSelector:
			if obs.Services[a.Service] == nil {
				t.Fatalf("tick %d: %v, a Service that is not there", tick, a)
			}
		case SetTrafficWeight:
			if a.Weight < 0 || a.Weight > maxWeight {
				t.Fatalf("tick %d: %v, out of 0..%d", tick, a, maxWeight)
			}
		}
	}
	if weights := res.Status.Canary.Weights; weights != nil {
		for _, w := range []int32{weights.Canary.Weight, weights.Stable.Weight} {
			if w < 0 || w > maxWeight {
				t.Fatalf("tick %d: status weights %+v out of 0..%d", tick, *weights, maxWeight)
			}
		}
	}
	if canary := obs.Rollout.Spec.Strategy.Canary; canary != nil {
		if i := res.Status.CurrentStepIndex; i != nil && (*i < 0 || int(*i) > len(canary.Steps)) {
			t.Fatalf("tick %d: currentStepIndex %d out of 0..%d", tick, *i, len(canary.Steps))
		}
	}
	if res.RequeueAfter < 0 {
		t.Fatalf("tick %d: requeue after %v", tick, res.RequeueAfter)
	}
}

// fuzzInput is one decoded fuzz input.
type fuzzInput struct {
	spec        fuzzSpec
	steps       []fuzzStep
	replicaSets []fuzzReplicaSet
	steer       []byte
}

// The kinds of Rollout a fuzz input makes.
const (
	fuzzCanary uint8 = iota
	fuzzRouted
	fuzzBlueGreen
	fuzzKinds
)

// fuzzSpec is the fixed-size head of an input: the Rollout's numbers and
// the state it is found in. Its fields are exported for encoding/binary,
// so each of the fuzzer's mutations lands on one of them.
type fuzzSpec struct {
	Kind, Steps, ReplicaSets uint8
	// Template picks the image the Rollout runs, app:v<Template mod
	// ReplicaSets+2>: that of a ReplicaSet, v1 the oldest, or a new one.
	// Stable picks status.stableRS among the ReplicaSets, 1 the oldest.
	Template, Stable uint8
	// Continuing keeps the status's step index, pause and abort: without
	// it the planner starts the revision's steps over.
	Continuing, Abort, PromoteFull, Paused, ControllerPause, PauseCondition bool
	// Analysis adds a background analysis to a canary, and a
	// pre-promotion one to a blue-green Rollout.
	Analysis, DynamicStableScale, ManualPromotion, MaxSurgePercent, MaxUnavailablePercent bool
	// RoutedCanaryWeight is the canary's weight in the route, the stable
	// Service having the rest; see routeWeight.
	RoutedCanaryWeight int32
	// The numbers of the spec, any int32, and the step index.
	AutoPromotionSeconds, MinReadySeconds                                             int32
	CurrentStepIndex, StartingStep                                                    fuzzInt
	Replicas, RevisionHistoryLimit, ProgressDeadlineSeconds, MaxSurge, MaxUnavailable fuzzInt
	ScaleDownDelaySeconds, ScaleDownDelayRevisionLimit, AbortScaleDownDelaySeconds    fuzzInt
	MinPodsPerReplicaSet, MaxTrafficWeight, PreviewReplicaCount                       fuzzInt
}

// fuzzInt is an optional int32 field.
type fuzzInt struct {
	Set   bool
	Value int32
}

func some(v int32) fuzzInt { return fuzzInt{Set: true, Value: v} }

func (i fuzzInt) ptr() *int32 {
	if !i.Set {
		return nil
	}
	return ptr.To(i.Value)
}

// The kinds of canary step; Value and Option say more per kind.
const (
	stepWeight      uint8 = iota // setWeight: Value
	stepPause                    // pause: none, Value seconds, "<Value>s" or "<Value>h" by Option
	stepAnalysis                 // analysis
	stepCanaryScale              // setCanaryScale: weight Value, replicas Value or matchTrafficWeight by Option
	stepHeaderRoute              // setHeaderRoute, with a match or, by Option, without
	stepEmpty                    // a step of no kind
	stepKinds
)

type fuzzStep struct {
	Kind, Option uint8
	Value        int32
}

func (s fuzzStep) step() rolloutsv1alpha1.CanaryStep {
	switch s.Kind % stepKinds {
	case stepWeight:
		return builders.SetWeight(s.Value)
	case stepPause:
		durations := []*intstr.IntOrString{nil, ptr.To(intstr.FromInt32(s.Value)),
			ptr.To(intstr.FromString(fmt.Sprintf("%ds", s.Value))), ptr.To(intstr.FromString(fmt.Sprintf("%dh", s.Value)))}
		return rolloutsv1alpha1.CanaryStep{Pause: &rolloutsv1alpha1.RolloutPause{Duration: durations[int(s.Option)%len(durations)]}}
	case stepAnalysis:
		return rolloutsv1alpha1.CanaryStep{Analysis: checks()}
	case stepCanaryScale:
		scales := []rolloutsv1alpha1.SetCanaryScale{{Weight: ptr.To(s.Value)}, {Replicas: ptr.To(s.Value)}, {MatchTrafficWeight: true}}
		return rolloutsv1alpha1.CanaryStep{SetCanaryScale: &scales[int(s.Option)%len(scales)]}
	case stepHeaderRoute:
		route := &rolloutsv1alpha1.SetHeaderRoute{Name: "beta"}
		if s.Option%2 == 0 {
			route.Match = []rolloutsv1alpha1.HeaderRoutingMatch{{HeaderName: "x-beta", HeaderValue: &rolloutsv1alpha1.StringMatch{Exact: "1"}}}
		}
		return rolloutsv1alpha1.CanaryStep{SetHeaderRoute: route}
	}
	return rolloutsv1alpha1.CanaryStep{}
}

// fuzzReplicaSet is the counts of one existing revision. Kubernetes keeps
// them non-negative; unsigned, they stay so.
type fuzzReplicaSet struct {
	Spec, Replicas, Available uint16
}

// encode is the input that decodes to in, but for the steering bytes.
func (in fuzzInput) encode() []byte {
	spec := in.spec
	spec.Steps, spec.ReplicaSets = uint8(len(in.steps)), uint8(len(in.replicaSets))
	out, err := binary.Append(nil, binary.BigEndian, spec)
	for _, v := range []any{in.steps, in.replicaSets} {
		if err == nil {
			out, err = binary.Append(out, binary.BigEndian, v)
		}
	}
	if err != nil {
		panic(err) // every field has a fixed size
	}
	return out
}

func decodeFuzzInput(data []byte) fuzzInput {
	var in fuzzInput
	take(&data, &in.spec)
	in.steps = make([]fuzzStep, in.spec.Steps%10)
	take(&data, in.steps)
	in.replicaSets = make([]fuzzReplicaSet, in.spec.ReplicaSets%6)
	take(&data, in.replicaSets)
	in.steer = data
	return in
}

// take decodes v from the front of data, reading zeros past its end.
func take(data *[]byte, v any) {
	buf := make([]byte, binary.Size(v))
	n := copy(buf, *data)
	*data = (*data)[n:]
	if _, err := binary.Decode(buf, binary.BigEndian, v); err != nil {
		panic(err) // buf is v's size
	}
}

// world builds the input's Rollout, its Services, routes and ReplicaSets,
// and the status it is found in.
func (in fuzzInput) world() *world {
	s := in.spec
	// The revisions are made by the planner itself, from a plain canary
	// of the same name and template, so their hashes and labels are real.
	maker := newWorld(builders.Rollout("fuzz").Obj())
	for v := range in.replicaSets {
		maker.setImage(fmt.Sprintf("app:v%d", v+1))
		maker.applyQuietly(Plan(maker.observe()))
	}
	for i, counts := range in.replicaSets {
		rs := maker.rss[i]
		rs.Spec.Replicas = ptr.To(int32(counts.Spec))
		rs.Status.Replicas, rs.Status.AvailableReplicas, rs.Status.ReadyReplicas =
			int32(counts.Replicas), int32(min(counts.Available, counts.Replicas)), int32(min(counts.Available, counts.Replicas))
	}

	b := builders.Rollout("fuzz").Image(fmt.Sprintf("app:v%d", s.Template%uint8(len(in.replicaSets)+2))).
		Services("fuzz-canary", "fuzz-stable")
	services := []string{"fuzz-canary", "fuzz-stable"}
	if s.Kind%fuzzKinds == fuzzBlueGreen {
		b = b.BlueGreen("fuzz-active", "fuzz-preview")
		services = []string{"fuzz-active", "fuzz-preview"}
	} else {
		steps := make([]rolloutsv1alpha1.CanaryStep, 0, len(in.steps))
		for _, step := range in.steps {
			steps = append(steps, step.step())
		}
		b = b.Canary(steps...)
	}
	ro := b.Edit(func(ro *rolloutsv1alpha1.Rollout) {
		ro.Spec.Replicas, ro.Spec.RevisionHistoryLimit = s.Replicas.ptr(), s.RevisionHistoryLimit.ptr()
		ro.Spec.ProgressDeadlineSeconds, ro.Spec.MinReadySeconds = s.ProgressDeadlineSeconds.ptr(), s.MinReadySeconds
		ro.Spec.Paused = s.Paused
		if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
			in.blueGreen(bg)
		} else {
			in.canary(ro.Spec.Strategy.Canary)
		}
	}).Obj()

	w := newWorld(ro, services...)
	w.rss, w.created, w.templates = maker.rss, maker.created, passingTemplate
	if s.Kind%fuzzKinds == fuzzRouted {
		w.routes = []*gatewayv1.HTTPRoute{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "fuzz"},
			Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{
				httpBackend("fuzz-stable", routeWeight(ptr.Deref(s.MaxTrafficWeight.ptr(), 100)-routeWeight(s.RoutedCanaryWeight))),
				httpBackend("fuzz-canary", routeWeight(s.RoutedCanaryWeight))}}}},
		}}
	}
	in.status(w)
	return w
}

// routeWeight is w within the weights Gateway API accepts, 0 to 1000000:
// the API server keeps a route's weights there.
func routeWeight(w int32) int32 { return min(max(w, 0), 1_000_000) }

func (in fuzzInput) canary(canary *rolloutsv1alpha1.CanaryStrategy) {
	s := in.spec
	canary.MaxSurge, canary.MaxUnavailable = intOrPercent(s.MaxSurge, s.MaxSurgePercent), intOrPercent(s.MaxUnavailable, s.MaxUnavailablePercent)
	canary.ScaleDownDelaySeconds, canary.ScaleDownDelayRevisionLimit = s.ScaleDownDelaySeconds.ptr(), s.ScaleDownDelayRevisionLimit.ptr()
	canary.AbortScaleDownDelaySeconds, canary.MinPodsPerReplicaSet = s.AbortScaleDownDelaySeconds.ptr(), s.MinPodsPerReplicaSet.ptr()
	canary.DynamicStableScale = s.DynamicStableScale
	if s.Analysis {
		canary.Analysis = &rolloutsv1alpha1.RolloutAnalysisBackground{RolloutAnalysis: *checks(), StartingStep: s.StartingStep.ptr()}
	}
	if s.Kind%fuzzKinds == fuzzRouted {
		canary.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{
			MaxTrafficWeight: s.MaxTrafficWeight.ptr(),
			ManagedRoutes:    []rolloutsv1alpha1.MangedRoutes{{Name: "beta"}},
			Plugins:          map[string]json.RawMessage{traffic.GatewayAPIPlugin: json.RawMessage(`{"httpRoute":"fuzz"}`)},
		}
	}
}

func (in fuzzInput) blueGreen(bg *rolloutsv1alpha1.BlueGreenStrategy) {
	s := in.spec
	bg.MaxUnavailable = intOrPercent(s.MaxUnavailable, s.MaxUnavailablePercent)
	bg.PreviewReplicaCount, bg.AutoPromotionSeconds = s.PreviewReplicaCount.ptr(), s.AutoPromotionSeconds
	bg.AutoPromotionEnabled = ptr.To(!s.ManualPromotion)
	bg.ScaleDownDelaySeconds, bg.ScaleDownDelayRevisionLimit = s.ScaleDownDelaySeconds.ptr(), s.ScaleDownDelayRevisionLimit.ptr()
	bg.AbortScaleDownDelaySeconds = s.AbortScaleDownDelaySeconds.ptr()
	if s.Analysis {
		bg.PrePromotionAnalysis = checks()
	}
}

// intOrPercent is a maxSurge or maxUnavailable: a count, or a percentage.
func intOrPercent(i fuzzInt, percent bool) *intstr.IntOrString {
	switch {
	case !i.Set:
		return nil
	case percent:
		return ptr.To(intstr.FromString(fmt.Sprintf("%d%%", i.Value)))
	}
	return ptr.To(intstr.FromInt32(i.Value))
}

// status sets the state the Rollout is found in.
func (in fuzzInput) status(w *world) {
	s := in.spec
	st := &w.ro.Status
	if i := int(s.Stable); i >= 1 && i <= len(w.rss) {
		st.StableRS = w.rss[i-1].Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
	}
	if s.Continuing {
		st.CurrentPodHash = PodTemplateHash(&w.ro.Spec.Template, nil)
		if canary := w.ro.Spec.Strategy.Canary; canary != nil {
			st.CurrentStepHash = StepsHash(canary.Steps)
		}
	}
	st.CurrentStepIndex = s.CurrentStepIndex.ptr()
	st.Abort, st.PromoteFull, st.ControllerPause = s.Abort, s.PromoteFull, s.ControllerPause
	if s.Abort {
		st.AbortedAt = &metav1.Time{Time: w.now}
	}
	if s.PauseCondition {
		reason := rolloutsv1alpha1.PauseReasonCanaryPauseStep
		if w.ro.Spec.Strategy.BlueGreen != nil {
			reason = rolloutsv1alpha1.PauseReasonBlueGreenPause
		}
		st.PauseConditions = []rolloutsv1alpha1.PauseCondition{{Reason: reason, StartTime: metav1.Time{Time: w.now.Add(-time.Minute)}}}
	}
}

// fuzzSource is a rand.Source that reads the fuzz input, so the fuzzer's
// mutations steer the run. Once the input is used up it goes on with then:
// rand's IntN retries values it cannot use, and would retry the zeros of
// a spent input forever.
type fuzzSource struct {
	data []byte
	then *rand.PCG
}

func (s *fuzzSource) Uint64() uint64 {
	if len(s.data) < 8 {
		return s.then.Uint64()
	}
	v := binary.BigEndian.Uint64(s.data)
	s.data = s.data[8:]
	return v
}
