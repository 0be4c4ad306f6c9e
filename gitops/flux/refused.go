package flux

import (
	"errors"
	"fmt"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
)

// ErrNotServed marks a field Flux has that Sluice does not serve (yet): the
// Kustomization is Stalled until it is removed.
var ErrNotServed = errors.New("not served by Sluice")

// notServed is an error naming a refused field and why.
func notServed(field, why string) error {
	return fmt.Errorf("%s: %w: %s", field, ErrNotServed, why)
}

// refused returns the first field of ks or repo that Sluice does not serve.
// Fields are checked in the order Flux's API lists them, so the same spec
// always names the same field.
func refused(ks *kustomizev1.Kustomization, repo *sourcev1.GitRepository) error {
	s := ks.Spec
	ref := s.SourceRef
	switch {
	case ref.Kind != sourcev1.GitRepositoryKind:
		return notServed("spec.sourceRef.kind", fmt.Sprintf("%q; only GitRepository is", ref.Kind))
	case ref.APIVersion != "" && ref.APIVersion != sourcev1.GroupVersion.String():
		return notServed("spec.sourceRef.apiVersion", fmt.Sprintf("%q; only %s is", ref.APIVersion, sourcev1.GroupVersion))
	case ref.Namespace != "" && ref.Namespace != ks.Namespace:
		return notServed("spec.sourceRef.namespace", "a GitRepository of another namespace (its Secret would be read in the Kustomization's)")
	case ref.Name != repo.Name || (repo.Namespace != "" && repo.Namespace != ks.Namespace):
		return fmt.Errorf("spec.sourceRef names GitRepository %s, not %s/%s", ref.Name, repo.Namespace, repo.Name)
	case s.CommonMetadata != nil && len(s.CommonMetadata.Labels) > 0:
		return notServed("spec.commonMetadata.labels", "Sluice's commonLabels also change selectors, which Flux's do not")
	case s.Decryption != nil && s.Decryption.Provider != "sops":
		return notServed("spec.decryption.provider", fmt.Sprintf("%q; only sops is", s.Decryption.Provider))
	case s.Decryption != nil && (s.Decryption.SecretRef == nil || s.Decryption.SecretRef.Name == ""):
		return notServed("spec.decryption without secretRef", "keys come from a Secret of the Kustomization's namespace only, never the manager's")
	case s.KubeConfig != nil && (s.KubeConfig.SecretRef == nil || s.KubeConfig.SecretRef.Name == ""):
		return notServed("spec.kubeConfig.configMapRef", "a remote cluster is reached with a kubeconfig Secret (secretRef) only")
	case s.PostBuild != nil && s.PostBuild.SubstituteStrategy != "" && s.PostBuild.SubstituteStrategy != kustomizev1.SubstituteStrategyWithVariables:
		return notServed("spec.postBuild.substituteStrategy", fmt.Sprintf("%q; only WithVariables is", s.PostBuild.SubstituteStrategy))
	case s.DeletionPolicy != "" && s.DeletionPolicy != kustomizev1.DeletionPolicyMirrorPrune:
		return notServed("spec.deletionPolicy", fmt.Sprintf("%q; only MirrorPrune (the default) is", s.DeletionPolicy))
	case len(s.BuildMetadata) > 0:
		return notServed("spec.buildMetadata", "origin and transformer annotations")
	case len(s.Components) > 0:
		return notServed("spec.components", "kustomize components")
	case len(s.HealthCheckExprs) > 0:
		return notServed("spec.healthCheckExprs", "CEL health checks; kstatus and Sluice's built-in checks read every kind")
	case len(s.Ignore) > 0:
		return notServed("spec.ignore", "ignore rules; an Application's ignoreDifferences is the equivalent")
	}
	for i, dep := range s.DependsOn {
		if dep.ReadyExpr != "" {
			return notServed(fmt.Sprintf("spec.dependsOn[%d].readyExpr", i), "CEL readiness expressions")
		}
	}
	return refusedSource(repo)
}

// refusedSource returns the first field of repo that Sluice does not serve.
func refusedSource(repo *sourcev1.GitRepository) error {
	s := repo.Spec
	switch {
	case s.Provider != "" && s.Provider != sourcev1.GitProviderGeneric:
		return notServed("GitRepository spec.provider", fmt.Sprintf("%q; only generic (credentials from secretRef) is", s.Provider))
	case s.ServiceAccountName != "":
		return notServed("GitRepository spec.serviceAccountName", "workload identity of a provider")
	case s.Verification != nil:
		return notServed("GitRepository spec.verify", "commit and tag signature verification")
	case s.ProxySecretRef != nil:
		return notServed("GitRepository spec.proxySecretRef", "a proxy for Git")
	case s.Ignore != nil:
		return notServed("GitRepository spec.ignore", ".sourceignore patterns; an Application's directory.exclude is the nearest")
	case s.RecurseSubmodules:
		return notServed("GitRepository spec.recurseSubmodules", "submodules")
	case len(s.Include) > 0:
		return notServed("GitRepository spec.include", "including other GitRepositories")
	case len(s.SparseCheckout) > 0:
		return notServed("GitRepository spec.sparseCheckout", "sparse checkouts")
	}
	return nil
}
