package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ServiceAccountKubeconfig writes a kubeconfig that authenticates as a
// service account with a token from the TokenRequest API, as a pod of it
// would, and returns its path: a process run with it on the host has
// exactly that service account's rights.
func ServiceAccountKubeconfig(ctx context.Context, admin *rest.Config, c client.Client, namespace, name string) string {
	ginkgo.GinkgoHelper()
	config := clientcmdapi.NewConfig()
	config.Clusters["cluster"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	config.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: ServiceAccountToken(ctx, c, namespace, name)}
	config.Contexts["default"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: name, Namespace: namespace}
	config.CurrentContext = "default"
	data, err := clientcmd.Write(*config)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	path := filepath.Join(ginkgo.GinkgoT().TempDir(), fmt.Sprintf("kubeconfig-%s-%s", namespace, name))
	gomega.Expect(os.WriteFile(path, data, 0o600)).To(gomega.Succeed())
	return path
}

// ServiceAccountToken returns a token of an existing service account from
// the TokenRequest API, valid for four hours.
func ServiceAccountToken(ctx context.Context, c client.Client, namespace, name string) string {
	ginkgo.GinkgoHelper()
	sa := &corev1.ServiceAccount{}
	gomega.Expect(c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sa)).To(gomega.Succeed())
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](4 * 3600)}}
	gomega.Expect(c.SubResource("token").Create(ctx, sa, request)).To(gomega.Succeed())
	gomega.Expect(request.Status.Token).NotTo(gomega.BeEmpty())
	return request.Status.Token
}

// forbidden matches the API server's refusal as client-go reports it,
// `<resource> "<name>" is forbidden: User "<user>" cannot <verb> ...`, in
// plain text or inside a JSON or klog line, where the quotes are escaped.
var forbidden = regexp.MustCompile(`[^\n]{0,200}is forbidden: User \\?"[^"\\]*\\?" cannot [^\n]{0,200}`)

// Forbidden lists the lines of the manager's output in which the API server
// refused it something: under a least-privilege role, each is a rule the
// role lacks.
func (m *Manager) Forbidden() []string {
	var lines []string
	for _, out := range [][]byte{m.Session.Out.Contents(), m.Session.Err.Contents()} {
		for _, match := range forbidden.FindAll(out, -1) {
			lines = append(lines, string(match))
		}
	}
	return lines
}
