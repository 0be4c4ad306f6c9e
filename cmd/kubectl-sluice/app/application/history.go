package application

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
)

// HistoryOptions are `app history`'s options.
type HistoryOptions struct {
	genericiooptions.IOStreams

	Name string

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewHistoryOptions are `app history`'s options.
func NewHistoryOptions(streams genericiooptions.IOStreams) *HistoryOptions {
	return &HistoryOptions{IOStreams: streams}
}

// NewCmdHistory is `app history APPLICATION`.
func NewCmdHistory(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewHistoryOptions(streams)
	o.flags = flags
	return &cobra.Command{
		Use:   "history APPLICATION",
		Short: "List an Application's last syncs, newest first",
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
}

// Complete reads APPLICATION and connects.
func (o *HistoryOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = nameArg(args)
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks the name.
func (o *HistoryOptions) Validate() error {
	if o.Name == "" {
		return errNoName
	}
	return nil
}

// Run prints the Application's history as a table.
func (o *HistoryOptions) Run(ctx context.Context) error {
	a := &gitopsv1alpha1.Application{}
	if err := o.conn.Get(ctx, "application", o.Name, a); err != nil {
		return err
	}
	if len(a.Status.History) == 0 {
		_, err := o.ErrOut.Write([]byte("No syncs in application " + o.Name + "'s history.\n"))
		return err
	}
	return printers.NewTablePrinter(printers.PrintOptions{}).PrintObj(HistoryTable(a.Status.History), o.Out)
}
