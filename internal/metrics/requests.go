package metrics

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
)

// k8sRequests counts the manager's requests to the API server, as Argo
// Rollouts' controller_clientset_k8s_request_total does.
var k8sRequests = Family{Name: "controller_clientset_k8s_request_total", Type: Counter, Argo: true,
	Labels: []string{"kind", "namespace", "name", "verb", "status_code"},
	Help:   "Requests the manager sent to the Kubernetes API server, by resource, object, verb and HTTP status (0 when no answer came)."}

var requestCounter = k8sRequests.counterVec()

// Verb is a request's verb label, with Argo's values.
type Verb string

// The verbs of controller_clientset_k8s_request_total.
const (
	VerbList    Verb = "List"
	VerbWatch   Verb = "Watch"
	VerbGet     Verb = "Get"
	VerbCreate  Verb = "Create"
	VerbUpdate  Verb = "Update"
	VerbPatch   Verb = "Patch"
	VerbDelete  Verb = "Delete"
	VerbUnknown Verb = "Unknown"
)

// Request is what a request to the API server is counted by.
type Request struct {
	// Kind is the resource, as the path names it: "rollouts",
	// "replicasets". Empty for a request that names none (discovery).
	Kind      string
	Namespace string
	// Name is the object's; N/A for a list, and for events, ReplicaSets
	// and Pods, whose names change with every revision.
	Name string
	Verb Verb
}

// notApplicable is the name of a request whose object's name is not
// counted.
const notApplicable = "N/A"

// unnamedKinds are the resources whose requests are counted without the
// object's name: Argo's (events, replicasets) and pods, which a restart
// evicts and a promotion relabels one by one.
var unnamedKinds = []string{"events", "replicasets", "pods"}

// InstrumentConfig counts every request made with cfg, and with the
// configs and clients made from it, in controller_clientset_k8s_request_total.
// The manager calls it on its config before it makes anything from it.
func InstrumentConfig(cfg *rest.Config) {
	register(requestCounter)
	prefix := ""
	if u, err := url.Parse(cfg.Host); err == nil {
		prefix = strings.TrimSuffix(u.Path, "/")
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, prefix: prefix}
	})
}

type countingTransport struct {
	next http.RoundTripper
	// prefix is the path of the API server's address, which comes before
	// /api and /apis when the server is reached through a proxy.
	prefix string
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := RequestOf(req, t.prefix)
	resp, err := t.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	requestCounter.WithLabelValues(r.Kind, r.Namespace, r.Name, string(r.Verb), strconv.Itoa(status)).Inc()
	return resp, err
}

// RequestOf reads what a request to the API server acts on from its method
// and path, as Argo Rollouts does: the verb from the method (a GET of a
// collection is a List, or a Watch with watch=true), the resource, the
// namespace and the object's name from the path, and a created object's
// name from its body. Unlike Argo, a subresource (status, scale, eviction)
// counts for its object: a status patch of Rollout "web" is kind
// "rollouts", name "web". prefix is the path of the server's address.
func RequestOf(req *http.Request, prefix string) Request {
	var r Request
	switch req.Method {
	case http.MethodPost:
		r.Verb = VerbCreate
	case http.MethodPut:
		r.Verb = VerbUpdate
	case http.MethodPatch:
		r.Verb = VerbPatch
	case http.MethodDelete:
		r.Verb = VerbDelete
	case http.MethodGet:
		r.Verb = VerbGet
	default:
		return Request{Kind: "Unknown", Namespace: "Unknown", Name: "Unknown", Verb: VerbUnknown}
	}
	parts := resourcePath(strings.TrimPrefix(req.URL.Path, prefix))
	// /namespaces/<ns>/<resource>... is a namespaced resource; the
	// namespace itself is /namespaces/<ns>, with its status and finalize.
	if len(parts) >= 3 && parts[0] == "namespaces" && parts[2] != "status" && parts[2] != "finalize" {
		r.Namespace, parts = parts[1], parts[2:]
	}
	if len(parts) > 0 {
		r.Kind = parts[0]
	}
	if len(parts) > 1 {
		r.Name = parts[1]
	}
	switch {
	case r.Verb == VerbGet && r.Kind != "" && r.Name == "":
		r.Verb, r.Name = VerbList, notApplicable
		if req.URL.Query().Get("watch") == "true" {
			r.Verb, r.Name = VerbWatch, watchedName(req.URL.Query())
		}
	case r.Verb == VerbCreate && r.Name == "" && !slices.Contains(unnamedKinds, r.Kind):
		r.Name = createdName(req)
	}
	if slices.Contains(unnamedKinds, r.Kind) {
		r.Name = notApplicable
	}
	return r
}

// resourcePath is what follows the group and version in an API path:
// [namespaces <ns>] <resource> [<name> [<subresource>]]. It is empty for
// the paths of discovery, /version and the like.
func resourcePath(path string) []string {
	segments := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segments) > 2 && segments[0] == "api":
		return segments[2:]
	case len(segments) > 3 && segments[0] == "apis":
		return segments[3:]
	}
	return nil
}

// watchedName is the object a watch of one object is for: the
// metadata.name of its field selector.
func watchedName(query url.Values) string {
	for _, selector := range query["fieldSelector"] {
		for term := range strings.SplitSeq(selector, ",") {
			if name, ok := strings.CutPrefix(term, "metadata.name="); ok {
				return name
			}
		}
	}
	return ""
}

// createdName reads metadata.name from a create's JSON body; a body in
// another encoding, or an object named by generateName, has none yet.
func createdName(req *http.Request) string {
	if req.GetBody == nil {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer func() { _ = body.Close() }()
	var obj struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.NewDecoder(body).Decode(&obj); err != nil {
		return ""
	}
	return obj.Metadata.Name
}
