// Package restart is `kubectl sluice restart ROLLOUT`: every pod of the rollout is replaced (spec.restartAt now).
package restart

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/steer"
	"github.com/sluicehq/sluice/internal/plugin"
)

// NewRestartOptions are restart's options.
func NewRestartOptions(streams genericiooptions.IOStreams) *steer.Options {
	return steer.NewOptions(streams, plugin.SteerRestart)
}

// NewCmdRestart is `restart ROLLOUT [--dry-run]`.
func NewCmdRestart(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return steer.NewCommand(flags, NewRestartOptions(streams), "Replace every pod of a rollout")
}
