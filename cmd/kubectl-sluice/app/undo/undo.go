// Package undo is `kubectl sluice undo ROLLOUT [--to-revision N]`: the
// Rollout's template goes back to an earlier revision's, by the JSON patch
// Argo Rollouts' plugin sends.
package undo

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
	"github.com/sluicehq/sluice/internal/plugin"
)

// Options are undo's options.
type Options struct {
	genericiooptions.IOStreams

	Rollout string
	// ToRevision is the revision to go back to; 0 is the one before the
	// current.
	ToRevision int64
	DryRun     cmdutil.DryRun

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewUndoOptions are undo's options, back to the revision before.
func NewUndoOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams}
}

// NewCmdUndo is `undo ROLLOUT [--to-revision N] [--dry-run]`.
func NewCmdUndo(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewUndoOptions(streams)
	o.flags = flags
	cmd := &cobra.Command{
		Use:   "undo ROLLOUT",
		Short: "Go back to an earlier revision's template (the one before the current by default)",
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
	cmd.Flags().Int64Var(&o.ToRevision, "to-revision", 0, "the revision to go back to (0: the one before the current)")
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

// Validate checks the Rollout is named and the revision is one.
func (o *Options) Validate() error {
	if o.Rollout == "" {
		return errors.New("name the rollout to undo")
	}
	if o.ToRevision < 0 {
		return fmt.Errorf("--to-revision %d: revisions count from 1 (0: the one before the current)", o.ToRevision)
	}
	return nil
}

// Run reads the Rollout and its ReplicaSets and patches its template.
func (o *Options) Run(ctx context.Context) error {
	v, err := o.conn.RolloutView(ctx, o.Rollout)
	if err != nil {
		return err
	}
	patch, message, err := plugin.Undo(v.Rollout, v.ReplicaSets, o.ToRevision)
	if err != nil {
		return err
	}
	if patch == nil { // the template is that revision's already
		_, err = fmt.Fprintln(o.Out, message)
		return err
	}
	patcher := cmdutil.Patcher{Client: o.conn.Client, DryRun: o.DryRun, Out: o.Out}
	if err := patcher.Patch(ctx, "rollout", v.Rollout, false, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.Out, message+o.DryRun.Suffix())
	return err
}
