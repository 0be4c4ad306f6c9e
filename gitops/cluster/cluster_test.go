package cluster

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// The token every fixture carries: no error may quote it.
const token = "tok-3f9a-never-in-errors"

func secret(data map[string]string, annotations ...string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "sluice-system", Name: "prod",
		Labels: map[string]string{SecretTypeLabel: SecretTypeCluster}}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	if len(annotations) == 2 {
		s.Annotations = map[string]string{annotations[0]: annotations[1]}
	}
	return s
}

func TestFromSecret(t *testing.T) {
	type result struct {
		Name, Server      string
		Config            rest.Config
		Namespaces        []string
		ClusterResources  bool
		AllowedNamespaces []string
	}
	cases := []struct {
		name   string
		reason string
		secret *corev1.Secret
		want   result
		err    string
	}{{
		name:   "bearer token",
		reason: "the common form: a service account token and the CA",
		secret: secret(map[string]string{"name": "prod", "server": "https://prod.example:6443/",
			"config": `{"bearerToken":"` + token + `","tlsClientConfig":{"caData":"Y2E=","serverName":"api"}}`}),
		want: result{Name: "prod", Server: "https://prod.example:6443", Config: rest.Config{Host: "https://prod.example:6443/", BearerToken: token,
			TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ca"), ServerName: "api"}}},
	}, {
		name:   "client certificate, limited to namespaces",
		reason: "certData and keyData authenticate; Argo CD's namespaces and clusterResources keys are kept",
		secret: secret(map[string]string{"server": "https://10.0.0.1", "namespaces": "a, b,", "clusterResources": "true",
			"config": `{"tlsClientConfig":{"insecure":true,"certData":"Y2VydA==","keyData":"a2V5"}}`},
			AllowedNamespacesAnnotation, "team-a,team-b"),
		want: result{Name: "https://10.0.0.1", Server: "https://10.0.0.1", Config: rest.Config{Host: "https://10.0.0.1",
			TLSClientConfig: rest.TLSClientConfig{Insecure: true, CertData: []byte("cert"), KeyData: []byte("key")}},
			Namespaces: []string{"a", "b"}, ClusterResources: true, AllowedNamespaces: []string{"team-a", "team-b"}},
	}, {
		name:   "username and password",
		reason: "basic authentication, as Argo CD allows",
		secret: secret(map[string]string{"name": "basic", "server": "https://b", "config": `{"username":"u","password":"` + token + `"}`}),
		want:   result{Name: "basic", Server: "https://b", Config: rest.Config{Host: "https://b", Username: "u", Password: token}},
	}, {
		name:   "no server",
		reason: "server is what a destination names; without it the Secret registers nothing",
		secret: secret(map[string]string{"name": "x", "config": `{"bearerToken":"` + token + `"}`}),
		err:    "cluster Secret sluice-system/prod: key server is missing or empty",
	}, {
		name:   "server not a URL",
		reason: "a mistyped server is refused without being quoted",
		secret: secret(map[string]string{"server": token, "config": `{"bearerToken":"x"}`}),
		err:    "cluster Secret sluice-system/prod: key server: not an https:// or http:// URL",
	}, {
		name:   "no config",
		reason: "no credentials at all: the manager's own would be wrong for another cluster",
		secret: secret(map[string]string{"server": "https://x"}),
		err:    "cluster Secret sluice-system/prod: key config is missing",
	}, {
		name:   "bad JSON",
		reason: "the error says where, and quotes nothing",
		secret: secret(map[string]string{"server": "https://x", "config": `{"bearerToken":"` + token + `",}`}),
		err:    "cluster Secret sluice-system/prod: key config: not valid JSON (at byte 43)",
	}, {
		name:   "wrong type",
		reason: "the field is named, its value is not",
		secret: secret(map[string]string{"server": "https://x", "config": `{"bearerToken":"` + token + `","tlsClientConfig":{"insecure":"yes"}}`}),
		err:    "cluster Secret sluice-system/prod: key config: field tlsClientConfig.insecure: expected bool, found string",
	}, {
		name:   "caData not base64",
		reason: "Argo CD's JSON holds certificates as base64",
		secret: secret(map[string]string{"server": "https://x", "config": `{"bearerToken":"t","tlsClientConfig":{"caData":"` + token + `"}}`}),
		err:    "cluster Secret sluice-system/prod: key config: caData, certData and keyData are base64: one is not",
	}, {
		name:   "exec provider",
		reason: "running a program on the manager's side is refused",
		secret: secret(map[string]string{"server": "https://x", "config": `{"execProviderConfig":{"command":"sh"}}`}),
		err:    "cluster Secret sluice-system/prod: key config: execProviderConfig is not supported: give a bearerToken or a client certificate",
	}, {
		name:   "no credentials",
		reason: "an empty config would reach the cluster anonymously, which is never what was meant",
		secret: secret(map[string]string{"server": "https://x", "config": `{"tlsClientConfig":{"insecure":true}}`}),
		err:    "cluster Secret sluice-system/prod: key config: no credentials: give bearerToken, username and password, or tlsClientConfig's certData and keyData",
	}, {
		name:   "certificate without key",
		reason: "half a key pair cannot authenticate",
		secret: secret(map[string]string{"server": "https://x", "config": `{"tlsClientConfig":{"certData":"Y2VydA=="}}`}),
		err:    "cluster Secret sluice-system/prod: key config: tlsClientConfig: certData and keyData go together",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromSecret(tc.secret)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("%s: error %v, want %q", tc.reason, err, tc.err)
				}
				if strings.Contains(err.Error(), token) {
					t.Fatalf("%s: the error quotes the credential", tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			got := result{Name: c.Name, Server: c.Server, Config: *c.Config, Namespaces: c.Namespaces,
				ClusterResources: c.ClusterResources, AllowedNamespaces: c.AllowedNamespaces}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b rest.Config) bool {
				return a.Host == b.Host && a.BearerToken == b.BearerToken && a.Username == b.Username && a.Password == b.Password &&
					cmp.Equal(a.TLSClientConfig, b.TLSClientConfig)
			})); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestVersionChangesWithTheSecret(t *testing.T) {
	s := secret(map[string]string{"server": "https://x", "config": `{"bearerToken":"a"}`})
	first, err := FromSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Data["config"] = []byte(`{"bearerToken":"b"}`)
	second, err := FromSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	if first.Version == second.Version {
		t.Error("a new token must make a new version, so a new client is made")
	}
}

func TestIsInCluster(t *testing.T) {
	cases := []struct {
		server, name string
		want         bool
		reason       string
	}{
		{"", "", true, "an empty destination is the manager's cluster, as before"},
		{InClusterServer, "", true, "Argo CD's in-cluster server"},
		{InClusterServer + "/", "", true, "a trailing slash changes nothing"},
		{"", InClusterName, true, "Argo CD's in-cluster name"},
		{InClusterServer, InClusterName, true, "both, agreeing"},
		{"https://prod:6443", "", false, "another server"},
		{"", "prod", false, "another name"},
	}
	for _, tc := range cases {
		if got := IsInCluster(tc.server, tc.name); got != tc.want {
			t.Errorf("IsInCluster(%q, %q) = %v: %s", tc.server, tc.name, got, tc.reason)
		}
	}
}

func TestResolveAndPermit(t *testing.T) {
	prod := &Cluster{Name: "prod", Server: "https://prod:6443", Secret: "sluice-system/prod"}
	staging := &Cluster{Name: "staging", Server: "https://staging:6443", Secret: "sluice-system/staging",
		AllowedNamespaces: []string{"team-a"}}
	open := &Cluster{Name: "open", Server: "https://open:6443", Secret: "sluice-system/open", AllowedNamespaces: []string{"*"}}
	twin := &Cluster{Name: "prod-again", Server: "https://prod:6443", Secret: "sluice-system/prod-again"}
	registered := []*Cluster{prod, staging, open}
	cases := []struct {
		name         string
		reason       string
		server, dest string
		appNamespace string
		registered   []*Cluster
		want         *Cluster
		err          string
	}{{
		name: "in-cluster", reason: "the manager's cluster needs no Secret",
		server: InClusterServer, appNamespace: "team-b", registered: registered,
	}, {
		name: "by server", reason: "Argo CD's destination.server",
		server: "https://prod:6443/", appNamespace: "sluice-system", registered: registered, want: prod,
	}, {
		name: "by name", reason: "Argo CD's destination.name",
		dest: "staging", appNamespace: "team-a", registered: registered, want: staging,
	}, {
		name: "unknown server", reason: "a destination no Secret registers is refused, naming it",
		server: "https://elsewhere", appNamespace: "sluice-system", registered: registered,
		err: "destination.server https://elsewhere: no cluster is registered by that server (a Secret labelled argocd.argoproj.io/secret-type=cluster in the manager's namespace)",
	}, {
		name: "two Secrets for one server", reason: "neither is picked: which one would be a guess",
		server: "https://prod:6443", appNamespace: "sluice-system", registered: []*Cluster{prod, twin},
		err: "destination.server https://prod:6443: registered by several Secrets (sluice-system/prod, sluice-system/prod-again); remove all but one",
	}, {
		name: "tenant refused by default", reason: "a cluster is the manager namespace's alone unless its Secret says otherwise",
		dest: "prod", appNamespace: "team-a", registered: registered,
		err: "cluster prod (https://prod:6443): Applications of namespace team-a may not use it; its Secret sluice-system/prod lists the namespaces that may in the annotation gitops.sluice.dev/allowed-namespaces",
	}, {
		name: "tenant not listed", reason: "the annotation lists team-a, not team-b",
		dest: "staging", appNamespace: "team-b", registered: registered,
		err: "cluster staging (https://staging:6443): Applications of namespace team-b may not use it; its Secret sluice-system/staging lists the namespaces that may in the annotation gitops.sluice.dev/allowed-namespaces",
	}, {
		name: "every namespace", reason: "* opens the cluster to every namespace",
		dest: "open", appNamespace: "team-z", registered: registered, want: open,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.server, tc.dest, tc.registered)
			if err == nil && got != nil {
				err = got.Permits(tc.appNamespace, "sluice-system")
			}
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.err, gotErr); diff != "" {
				t.Fatalf("%s: error (-want +got):\n%s", tc.reason, diff)
			}
			if tc.err == "" && got != tc.want {
				t.Errorf("%s: resolved %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}

func TestCheckNamespace(t *testing.T) {
	limited := &Cluster{Name: "prod", Namespaces: []string{"a", "b"}}
	cases := []struct {
		name, reason string
		c            *Cluster
		namespace    string
		err          string
	}{
		{"unlimited", "no namespaces key: the Secret's credentials decide", &Cluster{Name: "x"}, "", ""},
		{"listed", "a listed namespace is fine", limited, "b", ""},
		{"not listed", "Argo CD's namespaces key limits where objects go", limited, "c",
			"ConfigMap cm is in namespace c: cluster prod is registered for namespaces a,b only"},
		{"cluster-scoped", "without clusterResources no cluster-scoped object", limited, "",
			"ConfigMap cm is cluster-scoped: cluster prod is registered for namespaces a,b only, without clusterResources"},
		{"cluster-scoped allowed", "clusterResources: true allows them",
			&Cluster{Name: "prod", Namespaces: []string{"a"}, ClusterResources: true}, "", ""},
	}
	for _, tc := range cases {
		err := tc.c.CheckNamespace("ConfigMap", "cm", tc.namespace)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if diff := cmp.Diff(tc.err, got); diff != "" {
			t.Errorf("%s: %s (-want +got):\n%s", tc.name, tc.reason, diff)
		}
	}
}

func TestDescribe(t *testing.T) {
	cases := []struct{ server, name, namespace, want, reason string }{
		{"", "", "web", "in-cluster/web", "the manager's cluster reads as Argo CD names it"},
		{"https://prod:6443", "", "web", "https://prod:6443/web", "by server alone, the server"},
		{"", "prod", "", "prod", "no namespace: the cluster alone"},
	}
	for _, tc := range cases {
		if got := Describe(tc.server, tc.name, tc.namespace); got != tc.want {
			t.Errorf("Describe(%q, %q, %q) = %q, want %q: %s", tc.server, tc.name, tc.namespace, got, tc.want, tc.reason)
		}
	}
}
