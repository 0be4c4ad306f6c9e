package cmdutil

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DryRun is --dry-run, as kubectl's: none sends the change, client sends
// nothing and prints what it would send, server sends it for the API
// server to check and persist nothing.
type DryRun int

// The values of --dry-run.
const (
	DryRunNone DryRun = iota
	DryRunClient
	DryRunServer
)

// AddDryRunFlag adds --dry-run to cmd; --dry-run alone means client, as
// in kubectl.
func AddDryRunFlag(cmd *cobra.Command) {
	cmd.Flags().String("dry-run", "none",
		`"none", "client" or "server": client prints the patch and sends nothing; server sends it for the API server to check, and nothing changes`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "client"
}

// GetDryRun reads cmd's --dry-run.
func GetDryRun(cmd *cobra.Command) (DryRun, error) {
	value, err := cmd.Flags().GetString("dry-run")
	if err != nil {
		return DryRunNone, err
	}
	return ParseDryRun(value)
}

// ParseDryRun reads a value of --dry-run; "true" and "false" are taken as
// kubectl took them before it had three.
func ParseDryRun(value string) (DryRun, error) {
	switch value {
	case "", "none", "false":
		return DryRunNone, nil
	case "client", "true":
		return DryRunClient, nil
	case "server":
		return DryRunServer, nil
	}
	return DryRunNone, fmt.Errorf(`--dry-run %q: use "none", "client" or "server"`, value)
}

// Suffix ends the message that says what was done, as kubectl ends it.
func (d DryRun) Suffix() string {
	switch d {
	case DryRunClient:
		return " (dry run)"
	case DryRunServer:
		return " (server dry run)"
	}
	return ""
}

// Patcher sends patches the way --dry-run says.
type Patcher struct {
	Client client.Client
	DryRun DryRun
	// Out is where a client dry run prints the patches it would send.
	Out io.Writer
}

// Patch patches obj, the status subresource when status is set; kind
// names obj in what a client dry run prints. obj is left as the API
// server returned it, except after a client dry run.
func (p Patcher) Patch(ctx context.Context, kind string, obj client.Object, status bool, patch client.Patch) error {
	if p.DryRun == DryRunClient {
		data, err := patch.Data(obj)
		if err != nil {
			return err
		}
		target := ""
		if status {
			target = " status"
		}
		_, err = fmt.Fprintf(p.Out, "patch %s '%s'%s (%s): %s\n", kind, obj.GetName(), target, patch.Type(), data)
		return err
	}
	var opts []client.PatchOption
	if p.DryRun == DryRunServer {
		opts = append(opts, client.DryRunAll)
	}
	if status {
		var subOpts []client.SubResourcePatchOption
		if p.DryRun == DryRunServer {
			subOpts = append(subOpts, client.DryRunAll)
		}
		return p.Client.Status().Patch(ctx, obj, patch, subOpts...)
	}
	return p.Client.Patch(ctx, obj, patch, opts...)
}
