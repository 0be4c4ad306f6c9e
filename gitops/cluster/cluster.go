// Package cluster reads the clusters an Application may be applied to,
// other than the one Sluice runs in: registered as Argo CD registers them,
// by a Secret labelled argocd.argoproj.io/secret-type: cluster, or given
// as a kubeconfig in a Secret, as Flux's kubeConfig.secretRef does. It
// parses and decides; it holds no client.
//
// Both are outside input: every parser here has a fuzz target, and no
// error it returns quotes the Secret's contents.
package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// Argo CD's names for a cluster Secret and the cluster Sluice runs in.
const (
	// SecretTypeLabel marks a Secret Argo CD reads; SecretTypeCluster is
	// its value on a cluster Secret.
	SecretTypeLabel   = "argocd.argoproj.io/secret-type" //nolint:gosec // a label key, not a credential
	SecretTypeCluster = "cluster"
	// InClusterServer and InClusterName name the cluster Sluice runs in.
	InClusterServer = gitopsv1alpha1.InClusterServer
	InClusterName   = "in-cluster"
)

// AllowedNamespacesAnnotation on a cluster Secret lists, comma-separated,
// the namespaces whose Applications may use the cluster besides the
// manager's own; "*" is every namespace.
const AllowedNamespacesAnnotation = "gitops.sluice.dev/allowed-namespaces"

// Cluster is a cluster objects may be applied to, and how to reach it.
type Cluster struct {
	// Name and Server are the cluster Secret's name and server keys.
	Name   string
	Server string
	// Secret is the namespace/name of the Secret it was read from.
	Secret string
	// Config holds the server and the credentials; nothing else (no
	// timeouts, no rate limits): the caller adds those.
	Config *rest.Config
	// Namespaces is Argo CD's namespaces key: when set, the only
	// namespaces objects may be applied to, and cluster-scoped objects
	// only with ClusterResources.
	Namespaces       []string
	ClusterResources bool
	// AllowedNamespaces are the namespaces, besides the manager's, whose
	// Applications may use the cluster (AllowedNamespacesAnnotation).
	AllowedNamespaces []string
	// Version changes whenever anything above does: a handle made from
	// an older version is replaced.
	Version string
	// Kubeconfig says it was read from a kubeconfig Secret
	// (FromKubeconfigSecret), not a cluster Secret.
	Kubeconfig bool
}

// IsInCluster reports whether a destination's server and name mean the
// cluster Sluice runs in: both empty, the in-cluster server, or the
// in-cluster name.
func IsInCluster(server, name string) bool {
	server = strings.TrimSuffix(server, "/")
	return (server == "" || server == InClusterServer) && (name == "" || name == InClusterName)
}

// IsClusterSecret reports whether a Secret registers a cluster.
func IsClusterSecret(s *corev1.Secret) bool {
	return s.Labels[SecretTypeLabel] == SecretTypeCluster
}

// FromSecret reads an Argo CD cluster Secret: the keys server (required),
// name (default: the server) and config (Argo CD's JSON, see ParseConfig),
// and the optional namespaces and clusterResources.
func FromSecret(s *corev1.Secret) (*Cluster, error) {
	where := "cluster Secret " + s.Namespace + "/" + s.Name
	server := strings.TrimSpace(string(s.Data["server"]))
	if server == "" {
		return nil, fmt.Errorf("%s: key server is missing or empty", where)
	}
	if err := checkServer(server); err != nil {
		return nil, fmt.Errorf("%s: key server: %w", where, err)
	}
	name := strings.TrimSpace(string(s.Data["name"]))
	if name == "" {
		name = server
	}
	data, ok := s.Data["config"]
	if !ok {
		return nil, fmt.Errorf("%s: key config is missing", where)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: key config: %w", where, err)
	}
	cfg.Host = server
	c := &Cluster{Name: name, Server: strings.TrimSuffix(server, "/"), Secret: s.Namespace + "/" + s.Name, Config: cfg,
		Namespaces:        splitList(string(s.Data["namespaces"])),
		ClusterResources:  strings.TrimSpace(string(s.Data["clusterResources"])) == "true",
		AllowedNamespaces: splitList(s.Annotations[AllowedNamespacesAnnotation])}
	c.Version = versionOf(s.Data, s.Annotations[AllowedNamespacesAnnotation])
	return c, nil
}

// checkServer refuses a server that is not an http(s) URL; the message
// quotes nothing of it, as a mistyped Secret may hold anything there.
func checkServer(server string) error {
	if !strings.HasPrefix(server, "https://") && !strings.HasPrefix(server, "http://") {
		return errors.New("not an https:// or http:// URL")
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// versionOf hashes what a handle is made from.
func versionOf(data map[string][]byte, extra string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s%d:", len(k), k, len(data[k]))
		h.Write(data[k])
	}
	h.Write([]byte(extra))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Resolve finds the cluster a destination names among the registered
// ones: by server when it gives one, else by name. It returns nil for the
// cluster Sluice runs in. Two Secrets for the same server or name are
// refused rather than one picked.
func Resolve(server, name string, registered []*Cluster) (*Cluster, error) {
	if IsInCluster(server, name) {
		return nil, nil
	}
	server = strings.TrimSuffix(server, "/")
	var found []*Cluster
	for _, c := range registered {
		if server != "" && c.Server == server || server == "" && c.Name == name {
			found = append(found, c)
		}
	}
	what := "destination.server " + server
	if server == "" {
		what = "destination.name " + name
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%s: no cluster is registered by that %s (a Secret labelled %s=%s in the manager's namespace)",
			what, map[bool]string{true: "server", false: "name"}[server != ""], SecretTypeLabel, SecretTypeCluster)
	case 1:
		return found[0], nil
	default:
		secrets := make([]string, 0, len(found))
		for _, c := range found {
			secrets = append(secrets, c.Secret)
		}
		return nil, fmt.Errorf("%s: registered by several Secrets (%s); remove all but one", what, strings.Join(secrets, ", "))
	}
}

// Permits says whether Applications of appNamespace may use the cluster:
// those of the manager's namespace always, as in Argo CD, where the
// Applications in its own namespace are the operator's; those of another
// namespace only when the cluster Secret's allowed-namespaces annotation
// lists it (or "*"). A refusal names the cluster and the namespace.
func (c *Cluster) Permits(appNamespace, managerNamespace string) error {
	if appNamespace == managerNamespace || slices.Contains(c.AllowedNamespaces, "*") || slices.Contains(c.AllowedNamespaces, appNamespace) {
		return nil
	}
	return fmt.Errorf("cluster %s (%s): Applications of namespace %s may not use it; its Secret %s lists the namespaces that may in the annotation %s",
		c.Name, c.Server, appNamespace, c.Secret, AllowedNamespacesAnnotation)
}

// CheckNamespace refuses, for a cluster whose Secret limits it to some
// namespaces (Argo CD's namespaces key), an object in another namespace,
// or a cluster-scoped one (namespace "") unless clusterResources is
// "true". kind and name only name the object in the message.
func (c *Cluster) CheckNamespace(kind, name, namespace string) error {
	if len(c.Namespaces) == 0 {
		return nil
	}
	switch {
	case namespace == "" && !c.ClusterResources:
		return fmt.Errorf("%s %s is cluster-scoped: cluster %s is registered for namespaces %s only, without clusterResources",
			kind, name, c.Name, strings.Join(c.Namespaces, ","))
	case namespace != "" && !slices.Contains(c.Namespaces, namespace):
		return fmt.Errorf("%s %s is in namespace %s: cluster %s is registered for namespaces %s only",
			kind, name, namespace, c.Name, strings.Join(c.Namespaces, ","))
	}
	return nil
}

// Describe is how a destination reads in a table: the cluster's name, or
// in-cluster, and the namespace.
func Describe(server, name, namespace string) string {
	cluster := name
	switch {
	case IsInCluster(server, name):
		cluster = InClusterName
	case cluster == "":
		cluster = server
	}
	if namespace == "" {
		return cluster
	}
	return cluster + "/" + namespace
}
