package controllers_test

import (
	"errors"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sluicehq/sluice/controllers"
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller registry")
}

var _ = Describe("The controller registry", func() {
	noop := func(ctrl.Manager, controllers.Options) error { return nil }
	reg := controllers.Registry{"rollout": noop, "analysisrun": noop, "application": noop}

	DescribeTable("Select resolves --controllers",
		func(spec string, want []string, wantErr string) {
			got, err := reg.Select(spec)
			if wantErr != "" {
				Expect(err).To(MatchError(ContainSubstring(wantErr)))
				return
			}
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry("* means every controller, sorted", "*", []string{"analysisrun", "application", "rollout"}, ""),
		Entry("empty means every controller too", "", []string{"analysisrun", "application", "rollout"}, ""),
		Entry("a list keeps the order given", "rollout,application", []string{"rollout", "application"}, ""),
		Entry("spaces and repeats are forgiven", " rollout , rollout,", []string{"rollout"}, ""),
		Entry("an unknown name names the known ones", "rollouts",
			nil, `unknown controller "rollouts"; known controllers: analysisrun, application, rollout`),
	)

	It("says so when a build has no controllers", func() {
		_, err := controllers.Registry{}.Select("rollout")
		Expect(err).To(MatchError(ContainSubstring("known controllers: none in this build")))
	})

	It("Setup stops at the first failing controller and names it", func() {
		var ran []string
		failing := controllers.Registry{
			"a": func(ctrl.Manager, controllers.Options) error { ran = append(ran, "a"); return errors.New("boom") },
			"b": func(ctrl.Manager, controllers.Options) error { ran = append(ran, "b"); return nil },
		}
		err := failing.Setup(nil, []string{"a", "b"}, controllers.Options{})
		Expect(err).To(MatchError("setting up the a controller: boom"))
		Expect(ran).To(Equal([]string{"a"}))
	})

	It("asks to wait only for the CRDs the selected controllers need", func() {
		names := func(selected []string, namespaced bool) []string {
			var out []string
			for _, r := range controllers.RequiredResources(selected, namespaced) {
				out = append(out, r.Resource+"."+r.Group)
			}
			return out
		}
		Expect(names([]string{"rollout", "analysisrun"}, false)).To(Equal([]string{
			"rollouts.argoproj.io", "analysisruns.argoproj.io", "analysistemplates.argoproj.io", "experiments.argoproj.io",
			"clusteranalysistemplates.argoproj.io"}))
		Expect(names([]string{"rollout"}, true)).NotTo(ContainElement("clusteranalysistemplates.argoproj.io"),
			"namespaced mode reads nothing cluster-scoped")
		Expect(names([]string{"application"}, false)).To(Equal([]string{"applications.gitops.sluice.dev"}))
		Expect(names([]string{"experiment"}, true)).To(Equal([]string{
			"experiments.argoproj.io", "analysisruns.argoproj.io", "analysistemplates.argoproj.io"}))
	})

	It("caches by selector only the kinds of the selected controllers", func() {
		Expect(controllers.CacheSelectors("", []string{"application"})).To(BeEmpty(),
			"naming Rollouts would make the manager look up a CRD it does not need")
		Expect(controllers.CacheSelectors("", []string{"rollout", "analysisrun"})).To(HaveLen(4),
			"Rollouts, their Experiments, ReplicaSets and analysis Jobs")
		Expect(controllers.CacheSelectors("", []string{"experiment"})).To(HaveLen(2),
			"this instance's Experiments, and ReplicaSets with a pod-template hash")
	})
})
