package plan

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sluicehq/sluice/test/builders"
)

// TestEveryRolloutSpecFieldIsHonouredOrRefused walks Argo's RolloutSpec by
// reflection: every field must be in HonouredFields or RefusedFields
// (fields.go), itself or through an ancestor, and every entry must name a
// field that exists.
func TestEveryRolloutSpecFieldIsHonouredOrRefused(t *testing.T) {
	var leaves []string
	walkFields(reflect.TypeFor[rolloutsv1alpha1.RolloutSpec](), "", &leaves)
	if len(leaves) < 100 {
		t.Fatalf("walked only %d fields: %v", len(leaves), leaves)
	}
	entries := append(slices.Clone(HonouredFields), RefusedFields...)
	covers := func(entry, leaf string) bool {
		if leaf == entry {
			return true
		}
		// A refused entry covers everything under it.
		return slices.Contains(RefusedFields, entry) && (strings.HasPrefix(leaf, entry+".") || strings.HasPrefix(leaf, entry+"[]"))
	}
	for _, leaf := range leaves {
		var by []string
		for _, e := range entries {
			if covers(e, leaf) {
				by = append(by, e)
			}
		}
		switch {
		case len(by) == 0:
			t.Errorf("spec.%s is neither honoured nor refused: decide, and list it in fields.go and docs/compatibility.md", leaf)
		case len(by) > 1:
			t.Errorf("spec.%s is listed more than once: %v", leaf, by)
		}
	}
	for _, e := range entries {
		if !slices.ContainsFunc(leaves, func(leaf string) bool { return covers(e, leaf) }) {
			t.Errorf("%q names no field of RolloutSpec", e)
		}
	}
}

// opaque types are leaves: Kubernetes' own types, honoured whole where they
// are used, and free-form values.
var opaque = map[reflect.Type]bool{
	reflect.TypeFor[corev1.PodTemplateSpec](): true,
	reflect.TypeFor[metav1.LabelSelector]():   true,
	reflect.TypeFor[metav1.Time]():            true,
	reflect.TypeFor[intstr.IntOrString]():     true,
	reflect.TypeFor[json.RawMessage]():        true,
}

// walkFields appends the JSON path of every leaf field under t.
func walkFields(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice && !opaque[t] {
		walkFields(t.Elem(), prefix+"[]", out)
		return
	}
	if t.Kind() != reflect.Struct || opaque[t] || t.NumField() == 0 {
		*out = append(*out, prefix) // an empty struct is a flag: set or not
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			walkFields(f.Type, prefix, out) // inlined
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		walkFields(f.Type, path, out)
	}
}

var _ = Describe("Fields Sluice does not act on", func() {
	// Argo accepts these on a canary without trafficRouting and does nothing
	// with them; so does Sluice, or Rollouts that work on Argo would break.
	DescribeTable("are accepted where Argo ignores them",
		func(edit func(*rolloutsv1alpha1.CanaryStrategy)) {
			ro := builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50)).Edit(func(ro *rolloutsv1alpha1.Rollout) {
				edit(ro.Spec.Strategy.Canary)
			}).Obj()
			res := Plan(Observation{Rollout: ro, Now: time.Now()})
			Expect(res.Status.Message).NotTo(ContainSubstring("InvalidSpec"))
			Expect(res.Actions).NotTo(BeEmpty())
		},
		Entry("scaleDownDelayRevisionLimit", func(c *rolloutsv1alpha1.CanaryStrategy) { c.ScaleDownDelayRevisionLimit = new(int32(1)) }),
		Entry("abortScaleDownDelaySeconds", func(c *rolloutsv1alpha1.CanaryStrategy) { c.AbortScaleDownDelaySeconds = new(int32(0)) }),
		Entry("minPodsPerReplicaSet", func(c *rolloutsv1alpha1.CanaryStrategy) { c.MinPodsPerReplicaSet = new(int32(2)) }),
	)

	DescribeTable("are InvalidSpec, naming the field",
		func(edit func(*rolloutsv1alpha1.CanaryStrategy), message string) {
			ro := builders.Rollout("web").Replicas(2).Canary(builders.SetWeight(50)).Edit(func(ro *rolloutsv1alpha1.Rollout) {
				edit(ro.Spec.Strategy.Canary)
			}).Obj()
			res := Plan(Observation{Rollout: ro, Now: time.Now()})
			Expect(res.Actions).To(BeEmpty())
			Expect(res.Status.Message).To(ContainSubstring(message))
		},
		Entry("pingPong", func(c *rolloutsv1alpha1.CanaryStrategy) {
			c.PingPong = &rolloutsv1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}
		}, "spec.strategy.canary.pingPong: Forbidden: not supported"),
		Entry("scaleDownDelaySeconds without trafficRouting", func(c *rolloutsv1alpha1.CanaryStrategy) {
			c.ScaleDownDelaySeconds = new(int32(30))
		}, "spec.strategy.canary.scaleDownDelaySeconds: Forbidden: needs trafficRouting"),
		Entry("dynamicStableScale without trafficRouting", func(c *rolloutsv1alpha1.CanaryStrategy) {
			c.DynamicStableScale = true
		}, "spec.strategy.canary.dynamicStableScale: Forbidden: needs trafficRouting"),
		Entry("an experiment template's weight without trafficRouting", func(c *rolloutsv1alpha1.CanaryStrategy) {
			c.Steps = []rolloutsv1alpha1.CanaryStep{{Experiment: &rolloutsv1alpha1.RolloutExperimentStep{
				Templates: []rolloutsv1alpha1.RolloutExperimentTemplate{{Name: "canary", SpecRef: rolloutsv1alpha1.CanarySpecRef, Weight: new(int32(10))}},
			}}}
		}, "spec.strategy.canary.steps[0].experiment.templates[0].weight: Invalid value: 10: needs trafficRouting"),
		Entry("a plugin step", func(c *rolloutsv1alpha1.CanaryStrategy) {
			c.Steps = []rolloutsv1alpha1.CanaryStep{{Plugin: &rolloutsv1alpha1.PluginStep{Name: "acme/step"}}}
		}, "spec.strategy.canary.steps[0].plugin: Forbidden"),
		Entry("another traffic router", func(c *rolloutsv1alpha1.CanaryStrategy) {
			c.TrafficRouting = &rolloutsv1alpha1.RolloutTrafficRouting{Nginx: &rolloutsv1alpha1.NginxTrafficRouting{StableIngress: "web"}}
		}, "spec.strategy.canary.trafficRouting.nginx: Invalid value"),
	)
})
