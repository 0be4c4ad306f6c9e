package install_test

import (
	"crypto/sha256"
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// strictScheme knows every kind the chart may render: the core API, CRDs and
// the Prometheus Operator's ServiceMonitor.
var strictScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(monitoringv1.AddToScheme(s))
	return s
}()

// strictDecoder fails on a field the Go type does not have, a duplicate
// key, or a kind the scheme does not know: what the API server's strict
// field validation would refuse, checked offline.
var strictDecoder = json.NewSerializerWithOptions(json.DefaultMetaFactory, strictScheme, strictScheme,
	json.SerializerOptions{Yaml: true, Strict: true})

// decodeStrict decodes one YAML document into its typed object.
func decodeStrict(doc []byte) (runtime.Object, error) {
	obj, _, err := strictDecoder.Decode(doc, nil, nil)
	return obj, err
}

// decoded holds the documents decodeStrictOnce has decoded: the CRDs, three
// megabytes, are the same in most renders.
var decoded sync.Map // sha256 of a document -> decodeResult

type decodeResult struct {
	obj runtime.Object
	err error
}

// decodeStrictOnce is decodeStrict, once per distinct document.
func decodeStrictOnce(doc []byte) (runtime.Object, error) {
	key := sha256.Sum256(doc)
	if r, ok := decoded.Load(key); ok {
		return r.(decodeResult).obj, r.(decodeResult).err
	}
	obj, err := decodeStrict(doc)
	decoded.Store(key, decodeResult{obj, err})
	return obj, err
}

// clusterScoped are the kinds the chart renders that have no namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true,
}

// checkMetadata is what the API server checks of any object's metadata: a
// valid name (a DNS label for a Service), valid labels and annotations, and
// a namespace exactly when the kind has one, here the release's.
func checkMetadata(kind string, meta metav1.Object) field.ErrorList {
	nameFn := apivalidation.NameIsDNSSubdomain
	if kind == "Service" {
		nameFn = apivalidation.NameIsDNS1035Label
	}
	path := field.NewPath("metadata")
	errs := apivalidation.ValidateObjectMetaAccessor(meta, !clusterScoped[kind], nameFn, path)
	errs = append(errs, metav1validation.ValidateLabels(meta.GetLabels(), path.Child("labels"))...)
	if !clusterScoped[kind] && meta.GetNamespace() != releaseNamespace {
		errs = append(errs, field.Invalid(path.Child("namespace"), meta.GetNamespace(), "not the release namespace"))
	}
	return errs
}

var _ = Describe("the chart, with each documented toggle", func() {
	DescribeTable("lints clean with --strict",
		func(values string) {
			Expect(lint(values)).To(Succeed())
		},
		toggleEntries(),
	)

	DescribeTable("renders only objects whose Go types accept every field",
		func(values string) {
			m := render(values)
			Expect(m.objects).NotTo(BeEmpty())
			for i, doc := range m.docs {
				o := m.objects[i]
				what := fmt.Sprintf("%s %s", o.GetKind(), o.GetName())
				obj, err := decodeStrictOnce(doc)
				Expect(err).NotTo(HaveOccurred(), what)
				accessor, ok := obj.(metav1.Object)
				Expect(ok).To(BeTrue(), what)
				Expect(checkMetadata(o.GetKind(), accessor)).To(BeEmpty(), what)
			}
		},
		toggleEntries(),
	)

	It("refuses a misspelt value (values.schema.json)", func() {
		_, err := tryRender(`controllers: {rollouts: true}`)
		Expect(err).To(MatchError(ContainSubstring("rollouts")))
		_, err = tryRender(`application: {gitMaxSize: lots}`)
		Expect(err).To(MatchError(ContainSubstring("gitMaxSize")))
		_, err = tryRender(`leaderElection: {leaseDuration: 15}`)
		Expect(err).To(MatchError(ContainSubstring("leaseDuration")))
		_, err = tryRender(`metrics: {serviceMonitor: {bearerTokenSecret: {name: prometheus-token}}}`)
		Expect(err).To(MatchError(ContainSubstring("bearerTokenSecret/key")))
	})

	It("refuses a service account it does not create and is not told the name of", func() {
		// Else the roles would go to the namespace's "default" account, and
		// so to every pod there.
		_, err := tryRender(`serviceAccount: {create: false}`)
		Expect(err).To(MatchError(ContainSubstring("serviceAccount.name")))
	})

	It("refuses to run no controller at all", func() {
		_, err := tryRender(`controllers: {rollout: false, experiment: false, analysisrun: false, application: false}`)
		Expect(err).To(MatchError(ContainSubstring("turn on at least one")))
	})
})
