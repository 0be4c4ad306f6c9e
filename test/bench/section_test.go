package bench

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReplaceSection(t *testing.T) {
	begin, end := beginMarker("rollouts"), endMarker("rollouts")
	other := beginMarker("gitops") + "\ngitops table\n" + endMarker("gitops")
	for _, tc := range []struct {
		name, doc, want string
	}{
		{
			name: "replaces what was between the markers and nothing else",
			doc:  "# Performance\n\n" + begin + "\nold table\n" + end + "\n\nAfter.\n" + other + "\n",
			want: "# Performance\n\n" + begin + "\nnew table\n" + end + "\n\nAfter.\n" + other + "\n",
		},
		{
			name: "a document without the section gets it at its end",
			doc:  "# Performance\n\n" + other + "\n",
			want: "# Performance\n\n" + other + "\n\n" + begin + "\nnew table\n" + end + "\n",
		},
		{
			name: "an empty section is filled",
			doc:  begin + "\n" + end + "\n",
			want: begin + "\nnew table\n" + end + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReplaceSection(tc.doc, "rollouts", "new table\n")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReplaceSectionRefusesABrokenSection(t *testing.T) {
	for name, doc := range map[string]string{
		"no end":       "intro\n" + beginMarker("rollouts") + "\ntable\n",
		"no beginning": "intro\ntable\n" + endMarker("rollouts") + "\n",
	} {
		if _, err := ReplaceSection(doc, "rollouts", "new"); err == nil {
			t.Errorf("%s: a section with one marker was rewritten", name)
		}
	}
}

func TestMachineFromProc(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
	if got := cpuModel(strings.NewReader(cpuinfo)); got != "Intel(R) Xeon(R) CPU @ 2.20GHz" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel(strings.NewReader("processor\t: 0\n")); got != "unknown CPU" {
		t.Errorf("cpuModel of no model name = %q", got)
	}
	if got := memTotalGB("MemTotal:       24576000 kB\nMemFree:         1000 kB\n"); got < 23.43 || got > 23.44 {
		t.Errorf("memTotalGB = %v, want 23.44 (24576000 kB)", got)
	}
}
