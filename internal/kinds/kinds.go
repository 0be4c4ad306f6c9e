// Package kinds decides whether the manager serves a kind another project
// also serves (Flux's GitRepository and Kustomization, Argo CD's
// Application): two controllers serving one object fight over it, so Sluice
// never serves a kind whose own project runs in the cluster.
package kinds

import (
	"context"
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Mode is the value of a kind's flag (--flux, --argocd-applications).
type Mode string

// The values of a kind's flag.
const (
	// ModeAuto serves the kind when its CRDs are installed and are not
	// its project's own (labelled app.kubernetes.io/part-of: <project>, as
	// that project's installation labels them): a cluster running Flux or
	// Argo CD keeps it.
	ModeAuto Mode = "auto"
	// ModeOn serves the kind whoever installed its CRDs; the manager waits
	// for the CRDs before it starts.
	ModeOn Mode = "on"
	// ModeOff never serves it.
	ModeOff Mode = "off"
)

// ParseMode reads a flag's value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeAuto, ModeOn, ModeOff:
		return m, nil
	}
	return "", fmt.Errorf("%q: want auto, on or off", s)
}

// Foreign is a kind, or kinds, another project also serves.
type Foreign struct {
	// Flag is the manager's flag that decides, for messages.
	Flag string
	// CRDs are the names of its CRDs: all are needed.
	CRDs []string
	// PartOf is the value of app.kubernetes.io/part-of its own
	// installation puts on its CRDs; Sluice's generated CRDs carry none.
	PartOf string
}

// The kinds Sluice may serve beside their own projects.
var (
	Flux = Foreign{Flag: "--flux", PartOf: "flux",
		CRDs: []string{"gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io"}}
	ArgoCDApplications = Foreign{Flag: "--argocd-applications", PartOf: "argocd",
		CRDs: []string{"applications.argoproj.io"}}
)

// partOfLabel marks the CRDs a project's own installation applies.
const partOfLabel = "app.kubernetes.io/part-of"

// Decide says whether to serve the kind, and why, from its flag, whether
// the manager is namespaced (it then reads nothing cluster-scoped, so auto
// cannot look and does not serve), and the CRDs found (nil: absent).
func (f Foreign) Decide(mode Mode, namespaced bool, crds map[string]*apiextensionsv1.CustomResourceDefinition) (bool, string) {
	switch mode {
	case ModeOn:
		return true, f.Flag + "=on"
	case ModeOff:
		return false, f.Flag + "=off"
	}
	if namespaced {
		return false, f.Flag + "=auto in namespaced mode reads no CRD; " + f.Flag + "=on serves the kind"
	}
	for _, name := range f.CRDs {
		crd := crds[name]
		if crd == nil {
			return false, "the CRD " + name + " is not installed"
		}
		if crd.Labels[partOfLabel] == f.PartOf {
			return false, "the CRD " + name + " is " + f.PartOf + "'s (" + partOfLabel + ": " + f.PartOf + "): its own controllers serve it"
		}
	}
	return true, "the CRDs are installed and are not " + f.PartOf + "'s own"
}

// Detect reads the kind's CRDs and decides as Decide does. Only an error
// other than their absence is returned.
func (f Foreign) Detect(ctx context.Context, c client.Reader, mode Mode, namespaced bool) (bool, string, error) {
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	if mode == ModeAuto && !namespaced {
		for _, name := range f.CRDs {
			var crd apiextensionsv1.CustomResourceDefinition
			err := c.Get(ctx, client.ObjectKey{Name: name}, &crd)
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return false, "", fmt.Errorf("reading the CRD %s for %s=auto: %w", name, f.Flag, err)
			default:
				crds[name] = &crd
			}
		}
	}
	serve, why := f.Decide(mode, namespaced, crds)
	return serve, why, nil
}
