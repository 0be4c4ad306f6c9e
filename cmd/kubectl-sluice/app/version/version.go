// Package version is `kubectl sluice version`.
package version

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/internal/version"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
)

// Options are version's options: none but where to print.
type Options struct {
	genericiooptions.IOStreams
}

// NewVersionOptions are version's options.
func NewVersionOptions(streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams}
}

// NewCmdVersion is `version`; it needs no connection.
func NewCmdVersion(_ *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewVersionOptions(streams)
	return &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version, commit and Argo Rollouts API version",
		Args:  cobra.NoArgs,
		RunE:  cmdutil.RunE(o),
	}
}

// Complete has nothing to complete.
func (o *Options) Complete(*cobra.Command, []string) error { return nil }

// Validate has nothing to check.
func (o *Options) Validate() error { return nil }

// Run prints the version.
func (o *Options) Run(context.Context) error {
	_, err := fmt.Fprintln(o.Out, "kubectl-sluice", version.Get())
	return err
}
