package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/internal/repo"
)

// The seed document's YAML is the user-facing contract: every manifest in
// examples/seed must be accepted by the CRDs as written.
var _ = Describe("The seed's manifests", func() {
	BeforeEach(func(ctx context.Context) {
		for _, ns := range []string{"argocd", "production", "flux-system"} {
			err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
			if !apierrors.IsAlreadyExists(err) {
				Expect(err).NotTo(HaveOccurred())
			}
		}
	})

	DescribeTable("are accepted by the API server as written",
		func(ctx context.Context, file string) {
			obj := readExample(file)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			DeferCleanup(func(ctx context.Context) { Expect(k8sClient.Delete(ctx, obj)).To(Succeed()) })

			// Nothing the seed wrote was pruned or changed by the schema on
			// the way in (defaults may be added).
			stored := &unstructured.Unstructured{}
			stored.SetGroupVersionKind(obj.GroupVersionKind())
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), stored)).To(Succeed())
			Expect(fieldsLost(asJSON(readExample(file).Object["spec"]), asJSON(stored.Object["spec"]), ".spec")).To(BeEmpty())
		},
		Entry("the Application", "application.yaml"),
		Entry("the app of apps", "app-of-apps.yaml"),
		Entry("the automated sync policy with retry", "application-sync-policy.yaml"),
		Entry("the canary Rollout", "rollout-canary.yaml"),
		Entry("the blue-green Rollout", "rollout-bluegreen.yaml"),
		Entry("Flux's GitRepository", "flux-gitrepository.yaml"),
		Entry("Flux's Kustomization", "flux-kustomization.yaml"),
	)

	It("accepts an Application aimed at another cluster: the cluster is the engine's to resolve", func(ctx context.Context) {
		obj := readExample("application.yaml")
		obj.SetName("elsewhere")
		Expect(unstructured.SetNestedField(obj.Object, "https://10.1.2.3:6443", "spec", "destination", "server")).To(Succeed())
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		DeferCleanup(func(ctx context.Context) { Expect(k8sClient.Delete(ctx, obj)).To(Succeed()) })
	})
})

func readExample(name string) *unstructured.Unstructured {
	GinkgoHelper()
	root, err := repo.Root()
	Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(root, "examples", "seed", name))
	Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal(data, &obj.Object)).To(Succeed())
	if obj.GetNamespace() == "" {
		obj.SetNamespace("default")
	}
	return obj
}

// asJSON round-trips a value through JSON, so numbers compare alike whether
// they came from YAML (float64) or the API server (int64).
func asJSON(v any) any {
	GinkgoHelper()
	data, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	var out any
	Expect(json.Unmarshal(data, &out)).To(Succeed())
	return out
}

// fieldsLost lists the paths of want whose value got lacks or differs from.
// Fields only got has (defaults) are fine.
func fieldsLost(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path}
		}
		var lost []string
		for k, v := range w {
			lost = append(lost, fieldsLost(v, g[k], path+"."+k)...)
		}
		return lost
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{path}
		}
		var lost []string
		for i := range w {
			lost = append(lost, fieldsLost(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return lost
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: wrote %v, stored %v", path, want, got)}
		}
		return nil
	}
}
