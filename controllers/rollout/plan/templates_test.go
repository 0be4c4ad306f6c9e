package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/test/builders"
)

var _ = Describe("Flattening an analysis' templates", func() {
	metric := func(name string) rolloutsv1alpha1.Metric { return rolloutsv1alpha1.Metric{Name: name} }
	arg := func(name string, value ...string) rolloutsv1alpha1.Argument {
		a := rolloutsv1alpha1.Argument{Name: name}
		if len(value) > 0 {
			a.Value = &value[0]
		}
		return a
	}
	ref := func(name string) rolloutsv1alpha1.AnalysisTemplateRef {
		return rolloutsv1alpha1.AnalysisTemplateRef{TemplateName: name}
	}
	clusterRef := func(name string) rolloutsv1alpha1.AnalysisTemplateRef {
		return rolloutsv1alpha1.AnalysisTemplateRef{TemplateName: name, ClusterScope: ptr.To(true)}
	}
	template := func(name string, spec rolloutsv1alpha1.AnalysisTemplateSpec) *rolloutsv1alpha1.AnalysisTemplate {
		return &rolloutsv1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	}
	obs := func(templates ...*rolloutsv1alpha1.AnalysisTemplate) Observation {
		o := Observation{Templates: map[string]*rolloutsv1alpha1.AnalysisTemplate{},
			ClusterTemplates: map[string]*rolloutsv1alpha1.ClusterAnalysisTemplate{
				"global": {ObjectMeta: metav1.ObjectMeta{Name: "global"}, Spec: rolloutsv1alpha1.AnalysisTemplateSpec{
					Metrics: []rolloutsv1alpha1.Metric{metric("cluster-latency")},
					// A cluster template may include one of the Rollout's namespace.
					Templates: []rolloutsv1alpha1.AnalysisTemplateRef{ref("base")},
				}},
			}}
		for _, t := range templates {
			o.Templates[t.Name] = t
		}
		return o
	}
	base := template("base", rolloutsv1alpha1.AnalysisTemplateSpec{
		Metrics: []rolloutsv1alpha1.Metric{metric("errors")}, Args: []rolloutsv1alpha1.Argument{arg("service")},
		DryRun: []rolloutsv1alpha1.DryRun{{MetricName: "errors"}},
	})
	path := field.NewPath("spec", "strategy", "canary", "steps").Index(1).Child("analysis")

	DescribeTable("merges what the templates include, or names what is wrong",
		func(o Observation, refs []rolloutsv1alpha1.AnalysisTemplateRef, wantMetrics []string, wantArgs map[string]string, wantErr string) {
			spec, err := analysisSpec(o, &rolloutsv1alpha1.RolloutAnalysis{Templates: refs}, path)
			if wantErr != "" {
				Expect(err).To(HaveOccurred())
				Expect(err.Error()).To(Equal(wantErr))
				return
			}
			Expect(err).To(BeNil())
			var names []string
			for _, m := range spec.Metrics {
				names = append(names, m.Name)
			}
			Expect(names).To(Equal(wantMetrics))
			args := map[string]string{}
			for _, a := range spec.Args {
				args[a.Name] = ptr.Deref(a.Value, "")
			}
			Expect(args).To(Equal(wantArgs))
		},
		Entry("one template", obs(base), []rolloutsv1alpha1.AnalysisTemplateRef{ref("base")},
			[]string{"errors"}, map[string]string{"service": ""}, ""),
		Entry("a template including another, outer metrics first",
			obs(base, template("outer", rolloutsv1alpha1.AnalysisTemplateSpec{
				Metrics:   []rolloutsv1alpha1.Metric{metric("latency")},
				Args:      []rolloutsv1alpha1.Argument{arg("service", "web")},
				Templates: []rolloutsv1alpha1.AnalysisTemplateRef{ref("base")},
			})),
			[]rolloutsv1alpha1.AnalysisTemplateRef{ref("outer")},
			[]string{"latency", "errors"}, map[string]string{"service": "web"}, ""),
		Entry("a template reached twice is merged once",
			obs(base, template("a", rolloutsv1alpha1.AnalysisTemplateSpec{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{ref("base")}})),
			[]rolloutsv1alpha1.AnalysisTemplateRef{ref("a"), ref("base")},
			[]string{"errors"}, map[string]string{"service": ""}, ""),
		Entry("a cluster template including a namespaced one", obs(base),
			[]rolloutsv1alpha1.AnalysisTemplateRef{clusterRef("global")},
			[]string{"cluster-latency", "errors"}, map[string]string{"service": ""}, ""),
		Entry("an included template missing",
			obs(template("outer", rolloutsv1alpha1.AnalysisTemplateSpec{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{ref("base")}})),
			[]rolloutsv1alpha1.AnalysisTemplateRef{ref("outer")}, nil, nil,
			`spec.strategy.canary.steps[1].analysis.templates[0].templateName: Invalid value: "outer": AnalysisTemplate "base" not found (included by AnalysisTemplate "outer")`),
		Entry("templates that include each other",
			obs(template("a", rolloutsv1alpha1.AnalysisTemplateSpec{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{ref("b")}}),
				template("b", rolloutsv1alpha1.AnalysisTemplateSpec{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{ref("a")}})),
			[]rolloutsv1alpha1.AnalysisTemplateRef{ref("a")}, nil, nil,
			`spec.strategy.canary.steps[1].analysis.templates[0].templateName: Invalid value: "a": templates include each other: AnalysisTemplate "a" -> AnalysisTemplate "b" -> AnalysisTemplate "a"`),
		Entry("two metrics of one name",
			obs(base, template("copy", rolloutsv1alpha1.AnalysisTemplateSpec{Metrics: []rolloutsv1alpha1.Metric{metric("errors")}})),
			[]rolloutsv1alpha1.AnalysisTemplateRef{ref("base"), ref("copy")}, nil, nil,
			`spec.strategy.canary.steps[1].analysis.templates: Invalid value: "base, copy": two metrics are named "errors"`),
		Entry("an argument given two values",
			obs(template("a", rolloutsv1alpha1.AnalysisTemplateSpec{Args: []rolloutsv1alpha1.Argument{arg("service", "web")}}),
				template("b", rolloutsv1alpha1.AnalysisTemplateSpec{Args: []rolloutsv1alpha1.Argument{arg("service", "api")}})),
			[]rolloutsv1alpha1.AnalysisTemplateRef{ref("a"), ref("b")}, nil, nil,
			`spec.strategy.canary.steps[1].analysis.templates: Invalid value: "a, b": argument "service" is given two values: "web" and "api"`),
		Entry("no template", obs(), nil, nil, nil,
			`spec.strategy.canary.steps[1].analysis.templates: Required value: an analysis needs a template`),
	)

	It("leaves the templates it read unchanged", func() {
		o := obs(base)
		_, err := analysisSpec(o, &rolloutsv1alpha1.RolloutAnalysis{Templates: []rolloutsv1alpha1.AnalysisTemplateRef{ref("base"), clusterRef("global")}}, path)
		Expect(err).To(BeNil())
		Expect(o.Templates["base"].Spec.Args[0].Value).To(BeNil())
		Expect(o.Templates["base"].Spec.Metrics).To(HaveLen(1))
	})
})

var _ = Describe("An analysis argument's valueFrom.fieldRef", func() {
	analysis := func(path string) *rolloutsv1alpha1.RolloutAnalysis {
		return &rolloutsv1alpha1.RolloutAnalysis{
			Templates: []rolloutsv1alpha1.AnalysisTemplateRef{{TemplateName: "t"}},
			Args: []rolloutsv1alpha1.AnalysisRunArgument{{Name: "x",
				ValueFrom: &rolloutsv1alpha1.ArgumentValueFrom{FieldRef: &rolloutsv1alpha1.FieldRef{FieldPath: path}}}},
		}
	}
	obs := Observation{
		Rollout:   builders.Rollout("web").Obj(),
		Templates: map[string]*rolloutsv1alpha1.AnalysisTemplate{"t": {Spec: rolloutsv1alpha1.AnalysisTemplateSpec{Args: []rolloutsv1alpha1.Argument{{Name: "x"}}}}},
	}

	It("accepts a field of the Rollout", func() {
		Expect(validateAnalysis(obs, analysis("metadata.name"), field.NewPath("a"))).To(BeNil())
	})

	It("is a field error naming the path when the Rollout has no such field", func() {
		err := validateAnalysis(obs, analysis("spec.nothing"), field.NewPath("a"))
		Expect(err).NotTo(BeNil())
		Expect(err.Field).To(Equal("a.args[0].valueFrom.fieldRef.fieldPath"))
	})
})
