// Package get is `kubectl sluice get rollout|experiment NAME`: a drawing
// of the object and what it owns (its step, traffic, revisions, analyses,
// or its templates' pods), drawn again on every change with --watch.
package get

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
	"github.com/sluicehq/sluice/internal/plugin"
)

// NewCmdGet is the `get` group.
func NewCmdGet(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "get", Short: "Show a rollout or an experiment"}
	cmd.AddCommand(NewCmdGetRollout(flags, streams), NewCmdGetExperiment(flags, streams))
	return cmd
}

// Reader reads the named object of the connection's namespace and what it
// owns, and returns the object itself (what -o prints) and its drawing.
type Reader func(ctx context.Context, conn cmdutil.Connection, name string) (obj runtime.Object, drawing string, err error)

// Options are the options of `get KIND NAME`.
type Options struct {
	genericiooptions.IOStreams

	// Kind is the kind in lower case, as the command names it.
	Kind string
	Read Reader

	Name string
	// Watch draws again whenever the object or what it owns changes,
	// until interrupted.
	Watch      bool
	PrintFlags *cmdutil.ObjectPrintFlags

	flags   *genericclioptions.ConfigFlags
	conn    cmdutil.Connection
	printer printers.ResourcePrinter
}

// NewGetOptions are the options of `get kind`, which reads with read.
func NewGetOptions(streams genericiooptions.IOStreams, kind string, read Reader) *Options {
	return &Options{IOStreams: streams, Kind: kind, Read: read, PrintFlags: cmdutil.NewObjectPrintFlags()}
}

// NewCmdGetRollout is `get rollout NAME [--watch] [-o json|yaml|name]`.
func NewCmdGetRollout(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewGetOptions(streams, "rollout", func(ctx context.Context, conn cmdutil.Connection, name string) (runtime.Object, string, error) {
		v, err := conn.RolloutView(ctx, name)
		if err != nil {
			return nil, "", err
		}
		return v.Rollout, plugin.RenderRollout(v), nil
	})
	return newCmd(flags, o, "Show a rollout: its step, traffic, revisions and analysis", "Rollout")
}

// NewCmdGetExperiment is `get experiment NAME [--watch] [-o json|yaml|name]`.
func NewCmdGetExperiment(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewGetOptions(streams, "experiment", func(ctx context.Context, conn cmdutil.Connection, name string) (runtime.Object, string, error) {
		v, err := conn.ExperimentView(ctx, name)
		if err != nil {
			return nil, "", err
		}
		return v.Experiment, plugin.RenderExperiment(v), nil
	})
	cmd := newCmd(flags, o, "Show an experiment: its templates' pods and services, its analyses", "Experiment")
	cmd.Aliases = []string{"experiments", "exp"}
	return cmd
}

func newCmd(flags *genericclioptions.ConfigFlags, o *Options, short, apiKind string) *cobra.Command {
	o.flags = flags
	cmd := &cobra.Command{
		Use:   o.Kind + " " + strings.ToUpper(o.Kind),
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "show every change until interrupted")
	o.PrintFlags.AddFlags(cmd, "json, yaml or name: the "+apiKind+" itself (default: its drawing)")
	return cmd
}

// Complete reads NAME and connects.
func (o *Options) Complete(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		o.Name = args[0]
	}
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks the name and -o.
func (o *Options) Validate() error {
	if o.Name == "" {
		return errors.New("name the " + o.Kind + " to show")
	}
	return o.PrintFlags.Validate()
}

// Run draws the object, and with --watch draws it again on every change
// of the kinds it shows, until interrupted.
func (o *Options) Run(ctx context.Context) error {
	if !o.PrintFlags.Drawing() {
		printer, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		o.printer = printer
	}
	screen := cmdutil.NewRedrawer(o.Out)
	draw := func(ctx context.Context) (bool, error) {
		text, err := o.render(ctx)
		if err != nil {
			return false, err
		}
		return !o.Watch, screen.Draw(text)
	}
	if !o.Watch {
		_, err := draw(ctx)
		return err
	}
	err := cmdutil.Until(ctx, o.conn.Client, cmdutil.OwnedKinds(o.conn.Namespace), draw)
	if ctx.Err() != nil {
		return nil // interrupted: the watch is over
	}
	return err
}

// render is the drawing, or the object as -o asks.
func (o *Options) render(ctx context.Context) (string, error) {
	obj, drawing, err := o.Read(ctx, o.conn, o.Name)
	if err != nil || o.printer == nil {
		return drawing, err
	}
	var b bytes.Buffer
	err = cmdutil.Print(o.printer, obj, &b)
	return b.String(), err
}
