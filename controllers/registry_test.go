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
})
