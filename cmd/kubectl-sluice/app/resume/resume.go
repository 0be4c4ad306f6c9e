// Package resume is `kubectl sluice resume ROLLOUT`: a paused rollout goes on (spec.paused false).
package resume

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/steer"
	"github.com/sluicehq/sluice/internal/plugin"
)

// NewResumeOptions are resume's options.
func NewResumeOptions(streams genericiooptions.IOStreams) *steer.Options {
	return steer.NewOptions(streams, plugin.SteerResume)
}

// NewCmdResume is `resume ROLLOUT [--dry-run]`.
func NewCmdResume(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return steer.NewCommand(flags, NewResumeOptions(streams), "Let a paused rollout go on")
}
