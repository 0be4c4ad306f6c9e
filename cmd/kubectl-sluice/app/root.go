// Package app is kubectl sluice's commands: NewRootCommand puts them
// together. Each command has its own package, shaped as kubectl's own
// commands are: an options struct built by NewXxxOptions, filled by
// Complete, checked by Validate and carried out by Run, and a NewCmdXxx
// that makes the cobra command. What they share (the connection,
// printing, waiting on watches, --dry-run) is in cmdutil.
package app

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/abort"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/application"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/dashboard"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/get"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/list"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/notifications"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/pause"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/promote"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/restart"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/resume"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/retry"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/set"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/status"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/terminate"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/undo"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/version"
)

// NewCmdFunc makes a command connected with kubectl's flags and writing
// to streams.
type NewCmdFunc func(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command

// commands are the root's commands, in the order help lists them: a new
// command is one more line here.
var commands = []NewCmdFunc{
	promote.NewCmdPromote,
	abort.NewCmdAbort,
	retry.NewCmdRetry,
	pause.NewCmdPause,
	resume.NewCmdResume,
	restart.NewCmdRestart,
	undo.NewCmdUndo,
	set.NewCmdSet,
	terminate.NewCmdTerminate,
	get.NewCmdGet,
	list.NewCmdList,
	status.NewCmdStatus,
	application.NewCmdApplication,
	notifications.NewCmdNotifications,
	dashboard.NewCmdDashboard,
	version.NewCmdVersion,
}

// NewRootCommand is `kubectl sluice`, with kubectl's connection flags
// (--kubeconfig, -n, --context...) on every command.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:           "kubectl-sluice",
		Short:         "Watch and steer Sluice's Rollouts and Applications",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	flags.AddFlags(root.PersistentFlags())
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetIn(streams.In)
	for _, newCmd := range commands {
		root.AddCommand(newCmd(flags, streams))
	}
	return root
}
