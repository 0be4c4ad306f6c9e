package application

import (
	"context"
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

// RollbackOptions are `app rollback`'s options.
type RollbackOptions struct {
	genericiooptions.IOStreams

	Name string
	// Revision is an ID of the history or a commit of it; empty is the
	// last successful sync of another commit than the deployed one.
	Revision string
	Wait     bool
	Prune    bool
	Timeout  time.Duration

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewRollbackOptions are `app rollback`'s options: no wait, no prune,
// five minutes.
func NewRollbackOptions(streams genericiooptions.IOStreams) *RollbackOptions {
	return &RollbackOptions{IOStreams: streams, Timeout: 5 * time.Minute}
}

// NewCmdRollback is `app rollback APPLICATION [REVISION] [--prune] [--wait]`.
func NewCmdRollback(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewRollbackOptions(streams)
	o.flags = flags
	cmd := &cobra.Command{
		Use:   "rollback APPLICATION [REVISION]",
		Short: "Sync an Application back to an earlier revision of its history, turning automated sync off",
		Long: `Sync an Application back to a commit of its history (kubectl sluice app history):
REVISION is an ID of that history (0 the newest), or a commit of it (full or
abbreviated); without it, the last successful sync of another commit than the
deployed one. Automated sync is turned off first (spec.syncPolicy.automated is
removed), as Argo CD requires for a rollback, so nothing moves the Application
forward again: it shows OutOfSync against targetRevision until automated sync
is turned back on or it is synced by hand.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: cmdutil.RunE(o),
	}
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "wait until the sync has happened")
	cmd.Flags().BoolVar(&o.Prune, "prune", false, "also delete what the earlier revision does not have")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	return cmd
}

// Complete reads APPLICATION and REVISION, and connects.
func (o *RollbackOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = nameArg(args)
	if len(args) == 2 {
		o.Revision = args[1]
	}
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks the name and the timeout.
func (o *RollbackOptions) Validate() error {
	return validateSync(o.Name, o.Timeout, o.Wait, cmdutil.DryRunNone)
}

// Run finds the revision in the history, asks for its sync with automated
// sync off, and with --wait waits until it happened.
func (o *RollbackOptions) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	a := &gitopsv1alpha1.Application{}
	if err := o.conn.Get(ctx, "application", o.Name, a); err != nil {
		return err
	}
	target, err := plugin.RollbackTarget(a.Status.History, o.Revision)
	if err != nil {
		return fmt.Errorf("application %s: %w", o.Name, err)
	}
	request := cmdutil.NewSyncRequest(time.Now())
	if err := o.conn.Client.Patch(ctx, a, client.RawPatch(types.MergePatchType, plugin.RollbackPatch(request.Value, target.Revision, o.Prune))); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "application '%s' rolling back to %s (synced %s); automated sync is off\n", o.Name,
		target.Revision, target.DeployedAt.UTC().Format(time.RFC3339))
	if !o.Wait {
		return nil
	}
	if err := request.Await(ctx, o.conn.Client, a, o.Timeout); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "synced revision %s\n", target.Revision)
	return err
}
