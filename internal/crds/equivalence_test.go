package crds_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/internal/repo"
)

// knownDifferences are the schema paths where Sluice's generated CRDs
// knowingly differ from the ones Argo Rollouts v1.10.0 publishes, each with
// its reason. A difference is written "+path" (only Sluice's CRD has it) or
// "-path" (only Argo's has it). Nothing Argo's CRDs accept may be missing
// from ours, so every entry is an addition.
//
// All of them come from one cause: Argo generated its CRDs from k8s.io/api
// v0.34, and Sluice builds with v0.37, whose PodSpec and JobSpec gained the
// fields below. A pod template using them is valid on the clusters Sluice
// supports, so the CRD accepts them.
var knownDifferences = []struct {
	pattern *regexp.Regexp
	reason  string
}{
	{regexp.MustCompile(`^\+.*\.httpGet\.protocol$`), "core/v1 HTTPGetAction.protocol, added after v0.34"},
	{regexp.MustCompile(`^\+.*Probe\.grpc\.mode$`), "core/v1 GRPCAction.mode, added after v0.34"},
	{regexp.MustCompile(`^\+.*\.volumeMounts\[\]\.bindMountOptions(\[\])?$`), "core/v1 VolumeMount.bindMountOptions, added after v0.34"},
	{regexp.MustCompile(`^\+.*\.template\.spec\.evictionResponders(\[\].*)?$`), "core/v1 PodSpec.evictionResponders, added after v0.34"},
	{regexp.MustCompile(`^\+.*\.template\.spec\.schedulingGroup(\..*)?$`), "core/v1 PodSpec.schedulingGroup, added after v0.34"},
	{regexp.MustCompile(`^\+\.spec\.metrics\[\]\.provider\.job\.spec\.scheduling(\..*)?$`), "batch/v1 JobSpec.scheduling, added after v0.34"},
}

// The generated CRDs (make manifests) must accept and describe the same
// objects as the CRDs Argo Rollouts publishes for the same types, so manifests
// and tools written for Argo work unchanged against Sluice.
var _ = Describe("argoproj.io CRDs generated from Argo's types", func() {
	DescribeTable("match the CRD Argo Rollouts publishes",
		func(kind, ours, theirs string) {
			root, err := repo.Root()
			Expect(err).NotTo(HaveOccurred())
			argo, err := repo.ModuleDir("github.com/argoproj/argo-rollouts")
			Expect(err).NotTo(HaveOccurred())

			got := readCRD(filepath.Join(root, "config", "crd", "bases", ours))
			want := readCRD(filepath.Join(argo, "manifests", "crds", theirs))

			Expect(got.Spec.Names.Kind).To(Equal(kind))
			Expect(got.Spec.Group).To(Equal(want.Spec.Group))
			Expect(got.Spec.Names).To(Equal(want.Spec.Names))
			Expect(got.Spec.Scope).To(Equal(want.Spec.Scope))
			Expect(versionNames(got)).To(Equal(versionNames(want)))
			for i := range want.Spec.Versions {
				g, w := got.Spec.Versions[i], want.Spec.Versions[i]
				By("comparing version " + w.Name)
				Expect(g.Served).To(Equal(w.Served))
				Expect(g.Storage).To(Equal(w.Storage))
				Expect(g.Subresources).To(Equal(w.Subresources))
				Expect(g.AdditionalPrinterColumns).To(Equal(w.AdditionalPrinterColumns))

				gotPaths := schemaPaths(g.Schema.OpenAPIV3Schema)
				wantPaths := schemaPaths(w.Schema.OpenAPIV3Schema)
				Expect(unexplained(gotPaths, wantPaths)).To(BeEmpty(),
					"schema paths differ from Argo's; fix the generator or add the path to knownDifferences with a reason")
			}
		},
		Entry(nil, "Rollout", "argoproj.io_rollouts.yaml", "rollout-crd.yaml"),
		Entry(nil, "AnalysisTemplate", "argoproj.io_analysistemplates.yaml", "analysis-template-crd.yaml"),
		Entry(nil, "ClusterAnalysisTemplate", "argoproj.io_clusteranalysistemplates.yaml", "cluster-analysis-template-crd.yaml"),
		Entry(nil, "AnalysisRun", "argoproj.io_analysisruns.yaml", "analysis-run-crd.yaml"),
		Entry(nil, "Experiment", "argoproj.io_experiments.yaml", "experiment-crd.yaml"),
	)
})

func readCRD(path string) *apiextensionsv1.CustomResourceDefinition {
	GinkgoHelper()
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "run `make manifests` to generate the CRDs")
	var crd apiextensionsv1.CustomResourceDefinition
	Expect(yaml.UnmarshalStrict(data, &crd)).To(Succeed(), path)
	return &crd
}

func versionNames(crd *apiextensionsv1.CustomResourceDefinition) []string {
	var names []string
	for _, v := range crd.Spec.Versions {
		names = append(names, v.Name)
	}
	return names
}

// schemaPaths lists every node of a schema as a path: ".a.b" for properties,
// "[]" for array items, "{}" for map values. A node that keeps unknown fields
// is marked with a trailing "*", so a relaxation missing on one side shows up
// as a difference too.
func schemaPaths(s *apiextensionsv1.JSONSchemaProps) map[string]bool {
	paths := map[string]bool{}
	var walk func(prefix string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(prefix string, s *apiextensionsv1.JSONSchemaProps) {
		paths[prefix] = true
		if s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
			paths[prefix+"*"] = true
		}
		for name, child := range s.Properties {
			walk(prefix+"."+name, &child)
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(prefix+"[]", s.Items.Schema)
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
			walk(prefix+"{}", s.AdditionalProperties.Schema)
		}
	}
	walk("", s)
	return paths
}

// unexplained lists the paths present on one side only that knownDifferences
// does not explain.
func unexplained(got, want map[string]bool) []string {
	var diffs []string
	for p := range got {
		if !want[p] {
			diffs = append(diffs, "+"+p)
		}
	}
	for p := range want {
		if !got[p] {
			diffs = append(diffs, "-"+p)
		}
	}
	diffs = slices.DeleteFunc(diffs, explained)
	sort.Strings(diffs)
	return diffs
}

func explained(diff string) bool {
	for _, known := range knownDifferences {
		if known.pattern.MatchString(diff) {
			return true
		}
	}
	return false
}
