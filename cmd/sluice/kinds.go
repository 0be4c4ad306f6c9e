package main

import (
	"context"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// A kindSwitch turns on a kind another project also serves, such as Argo
// CD's Application: "on", "off", or "auto", which serves it when its CRD is
// installed and is not that project's own. Two controllers serving one
// object fight over it, so Sluice never serves a kind whose owner runs.
type kindSwitch string

// The values a kindSwitch takes.
const (
	kindOn   kindSwitch = "on"
	kindOff  kindSwitch = "off"
	kindAuto kindSwitch = "auto"
)

// Set parses a flag's value.
func (k *kindSwitch) Set(s string) error {
	switch v := kindSwitch(s); v {
	case kindOn, kindOff, kindAuto:
		*k = v
		return nil
	}
	return fmt.Errorf("%q: want on, off or auto", s)
}

func (k *kindSwitch) String() string { return string(*k) }

// argoCDApplicationsCRD is the CRD of Argo CD's Application kind.
const argoCDApplicationsCRD = "applications.argoproj.io"

// partOfLabel is the label a project's own CRDs carry, naming the project
// (app.kubernetes.io/part-of: argocd on Argo CD's Application CRD).
const partOfLabel = "app.kubernetes.io/part-of"

// serves resolves a switch for the kind whose CRD is named crd and whose
// own project labels its CRDs part-of owner.
func (k kindSwitch) serves(ctx context.Context, cfg *rest.Config, crd, owner string) (bool, error) {
	switch k {
	case kindOn:
		return true, nil
	case kindOff:
		return false, nil
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return false, err
	}
	def := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: crd}, def); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading the CRD %s: %w", crd, err)
	}
	return autoServes(def.Labels, owner), nil
}

// autoServes is auto's rule: a CRD its own project installed means that
// project's controllers run.
func autoServes(crdLabels map[string]string, owner string) bool {
	return crdLabels[partOfLabel] != owner
}
