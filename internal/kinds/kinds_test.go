package kinds

import (
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecide(t *testing.T) {
	CRDs := Flux.CRDs
	crd := func(name string, labels map[string]string) *apiextensionsv1.CustomResourceDefinition {
		return &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	ours := map[string]*apiextensionsv1.CustomResourceDefinition{
		CRDs[0]: crd(CRDs[0], map[string]string{"app.kubernetes.io/name": "sluice"}), CRDs[1]: crd(CRDs[1], nil)}
	flux := map[string]*apiextensionsv1.CustomResourceDefinition{
		CRDs[0]: crd(CRDs[0], map[string]string{"app.kubernetes.io/part-of": "flux"}), CRDs[1]: crd(CRDs[1], map[string]string{"app.kubernetes.io/part-of": "flux"})}
	oneFlux := map[string]*apiextensionsv1.CustomResourceDefinition{
		CRDs[0]: crd(CRDs[0], nil), CRDs[1]: crd(CRDs[1], map[string]string{"app.kubernetes.io/part-of": "flux"})}
	cases := map[string]struct {
		reason     string
		mode       Mode
		namespaced bool
		crds       map[string]*apiextensionsv1.CustomResourceDefinition
		want       bool
	}{
		"auto, ours":          {reason: "Sluice's generated CRDs: serve", mode: ModeAuto, crds: ours, want: true},
		"auto, Flux's":        {reason: "Flux installed them: Flux serves", mode: ModeAuto, crds: flux},
		"auto, one is Flux's": {reason: "either one labelled is Flux running", mode: ModeAuto, crds: oneFlux},
		"auto, none":          {reason: "no CRDs, nothing to serve", mode: ModeAuto},
		"auto, one missing":   {reason: "both kinds are needed", mode: ModeAuto, crds: map[string]*apiextensionsv1.CustomResourceDefinition{CRDs[0]: ours[CRDs[0]]}},
		"auto, namespaced":    {reason: "namespaced reads no CRD", mode: ModeAuto, namespaced: true, crds: ours},
		"on, Flux's":          {reason: "on serves whoever installed them (a migration from Flux keeps its CRDs)", mode: ModeOn, crds: flux, want: true},
		"on, namespaced":      {reason: "on serves in namespaced mode too", mode: ModeOn, namespaced: true, want: true},
		"off":                 {reason: "off never serves", mode: ModeOff, crds: ours},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, why := Flux.Decide(tc.mode, tc.namespaced, tc.crds)
			if got != tc.want || why == "" {
				t.Errorf("%s: Decide = %v (%s), want %v", tc.reason, got, why, tc.want)
			}
		})
	}
	for _, in := range []string{"auto", "ON", " off "} {
		if _, err := ParseMode(in); err != nil {
			t.Errorf("ParseMode(%q): %v", in, err)
		}
	}
	if _, err := ParseMode("yes"); err == nil || err.Error() != `"yes": want auto, on or off` {
		t.Errorf("ParseMode(yes): %v", err)
	}
}

func TestDecideArgoCDApplications(t *testing.T) {
	crd := func(labels map[string]string) map[string]*apiextensionsv1.CustomResourceDefinition {
		name := ArgoCDApplications.CRDs[0]
		return map[string]*apiextensionsv1.CustomResourceDefinition{name: {ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}}
	}
	for _, tc := range []struct {
		reason string
		crds   map[string]*apiextensionsv1.CustomResourceDefinition
		want   bool
	}{
		{"Sluice's CRD (config/crd/argocd, the chart's crds.argoCDApplications): serve", crd(nil), true},
		{"Argo CD's own CRD: Argo CD's controller runs, Sluice stays out", crd(map[string]string{"app.kubernetes.io/part-of": "argocd"}), false},
		{"a Flux label means nothing to Argo CD's kind", crd(map[string]string{"app.kubernetes.io/part-of": "flux"}), true},
		{"no CRD: nothing to serve", nil, false},
	} {
		if got, why := ArgoCDApplications.Decide(ModeAuto, false, tc.crds); got != tc.want {
			t.Errorf("%s: Decide = %v (%s), want %v", tc.reason, got, why, tc.want)
		}
	}
}
