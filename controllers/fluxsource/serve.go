package fluxsource

import (
	"context"
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Mode is --flux: whether the manager serves Flux's GitRepository and
// Kustomization.
type Mode string

// The values of --flux.
const (
	// ModeAuto serves them when their CRDs are installed and are not
	// Flux's own (labelled app.kubernetes.io/part-of: flux, as Flux's
	// installation labels them): a cluster running Flux keeps Flux.
	ModeAuto Mode = "auto"
	// ModeOn serves them whoever installed their CRDs; the manager waits
	// for the CRDs before it starts.
	ModeOn Mode = "on"
	// ModeOff never serves them.
	ModeOff Mode = "off"
)

// ParseMode reads a --flux value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeAuto, ModeOn, ModeOff:
		return m, nil
	}
	return "", fmt.Errorf("%q: want auto, on or off", s)
}

// CRDs are the names of the CRDs of the two kinds.
var CRDs = []string{"gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io"}

// fluxLabel marks the CRDs Flux's own installation applies (flux install,
// flux bootstrap, Flux's Helm chart and operator); Sluice's generated
// CRDs do not carry it.
const fluxLabel, fluxLabelValue = "app.kubernetes.io/part-of", "flux"

// Decide says whether to serve Flux's kinds, and why, from --flux, whether
// the manager is namespaced (it then reads nothing cluster-scoped, so auto
// cannot look and does not serve), and the CRDs found (nil: absent).
func Decide(mode Mode, namespaced bool, crds map[string]*apiextensionsv1.CustomResourceDefinition) (bool, string) {
	switch mode {
	case ModeOn:
		return true, "--flux=on"
	case ModeOff:
		return false, "--flux=off"
	}
	if namespaced {
		return false, "--flux=auto in namespaced mode reads no CRD; --flux=on serves them"
	}
	for _, name := range CRDs {
		crd := crds[name]
		if crd == nil {
			return false, "the CRD " + name + " is not installed"
		}
		if crd.Labels[fluxLabel] == fluxLabelValue {
			return false, "the CRD " + name + " is Flux's (" + fluxLabel + ": " + fluxLabelValue + "): Flux's controllers serve it"
		}
	}
	return true, "Flux's CRDs are installed and not Flux's own"
}

// Detect reads the two CRDs and decides as Decide does. Only an error
// other than their absence is returned.
func Detect(ctx context.Context, c client.Reader, mode Mode, namespaced bool) (bool, string, error) {
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	if mode == ModeAuto && !namespaced {
		for _, name := range CRDs {
			var crd apiextensionsv1.CustomResourceDefinition
			err := c.Get(ctx, client.ObjectKey{Name: name}, &crd)
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return false, "", fmt.Errorf("reading the CRD %s for --flux=auto: %w", name, err)
			default:
				crds[name] = &crd
			}
		}
	}
	serve, why := Decide(mode, namespaced, crds)
	return serve, why, nil
}
