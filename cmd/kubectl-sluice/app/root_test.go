package app

import (
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Every command people and scripts call is there, with the aliases they
// use.
func TestRootCommands(t *testing.T) {
	root := NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	for _, path := range [][]string{
		{"promote"}, {"abort"}, {"retry"}, {"pause"}, {"resume"}, {"restart"}, {"undo"},
		{"set", "image"}, {"terminate", "analysisrun"}, {"terminate", "experiment"},
		{"get", "rollout"}, {"get", "experiment"}, {"get", "exp"}, {"list", "rollouts"}, {"list", "experiments"}, {"list", "exp"},
		{"status"}, {"app", "list"}, {"app", "get"}, {"app", "history"}, {"app", "sync"}, {"app", "rollback"}, {"app", "diff"},
		{"notifications", "template", "get"}, {"notifications", "trigger", "run"}, {"version"},
	} {
		cmd, rest, err := root.Find(path)
		if err != nil || len(rest) > 0 || cmd == root {
			t.Errorf("kubectl sluice %v: not found (%v)", path, err)
		}
	}
	for _, path := range [][]string{{"abort"}, {"undo"}, {"app", "sync"}} {
		cmd, _, _ := root.Find(path)
		if cmd.Flags().Lookup("dry-run") == nil {
			t.Errorf("kubectl sluice %v has no --dry-run", path)
		}
	}
}
