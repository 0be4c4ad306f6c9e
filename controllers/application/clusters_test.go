package application

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/cluster"
	"github.com/sluicehq/sluice/internal/scheme"
)

const secretToken = "tok-never-in-a-status"

// closedAddress is a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestDestinationRefusals: what an Application's destination resolves to
// before any cluster is reached, and the reason and message it reports.
func TestDestinationRefusals(t *testing.T) {
	dead := "https://" + closedAddress(t)
	clusterSecret := func(name, server, config string, annotations map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "sluice-system", Name: name, Annotations: annotations,
			Labels: map[string]string{cluster.SecretTypeLabel: cluster.SecretTypeCluster}},
			Data: map[string][]byte{"name": []byte(name), "server": []byte(server), "config": []byte(config)}}
	}
	tenantSecret := clusterSecret("sneaky", dead, `{"bearerToken":"x"}`, nil)
	tenantSecret.Namespace = "team-a"
	objects := []*corev1.Secret{
		clusterSecret("down", dead, `{"bearerToken":"`+secretToken+`"}`, map[string]string{cluster.AllowedNamespacesAnnotation: "team-a"}),
		clusterSecret("broken", "https://broken.example", `{"bearerToken":`, nil),
		tenantSecret,
	}
	builder := fake.NewClientBuilder().WithScheme(scheme.New())
	for _, o := range objects {
		builder = builder.WithObjects(o)
	}
	reader := builder.Build()
	r := &Reconciler{APIReader: reader, owned: &ownedWatches{owner: gitops.ApplicationOwner}, door: sluiceDoor{}}
	r.clusters = newClusters("sluice-system", 500*time.Millisecond, reader, scheme.New())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.clusters.Start(ctx) }()

	cases := []struct {
		name, reason string
		namespace    string
		dest         gitopsv1alpha1.ApplicationDestination
		wantReason   string
		wantMessage  string
	}{{
		name: "in-cluster", reason: "the manager's own cluster needs no Secret and no probe",
		namespace: "team-b", dest: gitopsv1alpha1.ApplicationDestination{Server: cluster.InClusterServer},
	}, {
		name: "a tenant's own cluster Secret", reason: "a Secret outside the manager's namespace registers nothing",
		namespace: "team-a", dest: gitopsv1alpha1.ApplicationDestination{Name: "sneaky"},
		wantReason:  ReasonClusterRefused,
		wantMessage: "destination.name sneaky: no cluster is registered by that name",
	}, {
		name: "not allowed", reason: "team-b is not in the Secret's allowed namespaces",
		namespace: "team-b", dest: gitopsv1alpha1.ApplicationDestination{Name: "down"},
		wantReason:  ReasonClusterRefused,
		wantMessage: "cluster down (" + dead + "): Applications of namespace team-b may not use it",
	}, {
		name: "a broken Secret", reason: "the Secret meant is named with what is wrong, not taken for a missing one",
		namespace: "sluice-system", dest: gitopsv1alpha1.ApplicationDestination{Server: "https://broken.example"},
		wantReason:  ReasonClusterRefused,
		wantMessage: "cluster Secret sluice-system/broken: key config: empty, or not a whole JSON object",
	}, {
		name: "unreachable", reason: "allowed, but nothing answers: unreachable within the timeout, naming the cluster",
		namespace: "team-a", dest: gitopsv1alpha1.ApplicationDestination{Name: "down"},
		wantReason:  ReasonClusterUnreachable,
		wantMessage: "cluster down (" + dead + ") did not answer within 500ms",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: tc.namespace, Name: "web"},
				Spec: gitopsv1alpha1.ApplicationSpec{Destination: tc.dest}}
			start := time.Now()
			target, reason, err := r.targetOf(ctx, app)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%s: took %s, past the timeout", tc.reason, took)
			}
			message := ""
			if err != nil {
				message = err.Error()
			}
			if diff := cmp.Diff(tc.wantReason, reason); diff != "" {
				t.Errorf("%s: reason (-want +got):\n%s\n%s", tc.reason, diff, message)
			}
			if !strings.HasPrefix(message, tc.wantMessage) || (tc.wantMessage == "") != (message == "") {
				t.Errorf("%s: message %q, want it to begin %q", tc.reason, message, tc.wantMessage)
			}
			if strings.Contains(message, secretToken) {
				t.Errorf("%s: the message quotes the credential", tc.reason)
			}
			if tc.wantReason == "" && (target == nil || target.remote != nil) {
				t.Errorf("%s: want the manager's own cluster", tc.reason)
			}
		})
	}

	t.Run("kubeconfig Secret", func(t *testing.T) {
		kubeconfig := "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: edge, user: u}}]\n" +
			"clusters: [{name: edge, cluster: {server: '" + dead + "'}}]\nusers: [{name: u, user: {token: " + secretToken + "}}]\n"
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "edge-kubeconfig"},
			Data: map[string][]byte{"value": []byte(kubeconfig)}}
		if err := reader.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		target, reason, err := r.kubeconfigTarget(ctx, "team-a", "edge-kubeconfig", "")
		if target != nil {
			t.Error("a cluster that does not answer gives no target")
		}
		if reason != ReasonClusterUnreachable || err == nil || !strings.HasPrefix(err.Error(), "cluster edge ("+dead+") did not answer") {
			t.Errorf("a Flux kubeconfig Secret is reached as a registered cluster is: got %s, %v", reason, err)
		}
		_, reason, err = r.kubeconfigTarget(ctx, "team-a", "missing", "")
		if reason != ReasonClusterRefused || err == nil || !strings.Contains(err.Error(), "kubeConfig.secretRef missing") {
			t.Errorf("a missing kubeconfig Secret is named: got %s, %v", reason, err)
		}
	})
}
