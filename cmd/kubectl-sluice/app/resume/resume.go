// Package resume is `kubectl sluice resume ROLLOUT`: a paused rollout goes on (spec.paused false).
package resume

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/steer"
	"github.com/sluicehq/sluice/internal/plugin"
)

// NewResumeOptions are resume's options.
func NewResumeOptions(streams genericiooptions.IOStreams) *steer.Options {
	return steer.NewOptions(streams, "resume", "resumed", func(*rolloutsv1alpha1.Rollout) plugin.Patches { return plugin.Resume() })
}

// NewCmdResume is `resume ROLLOUT [--dry-run]`.
func NewCmdResume(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	return steer.NewCommand(flags, NewResumeOptions(streams), "Let a paused rollout go on")
}
