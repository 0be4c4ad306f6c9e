package gitops

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/render"
)

func TestPostBuildVariables(t *testing.T) {
	cm := func(name string, optional bool) gitopsv1alpha1.SubstituteReference {
		return gitopsv1alpha1.SubstituteReference{Kind: "ConfigMap", Name: name, Optional: optional}
	}
	secret := func(name string, optional bool) gitopsv1alpha1.SubstituteReference {
		return gitopsv1alpha1.SubstituteReference{Kind: "Secret", Name: name, Optional: optional}
	}
	found := func(data map[string]string) SubstituteSource { return SubstituteSource{Found: true, Data: data} }
	tests := []struct {
		reason  string
		pb      *gitopsv1alpha1.PostBuild
		sources []SubstituteSource
		want    render.Variables
		wantErr string
	}{
		{"no postBuild: no variables", nil, nil, render.Variables{Values: map[string]string{}}, ""},
		{"substitute alone", &gitopsv1alpha1.PostBuild{Substitute: map[string]string{"region": "eu"}}, nil,
			render.Variables{Values: map[string]string{"region": "eu"}}, ""},
		{"a later substituteFrom entry overrides an earlier one, key by key",
			&gitopsv1alpha1.PostBuild{SubstituteFrom: []gitopsv1alpha1.SubstituteReference{cm("defaults", false), cm("prod", false)}},
			[]SubstituteSource{found(map[string]string{"region": "us", "size": "s"}), found(map[string]string{"region": "eu"})},
			render.Variables{Values: map[string]string{"region": "eu", "size": "s"}}, ""},
		{"substitute overrides substituteFrom",
			&gitopsv1alpha1.PostBuild{Substitute: map[string]string{"region": "ap"},
				SubstituteFrom: []gitopsv1alpha1.SubstituteReference{cm("defaults", false)}},
			[]SubstituteSource{found(map[string]string{"region": "us"})},
			render.Variables{Values: map[string]string{"region": "ap"}}, ""},
		{"a Secret's values are sensitive, with and without their newlines",
			&gitopsv1alpha1.PostBuild{SubstituteFrom: []gitopsv1alpha1.SubstituteReference{secret("db", false)}},
			[]SubstituteSource{found(map[string]string{"password": "hunter2\n"})},
			render.Variables{Values: map[string]string{"password": "hunter2\n"}, Sensitive: []string{"hunter2\n", "hunter2"}}, ""},
		{"a missing optional entry is skipped",
			&gitopsv1alpha1.PostBuild{SubstituteFrom: []gitopsv1alpha1.SubstituteReference{cm("maybe", true), cm("there", false)}},
			[]SubstituteSource{{}, found(map[string]string{"a": "1"})},
			render.Variables{Values: map[string]string{"a": "1"}}, ""},
		{"a missing entry that is not optional fails, naming it",
			&gitopsv1alpha1.PostBuild{SubstituteFrom: []gitopsv1alpha1.SubstituteReference{cm("there", false), secret("creds", false)}},
			[]SubstituteSource{found(map[string]string{"a": "1"}), {}},
			render.Variables{}, "spec.postBuild.substituteFrom[1]: Secret creds not found in the Application's namespace"},
		{"a key that is no variable name fails, naming the entry and the key",
			&gitopsv1alpha1.PostBuild{SubstituteFrom: []gitopsv1alpha1.SubstituteReference{cm("settings", false)}},
			[]SubstituteSource{found(map[string]string{"log.level": "debug"})},
			render.Variables{}, `spec.postBuild.substituteFrom[0]: ConfigMap settings: key "log.level" is not a variable name`},
		{"a substitute name that is no variable name fails",
			&gitopsv1alpha1.PostBuild{Substitute: map[string]string{"9lives": "x"}}, nil,
			render.Variables{}, `spec.postBuild.substitute: "9lives" is not a variable name`},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			got, err := PostBuildVariables(tt.pb, tt.sources)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("variables (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint(&render.Variables{Values: map[string]string{"a": "1", "b": "2"}})
	if a != Fingerprint(&render.Variables{Values: map[string]string{"b": "2", "a": "1"}}) {
		t.Error("the same variables have different fingerprints")
	}
	if a == Fingerprint(&render.Variables{Values: map[string]string{"a": "1", "b": "3"}}) {
		t.Error("a changed value keeps its fingerprint")
	}
	if Fingerprint(&render.Variables{Values: map[string]string{"a": "12"}}) == Fingerprint(&render.Variables{Values: map[string]string{"a1": "2"}}) {
		t.Error("names and values run together")
	}
}
