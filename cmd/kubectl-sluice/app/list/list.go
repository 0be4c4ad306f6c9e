// Package list is `kubectl sluice list rollouts|experiments`: a table of
// the namespace's (or with -A every namespace's), or the list itself with
// -o json|yaml|name.
package list

import (
	"context"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
)

// NewCmdList is the `list` group.
func NewCmdList(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "list", Short: "List rollouts or experiments"}
	cmd.AddCommand(NewCmdListRollouts(flags, streams), NewCmdListExperiments(flags, streams))
	return cmd
}

// Lister lists a kind and tables its list.
type Lister struct {
	// Plural names the kind in messages ("rollouts").
	Plural string
	// NewList is an empty list of the kind.
	NewList func() client.ObjectList
	// Table is the table of a list.
	Table func(client.ObjectList) *metav1.Table
}

// Options are the options of `list KINDS`.
type Options struct {
	genericiooptions.IOStreams
	Lister

	AllNamespaces bool
	PrintFlags    *cmdutil.PrintFlags

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewListOptions are the options of a list of what lister lists.
func NewListOptions(streams genericiooptions.IOStreams, lister Lister) *Options {
	return &Options{IOStreams: streams, Lister: lister, PrintFlags: cmdutil.NewPrintFlags()}
}

// NewCmdListRollouts is `list rollouts [-A] [-o wide|json|yaml|name]`.
func NewCmdListRollouts(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewListOptions(streams, Lister{
		Plural:  "rollouts",
		NewList: func() client.ObjectList { return &rolloutsv1alpha1.RolloutList{} },
		Table:   func(l client.ObjectList) *metav1.Table { return RolloutTable(l.(*rolloutsv1alpha1.RolloutList).Items) },
	})
	cmd := newCmd(flags, o, "rollouts", "List rollouts with their phase and step")
	o.PrintFlags.AddFlags(cmd, "wide (with replica counts), json, yaml or name")
	return cmd
}

// NewCmdListExperiments is `list experiments [-A] [-o json|yaml|name]`.
func NewCmdListExperiments(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewListOptions(streams, Lister{
		Plural:  "experiments",
		NewList: func() client.ObjectList { return &rolloutsv1alpha1.ExperimentList{} },
		Table: func(l client.ObjectList) *metav1.Table {
			return ExperimentTable(l.(*rolloutsv1alpha1.ExperimentList).Items)
		},
	})
	cmd := newCmd(flags, o, "experiments", "List experiments with their phase, templates running and analyses passed")
	cmd.Aliases = []string{"experiment", "exp"}
	o.PrintFlags.AddFlags(cmd, "json, yaml or name")
	return cmd
}

func newCmd(flags *genericclioptions.ConfigFlags, o *Options, use, short string) *cobra.Command {
	o.flags = flags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  cmdutil.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "list "+o.Plural+" in every namespace")
	return cmd
}

// Complete connects.
func (o *Options) Complete(*cobra.Command, []string) error {
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks -o.
func (o *Options) Validate() error { return o.PrintFlags.Validate() }

// Run lists and prints.
func (o *Options) Run(ctx context.Context) error {
	printer, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	list := o.NewList()
	if err := o.conn.Client.List(ctx, list, o.conn.ListScope(o.AllNamespaces)...); err != nil {
		return err
	}
	if !o.PrintFlags.Table() {
		return cmdutil.Print(printer, list, o.Out)
	}
	table := o.Table(list)
	if len(table.Rows) == 0 {
		cmdutil.NoneFound(o.ErrOut, o.Plural, o.conn.Namespace, o.AllNamespaces)
		return nil
	}
	return printer.PrintObj(table, o.Out)
}
