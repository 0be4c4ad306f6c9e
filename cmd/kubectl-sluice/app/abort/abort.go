// Package abort is `kubectl sluice abort ROLLOUT`: it returns to its stable version, by the status patch Argo's plugin sends.
package abort

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/steer"
	"github.com/sluicehq/sluice/internal/plugin"
)

// NewAbortOptions are abort's options.
func NewAbortOptions(streams genericiooptions.IOStreams) *steer.Options {
	return steer.NewOptions(streams, plugin.SteerAbort)
}

// NewCmdAbort is `abort ROLLOUT [--dry-run]`.
func NewCmdAbort(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return steer.NewCommand(flags, NewAbortOptions(streams), "Return a rollout to its stable version")
}
