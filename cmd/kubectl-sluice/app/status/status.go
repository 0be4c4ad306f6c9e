// Package status is `kubectl sluice status ROLLOUT`: the Rollout's phase
// and message, printed as they change, until it is Healthy (exit 0) or
// Degraded (exit 1), as `kubectl argo rollouts status` does.
package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
)

// ErrNotHealthy is status's error for a Degraded rollout, or one not
// Healthy in time.
var ErrNotHealthy = errors.New("the rollout is not healthy")

// Options are status's options.
type Options struct {
	genericiooptions.IOStreams

	Rollout string
	// Watch waits until the rollout is Healthy or Degraded.
	Watch bool
	// Timeout gives up after this long; 0 never does.
	Timeout time.Duration

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewStatusOptions are status's options: watching, with no timeout.
func NewStatusOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Watch: true}
}

// NewCmdStatus is `status ROLLOUT [--watch=false] [--timeout D]`.
func NewCmdStatus(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewStatusOptions(streams)
	o.flags = flags
	cmd := &cobra.Command{
		Use:   "status ROLLOUT",
		Short: "Print a rollout's status; exit 0 once Healthy, non-zero when Degraded or past --timeout",
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", true, "wait until the rollout is Healthy or Degraded")
	cmd.Flags().DurationVarP(&o.Timeout, "timeout", "t", 0, "give up after this long (0: never)")
	return cmd
}

// Complete reads ROLLOUT and connects.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		o.Rollout = args[0]
	}
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks the name and the timeout.
func (o *Options) Validate() error {
	if o.Rollout == "" {
		return errors.New("name the rollout")
	}
	if o.Timeout < 0 {
		return fmt.Errorf("--timeout %s: give a duration of 0 (never) or more", o.Timeout)
	}
	return nil
}

// Run prints the status, and with --watch every change of it, on a watch
// of the Rollout, until it settles.
func (o *Options) Run(ctx context.Context) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	last := ""
	check := func(ctx context.Context) (bool, error) {
		ro := &rolloutsv1alpha1.Rollout{}
		if err := o.conn.Get(ctx, "rollout", o.Rollout, ro); err != nil {
			return false, err
		}
		if line := Line(ro); line != last {
			fmt.Fprintln(o.Out, line)
			last = line
		}
		switch VerdictOf(ro) {
		case Healthy:
			return true, nil
		case Degraded:
			return true, ErrNotHealthy
		}
		if !o.Watch {
			return true, ErrNotHealthy
		}
		return false, nil
	}
	if !o.Watch {
		_, err := check(ctx)
		return err
	}
	err := cmdutil.Until(ctx, o.conn.Client, cmdutil.Named(&rolloutsv1alpha1.RolloutList{}, o.conn.Namespace, o.Rollout), check)
	if err != nil && ctx.Err() != nil {
		if o.Timeout > 0 {
			return fmt.Errorf("%w within %s", ErrNotHealthy, o.Timeout)
		}
		return ErrNotHealthy
	}
	return err
}

// Verdict is where a rollout stands.
type Verdict int

// The verdicts.
const (
	// Progressing is neither Healthy nor Degraded yet, or not observed
	// since its spec last changed.
	Progressing Verdict = iota
	Healthy
	Degraded
)

// VerdictOf is the rollout's verdict: a phase counts only once the
// controller has observed the current spec.
func VerdictOf(ro *rolloutsv1alpha1.Rollout) Verdict {
	if ro.Status.ObservedGeneration != fmt.Sprint(ro.Generation) {
		return Progressing
	}
	switch ro.Status.Phase {
	case rolloutsv1alpha1.RolloutPhaseHealthy:
		return Healthy
	case rolloutsv1alpha1.RolloutPhaseDegraded:
		return Degraded
	}
	return Progressing
}

// Line is the status line: the phase, and its message when there is one.
func Line(ro *rolloutsv1alpha1.Rollout) string {
	line := string(ro.Status.Phase)
	if ro.Status.Message != "" {
		line += " - " + ro.Status.Message
	}
	return line
}
