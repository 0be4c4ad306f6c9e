package metrics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/client-go/rest"
)

var _ = Describe("RequestOf", func() {
	request := func(method, target, body string) *http.Request {
		u, err := url.Parse("https://10.0.0.1:6443" + target)
		Expect(err).NotTo(HaveOccurred())
		req := &http.Request{Method: method, URL: u}
		if body != "" {
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewBufferString(body)), nil }
		}
		return req
	}

	DescribeTable("labels a request with what it acts on",
		func(method, target, body string, want Request) {
			Expect(cmp.Diff(want, RequestOf(request(method, target, body), ""))).To(BeEmpty())
		},
		Entry("a Rollout read by name",
			"GET", "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web", "",
			Request{Kind: "rollouts", Namespace: "shop", Name: "web", Verb: VerbGet}),
		Entry("a list of one namespace's Rollouts names no object",
			"GET", "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts?limit=500", "",
			Request{Kind: "rollouts", Namespace: "shop", Name: "N/A", Verb: VerbList}),
		Entry("a list across namespaces has no namespace",
			"GET", "/apis/argoproj.io/v1alpha1/rollouts", "",
			Request{Kind: "rollouts", Name: "N/A", Verb: VerbList}),
		Entry("a watch is a Watch, not a List",
			"GET", "/apis/argoproj.io/v1alpha1/rollouts?allowWatchBookmarks=true&watch=true", "",
			Request{Kind: "rollouts", Verb: VerbWatch}),
		Entry("a watch of one object names it, from its field selector",
			"GET", "/api/v1/namespaces/shop/configmaps?fieldSelector=metadata.name%3Dsettings&watch=true", "",
			Request{Kind: "configmaps", Namespace: "shop", Name: "settings", Verb: VerbWatch}),
		Entry("a status patch counts for its object, not for a kind named after it (as Argo's parser would)",
			"PATCH", "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web/status", "",
			Request{Kind: "rollouts", Namespace: "shop", Name: "web", Verb: VerbPatch}),
		Entry("an update",
			"PUT", "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web", "",
			Request{Kind: "rollouts", Namespace: "shop", Name: "web", Verb: VerbUpdate}),
		Entry("a delete",
			"DELETE", "/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns/web-6d4f-2-1", "",
			Request{Kind: "analysisruns", Namespace: "shop", Name: "web-6d4f-2-1", Verb: VerbDelete}),
		Entry("a create names the object from its body",
			"POST", "/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns", `{"kind":"AnalysisRun","metadata":{"name":"web-6d4f-2-1","namespace":"shop"}}`,
			Request{Kind: "analysisruns", Namespace: "shop", Name: "web-6d4f-2-1", Verb: VerbCreate}),
		Entry("a create by generateName has no name yet",
			"POST", "/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns", `{"metadata":{"generateName":"web-"}}`,
			Request{Kind: "analysisruns", Namespace: "shop", Verb: VerbCreate}),
		Entry("a create whose body is not JSON has no name",
			"POST", "/apis/argoproj.io/v1alpha1/namespaces/shop/analysisruns", "\x0a\x0bk8s\x00",
			Request{Kind: "analysisruns", Namespace: "shop", Verb: VerbCreate}),
		Entry("ReplicaSets are counted without their names, as in Argo",
			"PATCH", "/apis/apps/v1/namespaces/shop/replicasets/web-6d4f", "",
			Request{Kind: "replicasets", Namespace: "shop", Name: "N/A", Verb: VerbPatch}),
		Entry("events too, whatever their body names",
			"POST", "/apis/events.k8s.io/v1/namespaces/shop/events", `{"metadata":{"name":"web.17a"}}`,
			Request{Kind: "events", Namespace: "shop", Name: "N/A", Verb: VerbCreate}),
		Entry("and pods, which a restart evicts one by one",
			"POST", "/api/v1/namespaces/shop/pods/web-6d4f-x2k9/eviction", "",
			Request{Kind: "pods", Namespace: "shop", Name: "N/A", Verb: VerbCreate}),
		Entry("a namespace is a cluster-scoped object",
			"GET", "/api/v1/namespaces/shop", "",
			Request{Kind: "namespaces", Name: "shop", Verb: VerbGet}),
		Entry("and so is its status",
			"PUT", "/api/v1/namespaces/shop/status", "",
			Request{Kind: "namespaces", Name: "shop", Verb: VerbUpdate}),
		Entry("a cluster-scoped kind",
			"GET", "/apis/argoproj.io/v1alpha1/clusteranalysistemplates/error-rate", "",
			Request{Kind: "clusteranalysistemplates", Name: "error-rate", Verb: VerbGet}),
		Entry("discovery names no resource",
			"GET", "/apis/argoproj.io/v1alpha1", "",
			Request{Verb: VerbGet}),
		Entry("nor does /version",
			"GET", "/version", "",
			Request{Verb: VerbGet}),
		Entry("a method the API does not use is Unknown, as in Argo",
			"OPTIONS", "/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web", "",
			Request{Kind: "Unknown", Namespace: "Unknown", Name: "Unknown", Verb: VerbUnknown}),
	)

	It("reads the path after the server address's own path, for a server behind a proxy", func() {
		req := request("GET", "/k8s/clusters/c-1/api/v1/namespaces/shop/services/web", "")
		Expect(RequestOf(req, "/k8s/clusters/c-1")).To(Equal(Request{Kind: "services", Namespace: "shop", Name: "web", Verb: VerbGet}))
	})
})

var _ = Describe("InstrumentConfig", func() {
	It("counts each request by what it acts on and the status that came back", func() {
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotFound)
		}))
		DeferCleanup(server.Close)
		cfg := &rest.Config{Host: server.URL + "/proxied"}
		InstrumentConfig(cfg)
		// A config made from it, such as one that impersonates a tenant's
		// service account, is counted too.
		impersonating := rest.CopyConfig(cfg)
		impersonating.Impersonate.UserName = "system:serviceaccount:shop:deployer"

		series := requestCounter.WithLabelValues("rollouts", "shop", "web", "Get", "404")
		before := testutil.ToFloat64(series)
		for _, c := range []*rest.Config{cfg, impersonating} {
			httpClient, err := rest.HTTPClientFor(c)
			Expect(err).NotTo(HaveOccurred())
			resp, err := httpClient.Get(server.URL + "/proxied/apis/argoproj.io/v1alpha1/namespaces/shop/rollouts/web")
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.Body.Close()).To(Succeed())
		}
		Expect(testutil.ToFloat64(series) - before).To(Equal(2.0))
	})

	It("counts a request that got no answer with status 0", func() {
		server := httptest.NewServer(http.NotFoundHandler())
		address := server.URL
		server.Close() // nothing listens there any more
		cfg := &rest.Config{Host: address}
		InstrumentConfig(cfg)
		series := requestCounter.WithLabelValues("replicasets", "shop", "N/A", "List", "0")
		before := testutil.ToFloat64(series)
		httpClient, err := rest.HTTPClientFor(cfg)
		Expect(err).NotTo(HaveOccurred())
		_, err = httpClient.Get(address + "/apis/apps/v1/namespaces/shop/replicasets")
		Expect(err).To(HaveOccurred())
		Expect(testutil.ToFloat64(series) - before).To(Equal(1.0))
	})
})
