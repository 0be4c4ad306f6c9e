// Package application is `kubectl sluice app`: list, show, sync, roll back
// and diff Sluice's GitOps Applications.
package application

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewCmdApplication is the `app` group.
func NewCmdApplication(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Show and sync Applications"}
	cmd.AddCommand(
		NewCmdList(flags, streams),
		NewCmdGet(flags, streams),
		NewCmdHistory(flags, streams),
		NewCmdSync(flags, streams),
		NewCmdRollback(flags, streams),
		NewCmdDiff(flags, streams),
	)
	return cmd
}

// nameArg is the APPLICATION argument.
func nameArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

var errNoName = errors.New("name the application")
