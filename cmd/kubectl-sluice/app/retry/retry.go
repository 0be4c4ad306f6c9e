// Package retry is `kubectl sluice retry ROLLOUT`: an aborted rollout starts its steps over.
package retry

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/steer"
	"github.com/sluicehq/sluice/internal/plugin"
)

// NewRetryOptions are retry's options.
func NewRetryOptions(streams genericiooptions.IOStreams) *steer.Options {
	return steer.NewOptions(streams, plugin.SteerRetry)
}

// NewCmdRetry is `retry ROLLOUT [--dry-run]`.
func NewCmdRetry(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return steer.NewCommand(flags, NewRetryOptions(streams), "Start an aborted rollout's steps over")
}
