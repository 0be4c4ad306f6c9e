// Package v1alpha1 holds Sluice's own GitOps API: the Application, which syncs
// a path of a Git repository into the cluster.
//
// The types are shaped on purpose like Argo CD's Application, so that an Argo
// CD manifest moves over by changing its apiVersion. The package imports only
// apimachinery, so the kubectl plugin and other tools can import it cheaply.
//
// +kubebuilder:object:generate=true
// +groupName=gitops.sluice.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of the types in this package.
var GroupVersion = schema.GroupVersion{Group: "gitops.sluice.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the types of this package with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Application{}, &ApplicationList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
