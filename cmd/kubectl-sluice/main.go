// Command kubectl-sluice is the kubectl plugin: `kubectl sluice ...` watches
// and steers Rollouts and Applications. Its steering commands send exactly
// the patches Argo Rollouts' plugin sends, so both can be used on one
// cluster.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/internal/plugin"
	"github.com/sluicehq/sluice/internal/scheme"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := newRoot(os.Stdout).ExecuteContext(ctx)
	stop()
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
		c.getCommand(),
		c.listCommand(),
		c.statusCommand(),
		c.appCommand(),
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
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			ro := &rolloutsv1alpha1.Rollout{}
			if err := cl.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, ro); err != nil {
				return fmt.Errorf("reading rollout %s in namespace %s: %w", args[0], ns, err)
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

// view reads a Rollout and what it owns.
func view(ctx context.Context, cl client.Client, ns, name string) (plugin.RolloutView, error) {
	ro := &rolloutsv1alpha1.Rollout{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return plugin.RolloutView{}, fmt.Errorf("reading rollout %s in namespace %s: %w", name, ns, err)
	}
	v := plugin.RolloutView{Rollout: ro}
	var rss appsv1.ReplicaSetList
	if err := cl.List(ctx, &rss, client.InNamespace(ns)); err != nil {
		return v, err
	}
	for i := range rss.Items {
		if metav1.IsControlledBy(&rss.Items[i], ro) {
			v.ReplicaSets = append(v.ReplicaSets, &rss.Items[i])
		}
	}
	var runs rolloutsv1alpha1.AnalysisRunList
	if err := cl.List(ctx, &runs, client.InNamespace(ns)); err != nil {
		return v, err
	}
	for i := range runs.Items {
		if metav1.IsControlledBy(&runs.Items[i], ro) {
			v.AnalysisRuns = append(v.AnalysisRuns, &runs.Items[i])
		}
	}
	return v, nil
}

func (c *cli) getCommand() *cobra.Command {
	get := &cobra.Command{Use: "get", Short: "Show a rollout or an application"}
	var watch bool
	rollout := &cobra.Command{
		Use:   "rollout ROLLOUT",
		Short: "Show a rollout: its step, traffic, revisions and analysis",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			last := ""
			for {
				v, err := view(cmd.Context(), cl, ns, args[0])
				if err != nil {
					return err
				}
				if text := plugin.RenderRollout(v); text != last {
					if last != "" {
						fmt.Fprintln(c.out)
					}
					fmt.Fprint(c.out, text)
					last = text
				}
				if !watch {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	rollout.Flags().BoolVarP(&watch, "watch", "w", false, "show every change until interrupted")
	get.AddCommand(rollout)
	return get
}

func (c *cli) listCommand() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "List rollouts"}
	var all bool
	rollouts := &cobra.Command{
		Use:   "rollouts",
		Short: "List rollouts with their phase and step",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			var opts []client.ListOption
			if !all {
				opts = append(opts, client.InNamespace(ns))
			}
			var ros rolloutsv1alpha1.RolloutList
			if err := cl.List(cmd.Context(), &ros, opts...); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "%-20s %-24s %-12s %-6s %s\n", "NAMESPACE", "NAME", "STATUS", "STEP", "MESSAGE")
			for _, ro := range ros.Items {
				step := "-"
				if canary := ro.Spec.Strategy.Canary; canary != nil && ro.Status.CurrentStepIndex != nil {
					step = fmt.Sprintf("%d/%d", *ro.Status.CurrentStepIndex, len(canary.Steps))
				}
				fmt.Fprintf(c.out, "%-20s %-24s %-12s %-6s %s\n", ro.Namespace, ro.Name, ro.Status.Phase, step, ro.Status.Message)
			}
			return nil
		},
	}
	rollouts.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list rollouts in every namespace")
	list.AddCommand(rollouts)
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
			fmt.Fprintf(c.out, "%-24s %-10s %-12s %s\n", "NAME", "SYNC", "HEALTH", "REVISION")
			for _, a := range apps.Items {
				fmt.Fprintf(c.out, "%-24s %-10s %-12s %s\n", a.Name, a.Status.Sync.Status, a.Status.Health.Status, a.Status.Sync.Revision)
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "get APPLICATION",
		Short: "Show an Application: sync, health, conditions and every object it owns",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			a := &gitopsv1alpha1.Application{}
			if err := cl.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, a); err != nil {
				return err
			}
			_, err = fmt.Fprint(c.out, plugin.RenderApplication(a))
			return err
		},
	}, c.appSyncCommand())
	return app
}

func (c *cli) appSyncCommand() *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync APPLICATION",
		Short: "Ask an Application to sync now (--wait: until the sync has happened)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			a := &gitopsv1alpha1.Application{}
			key := client.ObjectKey{Namespace: ns, Name: args[0]}
			if err := cl.Get(ctx, key, a); err != nil {
				return err
			}
			requested := time.Now().UTC().Truncate(time.Second)
			patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, application.SyncRequestAnnotation, requested.Format(time.RFC3339Nano))
			if err := cl.Patch(ctx, a, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "application '%s' asked to sync\n", args[0])
			if !wait {
				return nil
			}
			for {
				if err := cl.Get(ctx, key, a); err != nil {
					return err
				}
				if synced := a.Status.LastSyncedAt; synced != nil && !synced.Time.Before(requested) {
					fmt.Fprintf(c.out, "synced revision %s: %s\n", a.Status.Sync.Revision, a.Status.Sync.Status)
					return nil
				}
				if len(a.Status.History) > 0 && a.Status.History[0].Result == "Failed" && !a.Status.History[0].DeployedAt.Time.Before(requested) {
					return fmt.Errorf("the sync failed: %s", a.Status.History[0].Message)
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("no sync within %s", timeout)
				case <-time.After(500 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the sync has happened")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}
