// Package scheme builds the runtime scheme every Sluice binary and test
// shares: the Kubernetes built-in types, Argo Rollouts' argoproj.io/v1alpha1
// types, Gateway API v1, Flux's GitRepository (source.toolkit.fluxcd.io/v1)
// and Kustomization (kustomize.toolkit.fluxcd.io/v1) types, and Sluice's own
// gitops.sluice.dev types.
package scheme

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// New returns a scheme with every API group Sluice reads or writes.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextensionsv1.AddToScheme,
		rolloutsv1alpha1.AddToScheme,
		gatewayv1.Install,
		sourcev1.AddToScheme,
		kustomizev1.AddToScheme,
		gitopsv1alpha1.AddToScheme,
	} {
		// Registration fails only on programming errors (a type registered
		// twice under different names), so a panic at start-up is right.
		utilruntime.Must(add(s))
	}
	return s
}
