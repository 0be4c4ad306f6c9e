package application

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
)

// ListOptions are `app list`'s options.
type ListOptions struct {
	genericiooptions.IOStreams
	PrintFlags *cmdutil.PrintFlags

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewListOptions are `app list`'s options, printing the table.
func NewListOptions(streams genericiooptions.IOStreams) *ListOptions {
	return &ListOptions{IOStreams: streams, PrintFlags: cmdutil.NewPrintFlags()}
}

// NewCmdList is `app list [-o json|yaml|name]`.
func NewCmdList(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewListOptions(streams)
	o.flags = flags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List Applications with their sync and health",
		Args:  cobra.NoArgs,
		RunE:  cmdutil.RunE(o),
	}
	o.PrintFlags.AddFlags(cmd, "json, yaml or name")
	return cmd
}

// Complete connects.
func (o *ListOptions) Complete(*cobra.Command, []string) error {
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks -o.
func (o *ListOptions) Validate() error { return o.PrintFlags.Validate() }

// Run lists the namespace's Applications and prints them.
func (o *ListOptions) Run(ctx context.Context) error {
	printer, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	var apps gitopsv1alpha1.ApplicationList
	if err := o.conn.Client.List(ctx, &apps, client.InNamespace(o.conn.Namespace)); err != nil {
		return err
	}
	if !o.PrintFlags.Table() {
		return cmdutil.Print(printer, &apps, o.Out)
	}
	if len(apps.Items) == 0 {
		cmdutil.NoneFound(o.ErrOut, "applications", o.conn.Namespace, false)
		return nil
	}
	return printer.PrintObj(ListTable(apps.Items), o.Out)
}
