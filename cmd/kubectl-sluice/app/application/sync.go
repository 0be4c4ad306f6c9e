package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
	"github.com/sluicehq/sluice/internal/plugin"
)

// SyncOptions are `app sync`'s options.
type SyncOptions struct {
	genericiooptions.IOStreams

	Name string
	// Wait waits until the sync has happened.
	Wait bool
	// Prune also deletes what left Git.
	Prune   bool
	Timeout time.Duration
	DryRun  cmdutil.DryRun

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewSyncOptions are `app sync`'s options: no wait, no prune, five
// minutes.
func NewSyncOptions(streams genericiooptions.IOStreams) *SyncOptions {
	return &SyncOptions{IOStreams: streams, Timeout: 5 * time.Minute}
}

// NewCmdSync is `app sync APPLICATION [--prune] [--wait] [--dry-run]`.
func NewCmdSync(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewSyncOptions(streams)
	o.flags = flags
	cmd := &cobra.Command{
		Use:   "sync APPLICATION",
		Short: "Ask an Application to sync now, also one without automated sync (--wait: until the sync has happened)",
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "wait until the sync has happened")
	cmd.Flags().BoolVar(&o.Prune, "prune", false, "also delete what left Git, even when the Application's automated sync does not prune")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete reads APPLICATION and --dry-run, and connects.
func (o *SyncOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Name = nameArg(args)
	var err error
	if o.DryRun, err = cmdutil.GetDryRun(cmd); err != nil {
		return err
	}
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// errWaitOnDryRun: a dry run asks for no sync, so none would come.
var errWaitOnDryRun = errors.New("--wait waits for a sync, and a dry run asks for none: drop one of them")

// Validate checks the name, the timeout, and that --wait has something to
// wait for.
func (o *SyncOptions) Validate() error {
	return validateSync(o.Name, o.Timeout, o.Wait, o.DryRun)
}

func validateSync(name string, timeout time.Duration, wait bool, dryRun cmdutil.DryRun) error {
	switch {
	case name == "":
		return errNoName
	case timeout <= 0:
		return fmt.Errorf("--timeout %s: give a duration above 0", timeout)
	case wait && dryRun != cmdutil.DryRunNone:
		return errWaitOnDryRun
	}
	return nil
}

// Run asks for the sync and, with --wait, waits on a watch of the
// Application until it happened.
func (o *SyncOptions) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	a := &gitopsv1alpha1.Application{}
	if err := o.conn.Get(ctx, "application", o.Name, a); err != nil {
		return err
	}
	request := cmdutil.NewSyncRequest(time.Now())
	patcher := cmdutil.Patcher{Client: o.conn.Client, DryRun: o.DryRun, Out: o.Out}
	if err := patcher.Patch(ctx, "application", a, false, client.RawPatch(types.MergePatchType, plugin.SyncPatch(request.Value, o.Prune))); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "application '%s' asked to sync%s\n", o.Name, o.DryRun.Suffix())
	if !o.Wait {
		return nil
	}
	if err := request.Await(ctx, o.conn.Client, a, o.Timeout); err != nil {
		return err
	}
	_, err := fmt.Fprintf(o.Out, "synced revision %s: %s\n", a.Status.Sync.Revision, a.Status.Sync.Status)
	return err
}
