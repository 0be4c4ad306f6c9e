package cluster

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
)

func kubeconfig(cluster, user string) string {
	return `apiVersion: v1
kind: Config
current-context: remote
contexts:
- name: remote
  context: {cluster: staging, user: deployer}
clusters:
- name: staging
  cluster:
` + cluster + `
users:
- name: deployer
  user:
` + user + "\n"
}

func TestFromKubeconfigSecret(t *testing.T) {
	good := kubeconfig("    server: https://staging:6443\n    certificate-authority-data: Y2E=", "    token: "+token)
	cases := []struct {
		name, reason string
		data         map[string]string
		key          string
		wantServer   string
		err          string
	}{{
		name: "value", reason: "Flux's default key", data: map[string]string{"value": good}, wantServer: "https://staging:6443",
	}, {
		name: "value.yaml", reason: "Flux's other default key", data: map[string]string{"value.yaml": good}, wantServer: "https://staging:6443",
	}, {
		name: "named key", reason: "kubeConfig.secretRef.key names it", data: map[string]string{"cfg": good}, key: "cfg",
		wantServer: "https://staging:6443",
	}, {
		name: "no key", reason: "the keys looked for are named", data: map[string]string{"other": good},
		err: "kubeconfig Secret flux-system/remote: no key value or value.yaml",
	}, {
		name: "not YAML", reason: "a parse error quotes nothing", data: map[string]string{"value": "{" + token},
		err: "kubeconfig Secret flux-system/remote: key value: not a kubeconfig: it does not parse as one",
	}, {
		name: "exec", reason: "an exec plugin would run on the manager's side",
		data: map[string]string{"value": kubeconfig("    server: https://s", "    exec: {apiVersion: client.authentication.k8s.io/v1, command: sh}")},
		err:  "kubeconfig Secret flux-system/remote: key value: user deployer: exec plugins are not supported",
	}, {
		name: "token file", reason: "a path would read the manager's own files, such as its service account token",
		data: map[string]string{"value": kubeconfig("    server: https://s", "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token")},
		err:  "kubeconfig Secret flux-system/remote: key value: user deployer: tokenFile, client-certificate and client-key are file paths; give the data fields",
	}, {
		name: "CA file", reason: "the same for the cluster's CA",
		data: map[string]string{"value": kubeconfig("    server: https://s\n    certificate-authority: /etc/ca.crt", "    token: x")},
		err:  "kubeconfig Secret flux-system/remote: key value: cluster staging: certificate-authority is a file path; give certificate-authority-data",
	}, {
		name: "no context", reason: "which cluster is meant must be said",
		data: map[string]string{"value": "apiVersion: v1\nkind: Config\n"},
		err:  "kubeconfig Secret flux-system/remote: key value: no current-context, and not exactly one context",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "flux-system", Name: "remote"}, Data: map[string][]byte{}}
			for k, v := range tc.data {
				s.Data[k] = []byte(v)
			}
			c, err := FromKubeconfigSecret(s, tc.key)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.err, got); diff != "" {
				t.Fatalf("%s: error (-want +got):\n%s", tc.reason, diff)
			}
			if strings.Contains(got, token) {
				t.Fatalf("%s: the error quotes the credential", tc.reason)
			}
			if tc.err != "" {
				return
			}
			if c.Server != tc.wantServer || c.Name != "staging" || c.Config.BearerToken != token || string(c.Config.CAData) != "ca" {
				t.Errorf("%s: got server %q name %q", tc.reason, c.Server, c.Name)
			}
		})
	}
}

// FuzzParseConfig: Argo CD's config JSON never panics the parser, and no
// error quotes a credential.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"bearerToken":"` + token + `","tlsClientConfig":{"caData":"Y2E=","insecure":false}}`))
	f.Add([]byte(`{"username":"u","password":"` + token + `"}`))
	f.Add([]byte(`{"tlsClientConfig":{"certData":"` + token + `","keyData":"a2V5"}}`))
	f.Add([]byte(`{"bearerToken":` + token + `}`))
	f.Add([]byte(`{"execProviderConfig":{"command":"` + token + `"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseConfig(data)
		if err != nil && strings.Contains(err.Error(), token) {
			t.Fatalf("the error quotes the credential: %v", err)
		}
	})
}

// FuzzParseKubeconfig: a kubeconfig never panics the parser, and no error
// quotes a credential.
func FuzzParseKubeconfig(f *testing.F) {
	f.Add([]byte(kubeconfig("    server: https://staging:6443", "    token: "+token)))
	f.Add([]byte(kubeconfig("    server: "+token, "    token: x")))
	f.Add([]byte(kubeconfig("    server: https://s", "    client-certificate-data: "+token)))
	f.Add([]byte("{" + token))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := ParseKubeconfig(data)
		if err == nil {
			return
		}
		for _, secret := range credentialsOf(data) {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error quotes a credential: %v", err)
			}
		}
	})
}

// credentialsOf lists the credentials a kubeconfig holds, leaving out any
// that is also a name (of a context, cluster or user, which errors name)
// or too short to tell from other text.
func credentialsOf(data []byte) []string {
	kc, err := clientcmd.Load(data)
	if err != nil {
		return nil
	}
	names := map[string]bool{}
	for n, c := range kc.Contexts {
		names[n] = true
		if c != nil {
			names[c.Cluster], names[c.AuthInfo] = true, true
		}
	}
	for n := range kc.Clusters {
		names[n] = true
	}
	var out []string
	for n, u := range kc.AuthInfos {
		names[n] = true
		if u != nil {
			out = append(out, u.Token, u.Password, string(u.ClientKeyData), string(u.ClientCertificateData))
		}
	}
	out = slices.DeleteFunc(out, func(s string) bool {
		for n := range names {
			if strings.Contains(n, s) {
				return true
			}
		}
		return len(s) < 8
	})
	return out
}
