package main

import (
	"context"
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/plugin"
)

// experimentView reads an Experiment and what it owns.
func experimentView(ctx context.Context, cl client.Client, ns, name string) (plugin.ExperimentView, error) {
	ex := &rolloutsv1alpha1.Experiment{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ex); err != nil {
		return plugin.ExperimentView{}, fmt.Errorf("reading experiment %s in namespace %s: %w", name, ns, err)
	}
	v := plugin.ExperimentView{Experiment: ex}
	var rss appsv1.ReplicaSetList
	if err := cl.List(ctx, &rss, client.InNamespace(ns)); err != nil {
		return v, err
	}
	for i := range rss.Items {
		if metav1.IsControlledBy(&rss.Items[i], ex) {
			v.ReplicaSets = append(v.ReplicaSets, &rss.Items[i])
		}
	}
	var runs rolloutsv1alpha1.AnalysisRunList
	if err := cl.List(ctx, &runs, client.InNamespace(ns)); err != nil {
		return v, err
	}
	for i := range runs.Items {
		if metav1.IsControlledBy(&runs.Items[i], ex) {
			v.AnalysisRuns = append(v.AnalysisRuns, &runs.Items[i])
		}
	}
	return v, nil
}

// getExperimentCommand is `get experiment NAME [--watch] [-o json|yaml]`.
func (c *cli) getExperimentCommand() *cobra.Command {
	var watch bool
	var output string
	cmd := &cobra.Command{
		Use:     "experiment EXPERIMENT",
		Aliases: []string{"experiments", "exp"},
		Short:   "Show an experiment: its templates' pods and services, its analyses",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			last := ""
			for {
				v, err := experimentView(cmd.Context(), cl, ns, args[0])
				if err != nil {
					return err
				}
				text := plugin.RenderExperiment(v)
				if output != "" {
					if text, err = encode(v.Experiment, output); err != nil {
						return err
					}
				}
				if text != last {
					switch {
					case last != "" && c.terminal():
						fmt.Fprint(c.out, "\033[H\033[2J")
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
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "show every change until interrupted")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml: the Experiment itself")
	return cmd
}

// listExperimentsCommand is `list experiments [-A] [-o json|yaml]`.
func (c *cli) listExperimentsCommand() *cobra.Command {
	var all bool
	var output string
	cmd := &cobra.Command{
		Use:     "experiments",
		Aliases: []string{"experiment", "exp"},
		Short:   "List experiments with their phase, templates running and analyses passed",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			var opts []client.ListOption
			if !all {
				opts = append(opts, client.InNamespace(ns))
			}
			var list rolloutsv1alpha1.ExperimentList
			if err := cl.List(cmd.Context(), &list, opts...); err != nil {
				return err
			}
			if output == "json" || output == "yaml" {
				text, err := encode(&list, output)
				if err == nil {
					_, err = fmt.Fprint(c.out, text)
				}
				return err
			}
			fmt.Fprintf(c.out, "%-20s %-24s %-13s %-10s %-9s %s\n", "NAMESPACE", "NAME", "STATUS", "TEMPLATES", "ANALYSES", "MESSAGE")
			for i := range list.Items {
				ex := &list.Items[i]
				templates, analyses := plugin.ExperimentLine(ex)
				fmt.Fprintf(c.out, "%-20s %-24s %-13s %-10s %-9s %s\n", ex.Namespace, ex.Name, orNone(string(ex.Status.Phase)),
					templates, analyses, ex.Status.Message)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list experiments in every namespace")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml")
	return cmd
}

// terminateExperimentCommand is `terminate experiment NAME`.
func (c *cli) terminateExperimentCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "experiment EXPERIMENT",
		Short: "End an experiment: its analyses stop and its pods go after the scale-down delay",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ns, err := c.client()
			if err != nil {
				return err
			}
			ex := &rolloutsv1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: args[0]}}
			if err := cl.Patch(cmd.Context(), ex, client.RawPatch(types.MergePatchType, plugin.TerminateExperiment())); err != nil {
				return err
			}
			_, err = fmt.Fprintf(c.out, "experiment '%s' terminated\n", args[0])
			return err
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
