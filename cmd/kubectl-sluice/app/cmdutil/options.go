package cmdutil

import (
	"context"

	"github.com/spf13/cobra"
)

// Options are a command's options, as kubectl's commands have them:
// Complete fills them from the arguments and flags (and connects),
// Validate checks them, Run does the work.
type Options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// RunE runs o's Complete, Validate and Run, as a cobra command's RunE.
func RunE(o Options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}
