package cluster

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// config is Argo CD's cluster config JSON, the fields Sluice reads.
// caData, certData and keyData are base64 in the JSON, as Argo CD writes
// them.
type config struct {
	Username        string          `json:"username,omitempty"`
	Password        string          `json:"password,omitempty"`
	BearerToken     string          `json:"bearerToken,omitempty"`
	TLSClientConfig tlsClientConfig `json:"tlsClientConfig"`
	// Refused: each runs or reaches something on the manager's side.
	AWSAuthConfig      json.RawMessage `json:"awsAuthConfig,omitempty"`
	ExecProviderConfig json.RawMessage `json:"execProviderConfig,omitempty"`
}

type tlsClientConfig struct {
	Insecure   bool   `json:"insecure,omitempty"`
	ServerName string `json:"serverName,omitempty"`
	CAData     []byte `json:"caData,omitempty"`
	CertData   []byte `json:"certData,omitempty"`
	KeyData    []byte `json:"keyData,omitempty"`
}

// ParseConfig reads Argo CD's cluster config JSON into a rest.Config
// without a host: bearerToken, username and password, and
// tlsClientConfig's insecure, serverName, caData, certData and keyData.
// execProviderConfig and awsAuthConfig are refused: they run a program or
// reach a cloud from the manager, with the manager's own identity. Errors
// name the field and never quote the input.
func ParseConfig(data []byte) (*rest.Config, error) {
	var c config
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return nil, jsonError(err)
	}
	if dec.More() {
		return nil, errors.New("not one JSON object: something follows it")
	}
	switch {
	case len(c.ExecProviderConfig) > 0 && string(c.ExecProviderConfig) != "null":
		return nil, errors.New("execProviderConfig is not supported: give a bearerToken or a client certificate")
	case len(c.AWSAuthConfig) > 0 && string(c.AWSAuthConfig) != "null":
		return nil, errors.New("awsAuthConfig is not supported: give a bearerToken or a client certificate")
	case c.BearerToken != "" && (c.Username != "" || c.Password != ""):
		return nil, errors.New("bearerToken and username/password both given: give one")
	case (len(c.TLSClientConfig.CertData) == 0) != (len(c.TLSClientConfig.KeyData) == 0):
		return nil, errors.New("tlsClientConfig: certData and keyData go together")
	case c.BearerToken == "" && c.Username == "" && len(c.TLSClientConfig.CertData) == 0:
		return nil, errors.New("no credentials: give bearerToken, username and password, or tlsClientConfig's certData and keyData")
	}
	return &rest.Config{
		BearerToken: c.BearerToken, Username: c.Username, Password: c.Password,
		TLSClientConfig: rest.TLSClientConfig{Insecure: c.TLSClientConfig.Insecure, ServerName: c.TLSClientConfig.ServerName,
			CAData: c.TLSClientConfig.CAData, CertData: c.TLSClientConfig.CertData, KeyData: c.TLSClientConfig.KeyData},
	}, nil
}

// jsonError says where JSON went wrong and which field, without quoting
// the text, which may hold a credential.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var b64 base64.CorruptInputError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("field %s: expected %s, found %s", typ.Field, typ.Type, typ.Value)
	case errors.As(err, &b64):
		return errors.New("caData, certData and keyData are base64: one is not")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("empty, or not a whole JSON object")
	default:
		return errors.New("not a JSON object")
	}
}

// FluxKubeconfigKeys are the keys of a kubeconfig Secret Flux reads, in
// order, when kubeConfig.secretRef names no key.
var FluxKubeconfigKeys = []string{"value", "value.yaml"}

// FromKubeconfigSecret reads a kubeconfig held in a Secret, as Flux's
// kubeConfig.secretRef gives one: under key, or, when key is empty, under
// value or value.yaml. The cluster is the kubeconfig's current context.
func FromKubeconfigSecret(s *corev1.Secret, key string) (*Cluster, error) {
	where := "kubeconfig Secret " + s.Namespace + "/" + s.Name
	keys := FluxKubeconfigKeys
	if key != "" {
		keys = []string{key}
	}
	var data []byte
	found := ""
	for _, k := range keys {
		if v, ok := s.Data[k]; ok {
			data, found = v, k
			break
		}
	}
	if found == "" {
		return nil, fmt.Errorf("%s: no key %s", where, joinOr(keys))
	}
	cfg, name, err := ParseKubeconfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: key %s: %w", where, found, err)
	}
	return &Cluster{Name: name, Server: cfg.Host, Secret: s.Namespace + "/" + s.Name, Config: cfg,
		Version: versionOf(map[string][]byte{found: data}, ""), Kubeconfig: true}, nil
}

func joinOr(keys []string) string {
	if len(keys) == 1 {
		return keys[0]
	}
	return keys[0] + " or " + keys[1]
}

// ParseKubeconfig reads a kubeconfig's current context into a rest.Config,
// and names its cluster. Only credentials held in the kubeconfig itself are
// taken: a file path (tokenFile, client-certificate, certificate-authority
// and the like), an exec plugin or an auth provider is refused, since each
// would read or run something on the manager's side, with its identity.
// Errors never quote the input.
func ParseKubeconfig(data []byte) (*rest.Config, string, error) {
	kc, err := clientcmd.Load(data)
	if err != nil {
		return nil, "", errors.New("not a kubeconfig: it does not parse as one")
	}
	contextName := kc.CurrentContext
	if contextName == "" && len(kc.Contexts) == 1 {
		for name := range kc.Contexts {
			contextName = name
		}
	}
	if contextName == "" {
		return nil, "", errors.New("no current-context, and not exactly one context")
	}
	ctx, ok := kc.Contexts[contextName]
	if !ok || ctx == nil {
		return nil, "", fmt.Errorf("context %s: not in contexts", contextName)
	}
	cl, ok := kc.Clusters[ctx.Cluster]
	if !ok || cl == nil {
		return nil, "", fmt.Errorf("context %s: cluster %s is not in clusters", contextName, ctx.Cluster)
	}
	user := kc.AuthInfos[ctx.AuthInfo]
	if user == nil {
		user = &clientcmdapi.AuthInfo{}
	}
	switch {
	case cl.CertificateAuthority != "":
		return nil, "", fmt.Errorf("cluster %s: certificate-authority is a file path; give certificate-authority-data", ctx.Cluster)
	case cl.ProxyURL != "":
		return nil, "", fmt.Errorf("cluster %s: proxy-url is not supported", ctx.Cluster)
	case user.Exec != nil:
		return nil, "", fmt.Errorf("user %s: exec plugins are not supported", ctx.AuthInfo)
	case user.AuthProvider != nil:
		return nil, "", fmt.Errorf("user %s: auth-provider is not supported", ctx.AuthInfo)
	case user.TokenFile != "" || user.ClientCertificate != "" || user.ClientKey != "":
		return nil, "", fmt.Errorf("user %s: tokenFile, client-certificate and client-key are file paths; give the data fields", ctx.AuthInfo)
	case user.Impersonate != "" || len(user.ImpersonateGroups) > 0 || user.ImpersonateUID != "":
		return nil, "", fmt.Errorf("user %s: impersonation is not supported", ctx.AuthInfo)
	}
	if err := checkServer(cl.Server); err != nil {
		return nil, "", fmt.Errorf("cluster %s: server: %w", ctx.Cluster, err)
	}
	if (len(user.ClientCertificateData) == 0) != (len(user.ClientKeyData) == 0) {
		return nil, "", fmt.Errorf("user %s: client-certificate-data and client-key-data go together", ctx.AuthInfo)
	}
	cfg := &rest.Config{
		Host: cl.Server, BearerToken: user.Token, Username: user.Username, Password: user.Password,
		TLSClientConfig: rest.TLSClientConfig{Insecure: cl.InsecureSkipTLSVerify, ServerName: cl.TLSServerName,
			CAData: cl.CertificateAuthorityData, CertData: user.ClientCertificateData, KeyData: user.ClientKeyData},
	}
	return cfg, ctx.Cluster, nil
}
