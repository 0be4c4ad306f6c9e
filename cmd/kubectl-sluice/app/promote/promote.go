// Package promote is `kubectl sluice promote ROLLOUT [--full]`: a paused
// or waiting rollout moves to its next step, or with --full to the end.
package promote

import (
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/steer"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Options are promote's options.
type Options struct {
	*steer.Options
	// Full skips every remaining step and analysis.
	Full bool
}

// NewPromoteOptions are promote's options, --full unset.
func NewPromoteOptions(streams genericiooptions.IOStreams) *Options {
	o := &Options{}
	// --full is read when the command runs: it picks the patches then.
	o.Options = steer.NewOptions(streams, plugin.Steering{Verb: plugin.SteerPromote.Verb, Done: plugin.SteerPromote.Done,
		Patches: func(ro *rolloutsv1alpha1.Rollout, now time.Time) plugin.Patches {
			if o.Full {
				return plugin.SteerPromoteFull.Patches(ro, now)
			}
			return plugin.SteerPromote.Patches(ro, now)
		}})
	return o
}

// NewCmdPromote is `promote ROLLOUT [--full] [--dry-run]`.
func NewCmdPromote(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewPromoteOptions(streams)
	cmd := steer.NewCommand(flags, o.Options, "Move a paused or waiting rollout to its next step (--full: to the end)")
	cmd.Flags().BoolVar(&o.Full, "full", false, "skip every remaining step and analysis")
	return cmd
}
