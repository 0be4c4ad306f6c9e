// Package set is `kubectl sluice set`: changes to a Rollout's spec, for
// now its images (`set image ROLLOUT CONTAINER=IMAGE`).
package set

import (
	"context"
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

// NewCmdSet is the `set` group.
func NewCmdSet(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "set", Short: "Change a rollout"}
	cmd.AddCommand(NewCmdSetImage(flags, streams))
	return cmd
}

// ImageOptions are `set image`'s options.
type ImageOptions struct {
	genericiooptions.IOStreams

	Rollout string
	// Container is the container's name, * for every container.
	Container, Image string

	assignment string // CONTAINER=IMAGE as given
	flags      *genericclioptions.ConfigFlags
	conn       cmdutil.Connection
}

// NewSetImageOptions are `set image`'s options.
func NewSetImageOptions(streams genericiooptions.IOStreams) *ImageOptions {
	return &ImageOptions{IOStreams: streams}
}

// NewCmdSetImage is `set image ROLLOUT CONTAINER=IMAGE`.
func NewCmdSetImage(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewSetImageOptions(streams)
	o.flags = flags
	return &cobra.Command{
		Use:   "image ROLLOUT CONTAINER=IMAGE",
		Short: "Set a container's image (CONTAINER * for every container)",
		Args:  cobra.ExactArgs(2),
		RunE:  cmdutil.RunE(o),
	}
}

// Complete reads ROLLOUT and CONTAINER=IMAGE, and connects.
func (o *ImageOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("expected ROLLOUT CONTAINER=IMAGE, got %d arguments", len(args))
	}
	o.Rollout, o.assignment = args[0], args[1]
	o.Container, o.Image = splitAssignment(args[1])
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks both the container and the image are named.
func (o *ImageOptions) Validate() error {
	if o.Container == "" || o.Image == "" {
		return fmt.Errorf("expected CONTAINER=IMAGE, got %q", o.assignment)
	}
	return nil
}

// Run patches the Rollout's images.
func (o *ImageOptions) Run(ctx context.Context) error {
	ro := &rolloutsv1alpha1.Rollout{}
	if err := o.conn.Get(ctx, "rollout", o.Rollout, ro); err != nil {
		return err
	}
	patch, err := plugin.SetImage(ro, o.Container, o.Image)
	if err != nil {
		return err
	}
	if err := o.conn.Client.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Out, "rollout '%s' image updated\n", o.Rollout)
	return err
}

// splitAssignment reads CONTAINER=IMAGE; either is empty when missing.
func splitAssignment(assignment string) (container, image string) {
	container, image, _ = strings.Cut(assignment, "=")
	return container, image
}
