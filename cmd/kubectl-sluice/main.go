// Command kubectl-sluice is the kubectl plugin: `kubectl sluice ...` watches
// and steers Rollouts and Applications. Its steering commands send exactly
// the patches Argo Rollouts' plugin sends, so both can be used on one
// cluster. The commands are in package app.
package main

import (
	"context"
	"os"
	"os/signal"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := app.NewRootCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}).ExecuteContext(ctx)
	stop()
	os.Exit(cmdutil.ExitCode(err, os.Stderr))
}
