package integration

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/internal/scheme"
)

// The Syncer against a real API server, for what only a real one says.
var _ = Describe("The Syncer", func() {
	It("prunes past an object whose kind is gone, instead of failing every sync", func(ctx context.Context) {
		namespace := newNamespace(ctx, "syncer-")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "stale",
			Labels: map[string]string{"gitops.sluice.dev/name": "app", "gitops.sluice.dev/namespace": namespace}}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		app := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "app"}}
		// A client that starts after the CRD was deleted, as the manager
		// does after a restart: its mapper has never heard of the kind.
		c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
		Expect(err).NotTo(HaveOccurred())
		syncer := gitops.NewSyncer(c, gitops.ApplicationOwner)

		stale := []gitopsv1alpha1.ObjectRef{
			{Group: "shop.example.com", Version: "v1", Kind: "Gadget", Namespace: namespace, Name: "gone-with-its-crd"},
			{Version: "v1", Kind: "ConfigMap", Namespace: namespace, Name: "stale"},
		}
		kept, deleted, err := syncer.Prune(ctx, stale, app, metav1.DeletePropagationBackground)
		Expect(err).NotTo(HaveOccurred())
		Expect(kept).To(BeEmpty())
		Expect(deleted).To(Equal(1), "the stale ConfigMap after it is pruned")
		Expect(c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{})).NotTo(Succeed())
	})
})
