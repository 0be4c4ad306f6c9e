// Package steer is what the commands that steer a Rollout with a patch
// share (promote, abort, retry, pause, resume, restart): read the
// Rollout, send the patches Argo Rollouts' plugin sends, say what was
// done. Each command has its own package, which names its verb and its
// patches.
package steer

import (
	"context"
	"errors"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Options are a steering command's.
type Options struct {
	genericiooptions.IOStreams

	// Steering is the command's verb, what it says once done and its
	// patches.
	plugin.Steering

	// Rollout is the name of the Rollout to steer.
	Rollout string
	DryRun  cmdutil.DryRun

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewOptions are the options of a steering command.
func NewOptions(streams genericiooptions.IOStreams, steering plugin.Steering) *Options {
	return &Options{IOStreams: streams, Steering: steering}
}

// NewCommand is `VERB ROLLOUT [--dry-run]`, connected with flags.
func NewCommand(flags *genericclioptions.ConfigFlags, o *Options, short string) *cobra.Command {
	o.flags = flags
	cmd := &cobra.Command{
		Use:   o.Verb + " ROLLOUT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete reads the arguments and --dry-run, and connects.
func (o *Options) Complete(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		o.Rollout = args[0]
	}
	var err error
	if o.DryRun, err = cmdutil.GetDryRun(cmd); err != nil {
		return err
	}
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks a Rollout is named.
func (o *Options) Validate() error {
	if o.Rollout == "" {
		return errors.New("name the rollout to " + o.Verb)
	}
	return nil
}

// Run reads the Rollout and sends its patches: the status one first, as
// Argo's plugin sends them.
func (o *Options) Run(ctx context.Context) error {
	ro := &rolloutsv1alpha1.Rollout{}
	if err := o.conn.Get(ctx, "rollout", o.Rollout, ro); err != nil {
		return err
	}
	patcher := cmdutil.Patcher{Client: o.conn.Client, DryRun: o.DryRun, Out: o.Out}
	err := o.Patches(ro, time.Now()).Send(func(status bool, data []byte) error {
		return patcher.Patch(ctx, "rollout", ro, status, client.RawPatch(types.MergePatchType, data))
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "rollout '%s' %s%s\n", o.Rollout, o.Done, o.DryRun.Suffix())
	return err
}
