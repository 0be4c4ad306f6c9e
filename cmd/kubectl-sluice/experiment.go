package main

import (
	"context"
	"fmt"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/spf13/cobra"
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
	var err error
	v.ReplicaSets, v.AnalysisRuns, err = replicaSetsAndRuns(ctx, cl, ex)
	return v, err
}

// getExperimentCommand is `get experiment NAME [--watch] [-o json|yaml]`.
func (c *cli) getExperimentCommand() *cobra.Command {
	cmd := c.getOne("experiment", "Show an experiment: its templates' pods and services, its analyses", "Experiment",
		func(ctx context.Context, cl client.Client, ns, name string) (any, string, error) {
			v, err := experimentView(ctx, cl, ns, name)
			if err != nil {
				return nil, "", err
			}
			return v.Experiment, plugin.RenderExperiment(v), nil
		})
	cmd.Aliases = []string{"experiments", "exp"}
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
			var list rolloutsv1alpha1.ExperimentList
			if err := cl.List(cmd.Context(), &list, listScope(ns, all)...); err != nil {
				return err
			}
			if encoded, err := c.printEncoded(&list, output); encoded {
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

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
