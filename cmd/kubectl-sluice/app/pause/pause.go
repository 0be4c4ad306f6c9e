// Package pause is `kubectl sluice pause ROLLOUT`: the rollout holds where it is (spec.paused).
package pause

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/steer"
	"github.com/sluicehq/sluice/internal/plugin"
)

// NewPauseOptions are pause's options.
func NewPauseOptions(streams genericiooptions.IOStreams) *steer.Options {
	return steer.NewOptions(streams, plugin.SteerPause)
}

// NewCmdPause is `pause ROLLOUT [--dry-run]`.
func NewCmdPause(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return steer.NewCommand(flags, NewPauseOptions(streams), "Hold a rollout where it is")
}
