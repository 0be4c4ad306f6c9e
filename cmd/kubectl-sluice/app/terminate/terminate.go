// Package terminate is `kubectl sluice terminate analysisrun|experiment
// NAME`: the merge patch Argo Rollouts' plugin sends to stop one.
package terminate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
	"github.com/sluicehq/sluice/internal/plugin"
)

// NewCmdTerminate is the `terminate` group.
func NewCmdTerminate(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "terminate", Short: "Stop an AnalysisRun or an Experiment"}
	cmd.AddCommand(
		newCmd(flags, NewTerminateOptions(streams, "analysisrun", &rolloutsv1alpha1.AnalysisRun{}, plugin.Terminate()),
			"Stop an AnalysisRun's measurements; it ends with what it measured"),
		newCmd(flags, NewTerminateOptions(streams, "experiment", &rolloutsv1alpha1.Experiment{}, plugin.TerminateExperiment()),
			"End an experiment: its analyses stop and its pods go after the scale-down delay"),
	)
	return cmd
}

// Options are `terminate KIND NAME`'s options.
type Options struct {
	genericiooptions.IOStreams

	// Kind is the object's kind in lower case; Object an empty one of it.
	Kind   string
	Object client.Object
	// Patch is the merge patch that stops it.
	Patch []byte
	Name  string

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewTerminateOptions are the options of `terminate kind`.
func NewTerminateOptions(streams genericiooptions.IOStreams, kind string, obj client.Object, patch []byte) *Options {
	return &Options{IOStreams: streams, Kind: kind, Object: obj, Patch: patch}
}

func newCmd(flags *genericclioptions.ConfigFlags, o *Options, short string) *cobra.Command {
	o.flags = flags
	return &cobra.Command{
		Use:   o.Kind + " " + strings.ToUpper(o.Kind),
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
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

// Validate checks an object is named.
func (o *Options) Validate() error {
	if o.Name == "" {
		return errors.New("name the " + o.Kind + " to terminate")
	}
	return nil
}

// Run sends the patch to the named object of the namespace.
func (o *Options) Run(ctx context.Context) error {
	target := o.Object.DeepCopyObject().(client.Object)
	target.SetNamespace(o.conn.Namespace)
	target.SetName(o.Name)
	if err := o.conn.Client.Patch(ctx, target, client.RawPatch(types.MergePatchType, o.Patch)); err != nil {
		return err
	}
	_, err := fmt.Fprintf(o.Out, "%s '%s' terminated\n", o.Kind, o.Name)
	return err
}
