package controllers_test

import (
	"errors"
	"reflect"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/controllers"
	"github.com/sluicehq/sluice/internal/instance"
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
			for _, r := range controllers.RequiredResources(selected, namespaced, controllers.Kinds{}) {
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
		argoCD := controllers.RequiredResources([]string{"application"}, false, controllers.Kinds{ArgoCDApplications: true})
		Expect(argoCD).To(ContainElement(HaveField("Group", "argoproj.io")),
			"serving Argo CD's Application waits for its CRD too")
		Expect(names([]string{"experiment"}, true)).To(Equal([]string{
			"experiments.argoproj.io", "analysisruns.argoproj.io", "analysistemplates.argoproj.io"}))
	})

	It("caches by selector only the kinds of the selected controllers", func() {
		Expect(kinds(controllers.CacheSelectors(instance.Scope{}, []string{"application"}, controllers.Kinds{}))).To(Equal(map[string]string{
			"Application": "!argo-rollouts.argoproj.io/controller-instance-id",
		}), "naming Rollouts would make the manager look up a CRD it does not need")
		Expect(kinds(controllers.CacheSelectors(instance.Scope{}, []string{"analysisrun"}, controllers.Kinds{}))).To(Equal(map[string]string{
			"AnalysisRun": "!argo-rollouts.argoproj.io/controller-instance-id",
			"Job":         "analysisrun.argoproj.io/uid",
		}))
		Expect(kinds(controllers.CacheSelectors(instance.Scope{}, []string{"experiment"}, controllers.Kinds{}))).To(Equal(map[string]string{
			"Experiment":  "!argo-rollouts.argoproj.io/controller-instance-id",
			"AnalysisRun": "!argo-rollouts.argoproj.io/controller-instance-id",
			"ReplicaSet":  "rollouts-pod-template-hash",
		}))
	})

	It("caches only the instance's Rollouts, Experiments, AnalysisRuns and Applications", func() {
		Expect(kinds(controllers.CacheSelectors(instance.Scope{ID: "blue"}, controllers.Default.Names(), controllers.Kinds{}))).To(Equal(map[string]string{
			"Rollout":     "argo-rollouts.argoproj.io/controller-instance-id=blue",
			"Experiment":  "argo-rollouts.argoproj.io/controller-instance-id=blue",
			"AnalysisRun": "argo-rollouts.argoproj.io/controller-instance-id=blue",
			"Application": "argo-rollouts.argoproj.io/controller-instance-id=blue",
			"ReplicaSet":  "rollouts-pod-template-hash",
			"Job":         "analysisrun.argoproj.io/uid",
		}))
	})

	It("caches only the shard's objects of every kind, children included", func() {
		scope, err := instance.NewScope("blue", "sharding.fluxcd.io/key=a")
		Expect(err).NotTo(HaveOccurred())
		const mine = "argo-rollouts.argoproj.io/controller-instance-id=blue,sharding.fluxcd.io/key=a"
		Expect(kinds(controllers.CacheSelectors(scope, controllers.Default.Names(), controllers.Kinds{ArgoCDApplications: true, Flux: true}))).To(Equal(map[string]string{
			"Rollout":       mine,
			"Experiment":    mine,
			"AnalysisRun":   mine,
			"Application":   mine,
			"Unstructured":  mine, // Argo CD's Application
			"Kustomization": mine,
			"GitRepository": mine,
			// Children carry their parent's shard label, not its instance
			// label (as in Argo Rollouts).
			"ReplicaSet": "rollouts-pod-template-hash,sharding.fluxcd.io/key=a",
			"Job":        "analysisrun.argoproj.io/uid,sharding.fluxcd.io/key=a",
		}))
		main, err := instance.NewScope("", "!sharding.fluxcd.io/key")
		Expect(err).NotTo(HaveOccurred())
		Expect(kinds(controllers.CacheSelectors(main, []string{"rollout"}, controllers.Kinds{}))).To(HaveKeyWithValue(
			"ReplicaSet", "rollouts-pod-template-hash,!sharding.fluxcd.io/key"), "the main shard holds the children of no shard")
	})
})

// kinds shows cache selectors by the Go type name of their kind.
func kinds(selectors map[client.Object]cache.ByObject) map[string]string {
	out := map[string]string{}
	for obj, by := range selectors {
		out[reflect.TypeOf(obj).Elem().Name()] = by.Label.String()
	}
	return out
}
