// Command crdpatch rewrites the argoproj.io CRDs that controller-gen wrote
// into a directory, applying the relaxations in internal/crds. `make
// manifests` runs it right after controller-gen, and again to make the CRD
// of Argo CD's Application kind from Sluice's Application CRD.
//
//	go run ./hack/crdpatch config/crd/bases
//	go run ./hack/crdpatch argocd-application SLUICE_CRD OUT
package main

import (
	"fmt"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/internal/crds"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "argocd-application" {
		if err := deriveArgoCDApplication(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "crdpatch:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: crdpatch DIR")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(os.Args[1], crds.Group+"_*.yaml"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no %s CRDs in %s", crds.Group, os.Args[1])
	}
	for _, f := range files {
		if err != nil {
			break
		}
		err = patchFile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crdpatch:", err)
		os.Exit(1)
	}
}

func patchFile(path string) error {
	crd, err := readCRD(path)
	if err != nil {
		return err
	}
	if err := crds.Patch(crd); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	out, err := crds.Marshal(crd)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

// readCRD reads the CRD of a file, refusing fields a CRD has not.
func readCRD(path string) (*apiextensionsv1.CustomResourceDefinition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &crd, nil
}

// deriveArgoCDApplication writes to out the CRD of Argo CD's Application
// kind made from Sluice's Application CRD in path.
func deriveArgoCDApplication(path, out string) error {
	crd, err := readCRD(path)
	if err != nil {
		return err
	}
	derived, err := crds.Marshal(crds.ArgoCDApplication(crd))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, derived, 0o644)
}
