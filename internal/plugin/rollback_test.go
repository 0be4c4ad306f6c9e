package plugin

import (
	"testing"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func TestRollbackTarget(t *testing.T) {
	const (
		c3 = "cccc3333cccc3333cccc3333cccc3333cccc3333"
		c2 = "bbbb2222bbbb2222bbbb2222bbbb2222bbbb2222"
		c1 = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"
		c0 = "aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000"
	)
	entry := func(revision, result string) gitopsv1alpha1.SyncHistory {
		return gitopsv1alpha1.SyncHistory{Revision: revision, Result: result}
	}
	history := []gitopsv1alpha1.SyncHistory{ // newest first
		entry(c3, "Failed"), entry(c2, "Succeeded"), entry(c2, "Succeeded"), entry(c1, "Succeeded"), entry(c0, "Succeeded"),
	}
	cases := []struct {
		reason, revision string
		history          []gitopsv1alpha1.SyncHistory
		want, err        string
	}{
		{"default: the newest successful sync of another commit than the deployed one (a failed sync deployed nothing)", "", history, c1, ""},
		{"an index of the history, 0 the newest", "3", history, c1, ""},
		{"a full commit", c0, history, c0, ""},
		{"a commit prefix", "bbbb22", history, c2, ""},
		{"a prefix of two commits", "aaaa", history, "", "aaaa names more than one commit of the history: give more digits"},
		{"a commit not in the history", "dddd4444", history, "", "no commit dddd4444 in the history (kubectl sluice app history lists it)"},
		{"an index past the end", "7", history, "", "the history has 5 entries: no entry 7"},
		{"only one commit ever synced", "", history[1:3], "", "the history holds no successful sync of a commit before " + c2},
		{"no history", "", nil, "", "the history holds no successful sync"},
		{"an entry with no commit (a fetch that failed)", "0", []gitopsv1alpha1.SyncHistory{entry("", "Failed")}, "", "entry 0 of the history names no commit"},
	}
	for _, c := range cases {
		got, err := RollbackTarget(c.history, c.revision)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s: error %v, want %q", c.reason, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.reason, err)
		case c.err == "" && got.Revision != c.want:
			t.Errorf("%s: got %s, want %s", c.reason, got.Revision, c.want)
		}
	}
}
