package main

import (
	"testing"

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
