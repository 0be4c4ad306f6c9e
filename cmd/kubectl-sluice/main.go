// Command kubectl-sluice is the kubectl plugin: `kubectl sluice ...` watches
// and steers Rollouts and Applications. Its steering commands send exactly
// the patches Argo Rollouts' plugin sends, so both can be used on one
// cluster.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/dashboard"
	notificationscmd "github.com/sluicehq/sluice/cmd/kubectl-sluice/notifications"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/gitops/cluster"
	"github.com/sluicehq/sluice/internal/owned"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := newRoot(os.Stdout).ExecuteContext(ctx)
	stop()
	if errors.Is(err, errDiffers) {
		os.Exit(1) // the diff said so already
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// cli holds what every command needs: kubectl's connection flags and where
// to write.
type cli struct {
	flags *genericclioptions.ConfigFlags
	out   io.Writer
}

// application reads one Application of the namespace.
func (c *cli) application(ctx context.Context, name string) (client.Client, *gitopsv1alpha1.Application, error) {
	cl, ns, err := c.client()
	if err != nil {
		return nil, nil, err
	}
	a := &gitopsv1alpha1.Application{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, a); err != nil {
		return nil, nil, fmt.Errorf("reading application %s in namespace %s: %w", name, ns, err)
	}
	return cl, a, nil
}

// rollout reads one Rollout of the namespace.
func (c *cli) rollout(ctx context.Context, name string) (client.Client, *rolloutsv1alpha1.Rollout, error) {
	cl, ns, err := c.client()
	if err != nil {
		return nil, nil, err
	}
	ro := &rolloutsv1alpha1.Rollout{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return nil, nil, fmt.Errorf("reading rollout %s in namespace %s: %w", name, ns, err)
	}
	return cl, ro, nil
}

func (c *cli) client() (client.Client, string, error) {
	cfg, err := c.flags.ToRESTConfig()
	if err != nil {
		return nil, "", err
	}
	namespace, _, err := c.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	return cl, namespace, err
}

func newRoot(out io.Writer) *cobra.Command {
	c := &cli{flags: genericclioptions.NewConfigFlags(true), out: out}
	root := &cobra.Command{
		Use:           "kubectl-sluice",
		Short:         "Watch and steer Sluice's Rollouts and Applications",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	c.flags.AddFlags(root.PersistentFlags())
	root.AddCommand(
		c.steer("promote", "Move a paused or waiting rollout to its next step (--full: to the end)", func(ro *rolloutsv1alpha1.Rollout, cmd *cobra.Command) plugin.Patches {
			full, _ := cmd.Flags().GetBool("full")
			return plugin.Promote(ro, full)
		}, func(cmd *cobra.Command) { cmd.Flags().Bool("full", false, "skip every remaining step and analysis") }),
		c.steer("abort", "Return a rollout to its stable version", func(*rolloutsv1alpha1.Rollout, *cobra.Command) plugin.Patches { return plugin.Abort() }, nil),
		c.steer("retry", "Start an aborted rollout's steps over", func(*rolloutsv1alpha1.Rollout, *cobra.Command) plugin.Patches { return plugin.Retry() }, nil),
		c.steer("pause", "Hold a rollout where it is", func(*rolloutsv1alpha1.Rollout, *cobra.Command) plugin.Patches { return plugin.Pause() }, nil),
		c.steer("resume", "Let a paused rollout go on", func(*rolloutsv1alpha1.Rollout, *cobra.Command) plugin.Patches { return plugin.Resume() }, nil),
		c.steer("restart", "Replace every pod of a rollout", func(*rolloutsv1alpha1.Rollout, *cobra.Command) plugin.Patches {
			return plugin.Restart(time.Now())
		}, nil),
		c.undoCommand(),
		c.setCommand(),
		c.terminateCommand(),
		c.getCommand(),
		c.listCommand(),
		c.statusCommand(),
		c.appCommand(),
		notificationscmd.NewCommand(c.flags, genericiooptions.IOStreams{In: os.Stdin, Out: out, ErrOut: os.Stderr}),
		dashboard.NewCmdDashboard(c.flags, genericiooptions.IOStreams{In: os.Stdin, Out: out, ErrOut: os.Stderr}),
		&cobra.Command{
			Use:   "version",
			Short: "Print the plugin's version, commit and Argo Rollouts API version",
			Args:  cobra.NoArgs,
			Run: func(*cobra.Command, []string) {
				fmt.Fprintln(c.out, "kubectl-sluice", version.Get())
			},
		},
	)
	return root
}

// steer makes a command that patches one Rollout.
func (c *cli) steer(name, short string, patches func(*rolloutsv1alpha1.Rollout, *cobra.Command) plugin.Patches, flags func(*cobra.Command)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   name + " ROLLOUT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ro, err := c.rollout(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			p := patches(ro, cmd)
			if p.Status != nil {
				if err := cl.Status().Patch(cmd.Context(), ro, client.RawPatch(types.MergePatchType, p.Status)); err != nil {
					return err
				}
			}
			if p.Spec != nil {
				if err := cl.Patch(cmd.Context(), ro, client.RawPatch(types.MergePatchType, p.Spec)); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintf(c.out, "rollout '%s' %s\n", args[0], pastTense(name))
			return err
		},
	}
	if flags != nil {
		flags(cmd)
	}
	return cmd
}

func pastTense(verb string) string {
	switch verb {
	case "abort":
		return "aborted"
	case "retry":
		return "retried"
	case "pause":
		return "paused"
	case "restart":
		return "restarts"
	}
	return verb + "d"
}

func (c *cli) undoCommand() *cobra.Command {
	var toRevision int64
	cmd := &cobra.Command{
		Use:   "undo ROLLOUT",
		Short: "Go back to an earlier revision's template (the one before the current by default)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			v, err := view(cmd.Context(), cl, ns, args[0])
			if err != nil {
				return err
			}
			patch, message, err := plugin.Undo(v.Rollout, v.ReplicaSets, toRevision)
			if err != nil {
				return err
			}
			if patch != nil {
				if err := cl.Patch(cmd.Context(), v.Rollout, client.RawPatch(types.JSONPatchType, patch)); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintln(c.out, message)
			return err
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "the revision to go back to (0: the one before the current)")
	return cmd
}

func (c *cli) setCommand() *cobra.Command {
	set := &cobra.Command{Use: "set", Short: "Change a rollout"}
	set.AddCommand(&cobra.Command{
		Use:   "image ROLLOUT CONTAINER=IMAGE",
		Short: "Set a container's image (CONTAINER * for every container)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			container, image, ok := strings.Cut(args[1], "=")
			if !ok || container == "" || image == "" {
				return fmt.Errorf("expected CONTAINER=IMAGE, got %q", args[1])
			}
			cl, ro, err := c.rollout(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			patch, err := plugin.SetImage(ro, container, image)
			if err != nil {
				return err
			}
			if err := cl.Patch(cmd.Context(), ro, client.RawPatch(types.JSONPatchType, patch)); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.out, "rollout '%s' image updated\n", args[0])
			return err
		},
	})
	return set
}

func (c *cli) terminateCommand() *cobra.Command {
	terminate := &cobra.Command{Use: "terminate", Short: "Stop an AnalysisRun or an Experiment"}
	terminate.AddCommand(
		c.terminateOne("analysisrun", "Stop an AnalysisRun's measurements; it ends with what it measured",
			&rolloutsv1alpha1.AnalysisRun{}, plugin.Terminate()),
		c.terminateOne("experiment", "End an experiment: its analyses stop and its pods go after the scale-down delay",
			&rolloutsv1alpha1.Experiment{}, plugin.TerminateExperiment()),
	)
	return terminate
}

// terminateOne makes `terminate KIND NAME`: one merge patch to the named
// object of the namespace. kind is the object's lower-case kind, and obj an
// empty one of that kind.
func (c *cli) terminateOne(kind, short string, obj client.Object, patch []byte) *cobra.Command {
	return &cobra.Command{
		Use:   kind + " " + strings.ToUpper(kind),
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			target := obj.DeepCopyObject().(client.Object)
			target.SetNamespace(ns)
			target.SetName(args[0])
			if err := cl.Patch(cmd.Context(), target, client.RawPatch(types.MergePatchType, patch)); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.out, "%s '%s' terminated\n", kind, args[0])
			return err
		},
	}
}

// view reads a Rollout and what it owns.
func view(ctx context.Context, cl client.Client, ns, name string) (plugin.RolloutView, error) {
	ro := &rolloutsv1alpha1.Rollout{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return plugin.RolloutView{}, fmt.Errorf("reading rollout %s in namespace %s: %w", name, ns, err)
	}
	v := plugin.RolloutView{Rollout: ro}
	var err error
	if v.ReplicaSets, v.AnalysisRuns, err = replicaSetsAndRuns(ctx, cl, ro); err != nil {
		return v, err
	}
	var exs rolloutsv1alpha1.ExperimentList
	if err := cl.List(ctx, &exs, client.InNamespace(ns)); err != nil {
		return v, err
	}
	v.Experiments = owned.ControlledBy(exs.Items, ro)
	return v, nil
}

// replicaSetsAndRuns reads the ReplicaSets and AnalysisRuns a Rollout or an
// Experiment controls.
func replicaSetsAndRuns(ctx context.Context, cl client.Client, owner client.Object) ([]*appsv1.ReplicaSet, []*rolloutsv1alpha1.AnalysisRun, error) {
	var rss appsv1.ReplicaSetList
	if err := cl.List(ctx, &rss, client.InNamespace(owner.GetNamespace())); err != nil {
		return nil, nil, err
	}
	var runs rolloutsv1alpha1.AnalysisRunList
	if err := cl.List(ctx, &runs, client.InNamespace(owner.GetNamespace())); err != nil {
		return nil, nil, err
	}
	return owned.ControlledBy(rss.Items, owner), owned.ControlledBy(runs.Items, owner), nil
}

func (c *cli) getCommand() *cobra.Command {
	get := &cobra.Command{Use: "get", Short: "Show a rollout or an experiment"}
	rollout := c.getOne("rollout", "Show a rollout: its step, traffic, revisions and analysis", "Rollout",
		func(ctx context.Context, cl client.Client, ns, name string) (any, string, error) {
			v, err := view(ctx, cl, ns, name)
			if err != nil {
				return nil, "", err
			}
			return v.Rollout, plugin.RenderRollout(v), nil
		})
	get.AddCommand(rollout, c.getExperimentCommand())
	return get
}

// getOne makes `get KIND NAME [--watch] [-o json|yaml]`, kind in lower
// case, apiKind as the API spells it. read reads the named object and what
// it owns, and returns the object itself (what -o prints, as json or yaml)
// and its drawing.
func (c *cli) getOne(kind, short, apiKind string, read func(ctx context.Context, cl client.Client, ns, name string) (obj any, drawing string, err error)) *cobra.Command {
	var watch bool
	var output string
	cmd := &cobra.Command{
		Use:   kind + " " + strings.ToUpper(kind),
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			return c.show(cmd.Context(), watch, func(ctx context.Context) (string, error) {
				obj, drawing, err := read(ctx, cl, ns, args[0])
				if err != nil || output == "" {
					return drawing, err
				}
				return encode(obj, output)
			})
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "show every change until interrupted")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml: the "+apiKind+" itself")
	return cmd
}

func (c *cli) listCommand() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "List rollouts or experiments"}
	var all bool
	var output string
	rollouts := &cobra.Command{
		Use:   "rollouts",
		Short: "List rollouts with their phase and step",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			var ros rolloutsv1alpha1.RolloutList
			if err := cl.List(cmd.Context(), &ros, listScope(ns, all)...); err != nil {
				return err
			}
			if encoded, err := c.printEncoded(&ros, output); encoded {
				return err
			}
			wide := output == "wide"
			header := fmt.Sprintf("%-20s %-24s %-12s %-6s", "NAMESPACE", "NAME", "STATUS", "STEP")
			if wide {
				header += fmt.Sprintf(" %-8s %-8s %-8s %-9s", "DESIRED", "CURRENT", "UPDATED", "AVAILABLE")
			}
			fmt.Fprintln(c.out, header+" MESSAGE")
			for _, ro := range ros.Items {
				step := "-"
				if canary := ro.Spec.Strategy.Canary; canary != nil && ro.Status.CurrentStepIndex != nil {
					step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(canary.Steps))
				}
				line := fmt.Sprintf("%-20s %-24s %-12s %-6s", ro.Namespace, ro.Name, ro.Status.Phase, step)
				if wide {
					desired := int32(1)
					if ro.Spec.Replicas != nil {
						desired = *ro.Spec.Replicas
					}
					line += fmt.Sprintf(" %-8d %-8d %-8d %-9d", desired, ro.Status.Replicas, ro.Status.UpdatedReplicas, ro.Status.AvailableReplicas)
				}
				fmt.Fprintln(c.out, line+" "+ro.Status.Message)
			}
			return nil
		},
	}
	rollouts.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list rollouts in every namespace")
	rollouts.Flags().StringVarP(&output, "output", "o", "", "wide, json or yaml")
	list.AddCommand(rollouts, c.listExperimentsCommand())
	return list
}

// errNotHealthy is the exit of `status` for a Degraded rollout or one not
// Healthy in time.
var errNotHealthy = errors.New("the rollout is not healthy")

func (c *cli) statusCommand() *cobra.Command {
	var watch bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status ROLLOUT",
		Short: "Print a rollout's status; exit 0 once Healthy, non-zero when Degraded or past --timeout",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			last := ""
			for {
				ro := &rolloutsv1alpha1.Rollout{}
				if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: args[0]}, ro); err != nil {
					return err
				}
				line := string(ro.Status.Phase)
				if ro.Status.Message != "" {
					line += " - " + ro.Status.Message
				}
				if line != last {
					fmt.Fprintln(c.out, line)
					last = line
				}
				current := ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation)
				switch {
				case current && ro.Status.Phase == rolloutsv1alpha1.RolloutPhaseHealthy:
					return nil
				case current && ro.Status.Phase == rolloutsv1alpha1.RolloutPhaseDegraded:
					return errNotHealthy
				case !watch:
					return errNotHealthy
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("%w within %s", errNotHealthy, timeout)
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "wait until the rollout is Healthy or Degraded")
	cmd.Flags().DurationVarP(&timeout, "timeout", "t", 0, "give up after this long (0: never)")
	return cmd
}

func (c *cli) appCommand() *cobra.Command {
	app := &cobra.Command{Use: "app", Short: "Show and sync Applications"}
	app.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List Applications with their sync and health",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			var apps gitopsv1alpha1.ApplicationList
			if err := cl.List(cmd.Context(), &apps, client.InNamespace(ns)); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%-24s %-32s %-10s %-12s %s\n", "NAME", "DESTINATION", "SYNC", "HEALTH", "REVISION")
			for _, a := range apps.Items {
				d := a.Spec.Destination
				fmt.Fprintf(c.out, "%-24s %-32s %-10s %-12s %s\n", a.Name, cluster.Describe(d.Server, d.Name, d.Namespace),
					a.Status.Sync.Status, a.Status.Health.Status, a.Status.Sync.Revision)
			}
			return nil
		},
	}, c.appGetCommand(), &cobra.Command{
		Use:   "history APPLICATION",
		Short: "List an Application's last syncs, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, a, err := c.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			// ID is what app rollback takes, as argocd app rollback takes
			// the IDs of argocd app history.
			fmt.Fprintf(c.out, "%-3s %-22s %-42s %-10s %s\n", "ID", "DEPLOYED", "REVISION", "RESULT", "MESSAGE")
			for i, h := range a.Status.History {
				fmt.Fprintf(c.out, "%-3d %-22s %-42s %-10s %s\n", i, h.DeployedAt.UTC().Format(time.RFC3339), h.Revision, h.Result, h.Message)
			}
			return nil
		},
	}, c.appSyncCommand(), c.appRollbackCommand(), c.appDiffCommand())
	return app
}

// encode writes an object as json or yaml.
func encode(obj any, format string) (string, error) {
	switch format {
	case "json":
		data, err := json.MarshalIndent(obj, "", "  ")
		return string(data) + "\n", err
	case "yaml":
		data, err := yaml.Marshal(obj)
		return string(data), err
	}
	return "", fmt.Errorf("unknown output format %q: use json or yaml", format)
}

// show prints what render returns; with watch, it renders again each second
// and prints what changed until the context ends, redrawing in place on a
// terminal.
func (c *cli) show(ctx context.Context, watch bool, render func(context.Context) (string, error)) error {
	last := ""
	for {
		text, err := render(ctx)
		if err != nil {
			return err
		}
		if text != last {
			switch {
			case last != "" && c.terminal():
				fmt.Fprint(c.out, "\033[H\033[2J") // redraw in place
			case last != "":
				fmt.Fprintln(c.out)
			}
			fmt.Fprint(c.out, text)
			last = text
		}
		if !watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// listScope is where a list command looks: the namespace, or with
// --all-namespaces every namespace.
func listScope(namespace string, allNamespaces bool) []client.ListOption {
	if allNamespaces {
		return nil
	}
	return []client.ListOption{client.InNamespace(namespace)}
}

// printEncoded prints a list as json or yaml when output asks for one, and
// reports whether it did; other outputs are the list command's own table.
func (c *cli) printEncoded(list any, output string) (bool, error) {
	if output != "json" && output != "yaml" {
		return false, nil
	}
	text, err := encode(list, output)
	if err == nil {
		_, err = fmt.Fprint(c.out, text)
	}
	return true, err
}

// terminal reports whether output goes to a terminal, where a watch redraws
// in place.
func (c *cli) terminal() bool {
	f, ok := c.out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (c *cli) appGetCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get APPLICATION",
		Short: "Show an Application: sync, health, conditions and every object it owns",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, a, err := c.application(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			text := plugin.RenderApplication(a)
			if output != "" {
				if text, err = encode(a, output); err != nil {
					return err
				}
			}
			_, err = fmt.Fprint(c.out, text)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml: the Application itself")
	return cmd
}

func (c *cli) appSyncCommand() *cobra.Command {
	var wait, prune bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync APPLICATION",
		Short: "Ask an Application to sync now, also one without automated sync (--wait: until the sync has happened)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			cl, a, err := c.application(ctx, args[0])
			if err != nil {
				return err
			}
			request := newSyncRequest()
			// A sync follows targetRevision: a rollback's revision, if one
			// is still there, goes.
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q,%q:"%t",%q:null}}}`, application.SyncRequestAnnotation,
				request.value, application.PruneRequestAnnotation, prune, application.RevisionRequestAnnotation)
			if err := cl.Patch(ctx, a, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "application '%s' asked to sync\n", args[0])
			if !wait {
				return nil
			}
			if err := request.await(ctx, cl, a, timeout); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "synced revision %s: %s\n", a.Status.Sync.Revision, a.Status.Sync.Status)
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the sync has happened")
	cmd.Flags().BoolVar(&prune, "prune", false, "also delete what left Git, even when the Application's automated sync does not prune")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}

// syncRequest is a request for a sync: the value of SyncRequestAnnotation
// that asks for it, and when it was asked, to the second, as a sync's
// history records when it happened.
type syncRequest struct {
	value string
	at    time.Time
}

func newSyncRequest() syncRequest {
	now := time.Now().UTC()
	return syncRequest{value: now.Format(time.RFC3339Nano), at: now.Truncate(time.Second)}
}

// await waits until the Application has carried out the request, and
// leaves it in a as it was then; a sync that failed since is an error.
func (r syncRequest) await(ctx context.Context, cl client.Client, a *gitopsv1alpha1.Application, timeout time.Duration) error {
	key := client.ObjectKeyFromObject(a)
	for {
		if err := cl.Get(ctx, key, a); err != nil {
			return err
		}
		if a.Status.LastHandledSyncRequest == r.value {
			return nil
		}
		if len(a.Status.History) > 0 && a.Status.History[0].Result == "Failed" && !a.Status.History[0].DeployedAt.Time.Before(r.at) {
			return fmt.Errorf("the sync failed: %s", a.Status.History[0].Message)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no sync within %s", timeout)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *cli) appRollbackCommand() *cobra.Command {
	var wait, prune bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rollback APPLICATION [REVISION]",
		Short: "Sync an Application back to an earlier revision of its history, turning automated sync off",
		Long: `Sync an Application back to a commit of its history (kubectl sluice app history):
REVISION is an ID of that history (0 the newest), or a commit of it (full or
abbreviated); without it, the last successful sync of another commit than the
deployed one. Automated sync is turned off first (spec.syncPolicy.automated is
removed), as Argo CD requires for a rollback, so nothing moves the Application
forward again: it shows OutOfSync against targetRevision until automated sync
is turned back on or it is synced by hand.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			cl, a, err := c.application(ctx, args[0])
			if err != nil {
				return err
			}
			revision := ""
			if len(args) == 2 {
				revision = args[1]
			}
			target, err := plugin.RollbackTarget(a.Status.History, revision)
			if err != nil {
				return fmt.Errorf("application %s: %w", args[0], err)
			}
			request := newSyncRequest()
			// One patch: the request is never seen with automated sync
			// still on, nor automated sync off without the request.
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q,%q:%q,%q:"%t"}},"spec":{"syncPolicy":{"automated":null}}}`,
				application.SyncRequestAnnotation, request.value,
				application.RevisionRequestAnnotation, target.Revision, application.PruneRequestAnnotation, prune)
			if err := cl.Patch(ctx, a, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "application '%s' rolling back to %s (synced %s); automated sync is off\n", args[0],
				target.Revision, target.DeployedAt.UTC().Format(time.RFC3339))
			if !wait {
				return nil
			}
			if err := request.await(ctx, cl, a, timeout); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "synced revision %s\n", target.Revision)
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the sync has happened")
	cmd.Flags().BoolVar(&prune, "prune", false, "also delete what the earlier revision does not have")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}
