package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"100,400,1000", []int{100, 400, 1000}, true},
		{"1000, 100", []int{100, 1000}, true}, // smallest first, spaces allowed
		{"100,100", []int{100}, true},         // a size measured once
		{"100,x", nil, false},
		{"0", nil, false},
		{"", nil, false},
	} {
		got, err := parseSizes(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("parseSizes(%q) error %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if diff := cmp.Diff(tc.want, got); tc.ok && diff != "" {
			t.Errorf("parseSizes(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"the defaults run every suite", nil, true},
		{"one suite", []string{"--only", "gitops", "--steady", "10s", "--apps", "10", "--pushes", "5"}, true},
		{"no such suite", []string{"--only", "flux"}, false},
		{"the GitOps suite needs an Application", []string{"--apps", "0"}, false},
		{"and a push to time", []string{"--pushes", "0"}, false},
		{"a steady phase of no length", []string{"--steady", "0s"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args)
			if (err == nil) != tc.ok {
				t.Errorf("parseFlags(%q) error %v, want ok %v", tc.args, err, tc.ok)
			}
			if tc.ok && tc.args == nil && (o.apps != 100 || o.pushes != 20 || o.steady != time.Minute || o.only != "" || o.shaping != "") {
				t.Errorf("defaults: %+v", o)
			}
		})
	}
}

func TestTheHeadingNamesTheFlagsThatShapeTheFigures(t *testing.T) {
	o, err := parseFlags([]string{"--out", "/tmp/docs", "--steady", "10s", "--only", "gitops", "--keep", "--apps", "10"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "--apps=10 --only=gitops --steady=10s"; o.shaping != want {
		t.Errorf("shaping flags %q, want %q (where the report goes is no part of it)", o.shaping, want)
	}
}
