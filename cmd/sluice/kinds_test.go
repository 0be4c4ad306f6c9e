package main

import (
	"flag"
	"testing"
)

func TestKindSwitch(t *testing.T) {
	for _, tc := range []struct {
		why     string
		args    []string
		want    kindSwitch
		invalid bool
	}{
		{"auto unless told", nil, kindAuto, false},
		{"on", []string{"--argocd-applications=on"}, kindOn, false},
		{"off", []string{"--argocd-applications=off"}, kindOff, false},
		{"anything else is refused, not read as off", []string{"--argocd-applications=true"}, "", true},
	} {
		t.Run(tc.why, func(t *testing.T) {
			fs := flag.NewFlagSet("sluice", flag.ContinueOnError)
			o := options{argoCDApplications: kindAuto}
			fs.Var(&o.argoCDApplications, "argocd-applications", "")
			err := fs.Parse(tc.args)
			if tc.invalid {
				if err == nil {
					t.Fatalf("%v: accepted", tc.args)
				}
				return
			}
			if err != nil || o.argoCDApplications != tc.want {
				t.Fatalf("%v: got %q, %v; want %q", tc.args, o.argoCDApplications, err, tc.want)
			}
		})
	}
}

func TestAutoServes(t *testing.T) {
	for _, tc := range []struct {
		why    string
		labels map[string]string
		want   bool
	}{
		{"Sluice's CRD, unlabelled (config/crd/argocd)", nil, true},
		{"a CRD labelled part of Sluice", map[string]string{partOfLabel: "sluice"}, true},
		{"Argo CD's own CRD: its controller runs, Sluice stays out", map[string]string{partOfLabel: "argocd"}, false},
	} {
		t.Run(tc.why, func(t *testing.T) {
			if got := autoServes(tc.labels, "argocd"); got != tc.want {
				t.Fatalf("autoServes(%v) = %v, want %v", tc.labels, got, tc.want)
			}
		})
	}
}
