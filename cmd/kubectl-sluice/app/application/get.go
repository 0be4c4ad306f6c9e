package application

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
	"github.com/sluicehq/sluice/internal/plugin"
)

// GetOptions are `app get`'s options.
type GetOptions struct {
	genericiooptions.IOStreams

	Name       string
	PrintFlags *cmdutil.ObjectPrintFlags

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewGetOptions are `app get`'s options, drawing the Application.
func NewGetOptions(streams genericiooptions.IOStreams) *GetOptions {
	return &GetOptions{IOStreams: streams, PrintFlags: cmdutil.NewObjectPrintFlags()}
}

// NewCmdGet is `app get APPLICATION [-o json|yaml|name]`.
func NewCmdGet(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewGetOptions(streams)
	o.flags = flags
	cmd := &cobra.Command{
		Use:   "get APPLICATION",
		Short: "Show an Application: sync, health, conditions and every object it owns",
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
	o.PrintFlags.AddFlags(cmd, "json, yaml or name: the Application itself (default: its drawing)")
	return cmd
}

// Complete reads APPLICATION and connects.
func (o *GetOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = nameArg(args)
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks the name and -o.
func (o *GetOptions) Validate() error {
	if o.Name == "" {
		return errNoName
	}
	return o.PrintFlags.Validate()
}

// Run reads the Application and prints it.
func (o *GetOptions) Run(ctx context.Context) error {
	a := &gitopsv1alpha1.Application{}
	if err := o.conn.Get(ctx, "application", o.Name, a); err != nil {
		return err
	}
	if o.PrintFlags.Drawing() {
		_, err := fmt.Fprint(o.Out, plugin.RenderApplication(a))
		return err
	}
	printer, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	return cmdutil.Print(printer, a, o.Out)
}
