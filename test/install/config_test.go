package install_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// What only Helm writes, and config/default therefore lacks: its own labels
// and the annotation that keeps CRDs on uninstall. Everything else of every
// object must be the same.
var (
	helmOnlyLabels      = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}
	helmOnlyAnnotations = []string{"helm.sh/resource-policy"}
)

// builds holds each directory's build: the CRDs make one take seconds.
var builds sync.Map // directory -> manifest

// kustomizeBuild is `kustomize build` of a directory of the checkout.
func kustomizeBuild(dir string) manifest {
	if m, ok := builds.Load(dir); ok {
		return m.(manifest)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, dir))
	Expect(err).NotTo(HaveOccurred())
	out, err := resources.AsYaml()
	Expect(err).NotTo(HaveOccurred())
	m, err := parseManifest(out)
	Expect(err).NotTo(HaveOccurred())
	builds.Store(dir, m)
	return m
}

// withoutHelmOnly is a copy of an object without what only Helm writes.
func withoutHelmOnly(o *unstructured.Unstructured) map[string]any {
	c := o.DeepCopy()
	for _, path := range [][]string{{"metadata", "labels"}, {"spec", "template", "metadata", "labels"}} {
		labels, found, err := unstructured.NestedStringMap(c.Object, path...)
		Expect(err).NotTo(HaveOccurred())
		if !found {
			continue
		}
		for _, l := range helmOnlyLabels {
			delete(labels, l)
		}
		Expect(unstructured.SetNestedStringMap(c.Object, labels, path...)).To(Succeed())
	}
	annotations := c.GetAnnotations()
	for _, a := range helmOnlyAnnotations {
		delete(annotations, a)
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	c.SetAnnotations(annotations)
	return c.Object
}

// byKey indexes objects by kind, namespace and name.
func byKey(objects []*unstructured.Unstructured) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objects {
		out[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = withoutHelmOnly(o)
	}
	return out
}

var _ = Describe("config/default", func() {
	It("installs what the chart installs by default, but for Helm's own labels and the Namespace", func() {
		kustomized := kustomizeBuild("config/default")

		// The kustomization makes its namespace; Helm leaves that to
		// --create-namespace.
		Expect(kustomized.names("Namespace")).To(Equal([]string{"Namespace/" + releaseNamespace}))
		var objects []*unstructured.Unstructured
		for _, o := range kustomized.objects {
			if o.GetKind() != "Namespace" {
				objects = append(objects, o)
			}
		}

		want, got := byKey(render(defaults).objects), byKey(objects)
		Expect(keys(got)).To(ConsistOf(keys(want)), "the same objects")
		for key, chart := range want {
			Expect(cmp.Diff(chart, got[key])).To(BeEmpty(), "%s: config/default (+) differs from the chart (-)", key)
		}
	})

	It("renders objects whose Go types accept every field", func() {
		kustomized := kustomizeBuild("config/default")
		for i, doc := range kustomized.docs {
			_, err := decodeStrictOnce(doc)
			Expect(err).NotTo(HaveOccurred(), kustomized.objects[i].GetKind()+" "+kustomized.objects[i].GetName())
		}
	})
})

// The chart reads its roles and CRDs from the copies `make manifests` puts
// in charts/sluice/files; config/ holds the originals.
var _ = Describe("the chart's copies of config/", func() {
	DescribeTable("are the files `make manifests` wrote",
		func(original, copies string) {
			originals, err := filepath.Glob(filepath.Join(root, original))
			Expect(err).NotTo(HaveOccurred())
			Expect(originals).NotTo(BeEmpty())
			for _, o := range originals {
				want, err := os.ReadFile(o)
				Expect(err).NotTo(HaveOccurred())
				got, err := os.ReadFile(filepath.Join(root, copies, filepath.Base(o)))
				Expect(err).NotTo(HaveOccurred(), "run `make manifests`")
				Expect(string(got)).To(Equal(string(want)), "%s is stale: run `make manifests`", filepath.Base(o))
			}
		},
		Entry("CRDs", "config/crd/bases/*.yaml", "charts/sluice/files/crds"),
		Entry("roles", "config/rbac/*_role.yaml", "charts/sluice/files/rbac"),
		Entry("the opt-in write role", "config/rbac/application_write_all.yaml", "charts/sluice/files/rbac"),
	)

	// Each role of config/rbac, as the chart names it for release "sluice",
	// and a render that has it.
	DescribeTable("grant in every render what config/rbac grants",
		func(file, kind, name string, values ...string) {
			configured := manifestFile(filepath.Join("config", "rbac", file))
			want := configured.get(kind, name)
			Expect(want).NotTo(BeNil(), "%s holds %s %s", file, kind, name)
			wantRules := rulesOf(configured, want)
			for _, v := range values {
				m := render(v)
				found := false
				for _, r := range rolesOf(m) {
					if r.name == name {
						Expect(r.rules).To(Equal(wantRules), "%s %s with values %q", r.kind, r.name, v)
						found = true
					}
				}
				Expect(found).To(BeTrue(), "%s with values %q", name, v)
			}
		},
		Entry(nil, "rollout_role.yaml", "ClusterRole", "sluice-rollout", defaults, namespaced, rolloutOnly),
		Entry(nil, "experiment_role.yaml", "ClusterRole", "sluice-experiment", defaults, namespaced, experimentOnly),
		Entry(nil, "analysisrun_role.yaml", "ClusterRole", "sluice-analysisrun", defaults, namespaced, analysisrunOnly),
		Entry(nil, "application_role.yaml", "ClusterRole", "sluice-application", defaults, namespaced, applicationOnly),
		Entry(nil, "manager_role.yaml", "ClusterRole", "sluice-manager", defaults, namespaced, analysisrunOnly),
		Entry(nil, "manager_role.yaml", "Role", "sluice-leader-election", defaults, namespaced, rolloutOnly),
		Entry(nil, "notifications_role.yaml", "Role", "sluice-notifications", defaults, namespaced, rolloutOnly),
		Entry(nil, "metrics_auth_role.yaml", "ClusterRole", "sluice-metrics-auth", defaults, namespaced),
		Entry(nil, "metrics_reader_role.yaml", "ClusterRole", "sluice-metrics-reader", defaults, namespaced),
		Entry(nil, "application_write_all.yaml", "ClusterRole", "sluice-application-write-all", writeAll, namespacedWriteAll),
	)

	It("fits every object in a client-side kubectl apply's annotation", func() {
		// kubectl apply without --server-side records each object, as
		// JSON, in the last-applied-configuration annotation, and the API
		// server refuses annotations over 256 KiB in all.
		for _, o := range kustomizeBuild("config/default").objects {
			data, err := json.Marshal(o.Object)
			Expect(err).NotTo(HaveOccurred())
			Expect(len(data)).To(BeNumerically("<", 200*1024), "%s %s", o.GetKind(), o.GetName())
		}
	})

	It("leaves the opt-in write role out of config/default", func() {
		Expect(rolesWritingEverything(kustomizeBuild("config/default"))).To(BeEmpty())
	})
})

// manifestFile parses a YAML file of the checkout.
func manifestFile(path string) manifest {
	data, err := os.ReadFile(filepath.Join(root, path))
	Expect(err).NotTo(HaveOccurred())
	m, err := parseManifest(data)
	Expect(err).NotTo(HaveOccurred())
	return m
}

// rulesOf are the rules of a Role or ClusterRole.
func rulesOf(m manifest, o *unstructured.Unstructured) []rbacv1.PolicyRule {
	switch obj := typedObject(m, o).(type) {
	case *rbacv1.Role:
		return obj.Rules
	case *rbacv1.ClusterRole:
		return obj.Rules
	}
	Fail(o.GetKind() + " is not a role")
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
