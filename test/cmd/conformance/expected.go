package main

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// expectedYAML is what each of Argo's tests is expected to do against Sluice;
// see expected.yaml for the format.
//
//go:embed expected.yaml
var expectedYAML []byte

// Verdict is what a test is expected to do against Sluice.
type Verdict string

const (
	// Pass: the test passes, and a failure fails the run.
	Pass Verdict = "pass"
	// Gap: the test fails because Sluice lacks something it should have.
	// It runs, so the table shows the day it starts to pass.
	Gap Verdict = "gap"
	// Differs: Sluice behaves otherwise on purpose (Why says how). Not run
	// unless --all.
	Differs Verdict = "differs"
	// Cannot: the test cannot pass on a cluster whose pods run no
	// containers (Why says why). Not run unless --all.
	Cannot Verdict = "cannot"
)

// Suite is one of Argo's testify suites: the test function that runs it and
// what is expected of each of its tests.
type Suite struct {
	// Name is the suite's test function, e.g. TestCanarySuite.
	Name string `json:"name"`
	// Verdict and Why, when set, hold for the whole suite, which is then
	// not run (a service mesh or a cloud it needs, say).
	Verdict Verdict `json:"verdict,omitempty"`
	Why     string  `json:"why,omitempty"`
	Tests   []Test  `json:"tests,omitempty"`
}

// Test is one test of a suite.
type Test struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	Why     string  `json:"why,omitempty"`
	// Alone runs the test in a process and namespace of its own, after
	// every other test and with nothing beside it: it creates an object
	// that Argo's own typed clients cannot decode (a malformed Rollout),
	// which breaks any test that lists Rollouts while it exists.
	Alone bool `json:"alone,omitempty"`
}

// runs reports whether the test runs by default.
func (t Test) runs() bool { return t.Verdict == Pass || t.Verdict == Gap }

// runs reports whether any of the suite's tests run by default.
func (s Suite) runs() bool { return s.Verdict == "" }

func loadExpected(data []byte) ([]Suite, error) {
	var suites []Suite
	if err := yaml.UnmarshalStrict(data, &suites); err != nil {
		return nil, fmt.Errorf("expected.yaml: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range suites {
		if seen[s.Name] {
			return nil, fmt.Errorf("expected.yaml: suite %s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Verdict != "" {
			if err := checkVerdict(s.Name, s.Verdict, s.Why); err != nil {
				return nil, err
			}
			if s.Verdict == Pass || s.Verdict == Gap {
				return nil, fmt.Errorf("expected.yaml: suite %s: a whole suite is only %s or %s", s.Name, Differs, Cannot)
			}
		}
		for _, t := range s.Tests {
			id := s.Name + "/" + t.Name
			if seen[id] {
				return nil, fmt.Errorf("expected.yaml: %s listed twice", id)
			}
			seen[id] = true
			if err := checkVerdict(id, t.Verdict, t.Why); err != nil {
				return nil, err
			}
		}
	}
	return suites, nil
}

func checkVerdict(id string, v Verdict, why string) error {
	if !slices.Contains([]Verdict{Pass, Gap, Differs, Cannot}, v) {
		return fmt.Errorf("expected.yaml: %s: unknown verdict %q", id, v)
	}
	if v != Pass && strings.TrimSpace(why) == "" {
		return fmt.Errorf("expected.yaml: %s: a %s verdict needs a why", id, v)
	}
	return nil
}
