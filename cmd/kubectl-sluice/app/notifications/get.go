package notifications

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/argoproj/notifications-engine/pkg/triggers"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"

	sluicenotifications "github.com/sluicehq/sluice/notifications"
)

func (o *Options) triggerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trigger",
		Short: "List the triggers in force, or evaluate one against a live resource",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(o.triggerGetCommand(), o.triggerRunCommand())
	return cmd
}

func (o *Options) templateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "template",
		Short: "List the templates in force, or render one against a live resource",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(o.templateGetCommand(), o.templateNotifyCommand())
	return cmd
}

// getOptions are those of `trigger get` and `template get`.
type getOptions struct {
	*Options
	name   string
	output string
}

func (g *getOptions) validate() error {
	switch g.output {
	case "", "wide", "name", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output %q: use wide, name, json or yaml", g.output)
}

// load reads the configuration a get lists: the ConfigMap alone, so from
// a file it needs no cluster.
func (g *getOptions) load(cmd *cobra.Command, args []string) (*configuration, *api.Config, error) {
	if len(args) == 1 {
		g.name = args[0]
	}
	if err := g.prepare(g.ConfigMapFile == ""); err != nil {
		return nil, nil, err
	}
	if err := g.validate(); err != nil {
		return nil, nil, err
	}
	c, err := g.readConfiguration(cmd.Context(), false)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := c.config()
	return c, cfg, err
}

func (o *Options) triggerGetCommand() *cobra.Command {
	g := &getOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "get [NAME]",
		Short: "List the triggers in force (or one): name, templates and condition",
		Example: `  # Rollouts' triggers, from the manager's ConfigMap
  kubectl sluice notifications trigger get
  # Applications' on-sync-failed trigger, as YAML
  kubectl sluice notifications trigger get on-sync-failed --kind application -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cfg, err := g.load(cmd, args)
			if err != nil {
				return err
			}
			items, err := selected(cfg.Triggers, g.name, "trigger", c.configMap.Name)
			if err != nil {
				return err
			}
			return g.print(items, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tTEMPLATE\tCONDITION")
				for _, name := range sortedKeys(items) {
					for i, condition := range items[name] {
						shown := name
						if i > 0 {
							shown = ""
						}
						fmt.Fprintf(w, "%s\t%s\t%s\n", shown, strings.Join(condition.Send, ", "), o.conditionText(name, condition))
					}
				}
			})
		},
	}
	cmd.Flags().StringVarP(&g.output, "output", "o", "wide", "wide, name, json or yaml")
	return cmd
}

// conditionText is a condition as people read it: its when, or for a
// Rollout's trigger without one, the event it runs on.
func (o *Options) conditionText(trigger string, condition triggers.Condition) string {
	if condition.When != "" || !o.kind.isRollout() {
		return condition.When
	}
	return "(on every " + eventOf(trigger) + " event)"
}

func (o *Options) templateGetCommand() *cobra.Command {
	g := &getOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "get [NAME]",
		Short: "List the templates in force (or one), with a preview of each message",
		Example: `  # Rollouts' templates, from the manager's ConfigMap
  kubectl sluice notifications template get
  # one of Applications' templates, as YAML
  kubectl sluice notifications template get app-sync-succeeded --kind application -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, cfg, err := g.load(cmd, args)
			if err != nil {
				return err
			}
			items, err := selected(cfg.Templates, g.name, "template", c.configMap.Name)
			if err != nil {
				return err
			}
			return g.print(items, func(w io.Writer) {
				fmt.Fprintln(w, "NAME\tPREVIEW")
				for _, name := range sortedKeys(items) {
					template := items[name]
					fmt.Fprintf(w, "%s\t%s\n", name, template.Preview())
				}
			})
		},
	}
	cmd.Flags().StringVarP(&g.output, "output", "o", "wide", "wide, name, json or yaml")
	return cmd
}

// print prints items (a map by name) in g's output format, with table for
// the wide one.
func (g *getOptions) print(items any, table func(io.Writer)) error {
	switch g.output {
	case "json":
		data, err := json.MarshalIndent(items, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(g.out(), string(data))
		return err
	case "yaml":
		data, err := yaml.Marshal(items)
		if err != nil {
			return err
		}
		_, err = g.out().Write(data)
		return err
	case "name":
		var names []string
		switch items := items.(type) {
		case map[string][]triggers.Condition:
			names = sortedKeys(items)
		case map[string]services.Notification:
			names = sortedKeys(items)
		}
		for _, name := range names {
			fmt.Fprintln(g.out(), name)
		}
		return nil
	}
	w := printers.GetNewTabWriter(g.out())
	table(w)
	return w.Flush()
}

// selected is all of items, or the one named name (an error naming what
// there is when it is not there).
func selected[T any](items map[string]T, name, what, configMap string) (map[string]T, error) {
	if name == "" {
		return items, nil
	}
	item, ok := items[name]
	if !ok {
		return nil, notConfigured(what, name, configMap, sortedKeys(items))
	}
	return map[string]T{name: item}, nil
}

func notConfigured(what, name, configMap string, have []string) error {
	if len(have) == 0 {
		return fmt.Errorf("no %s %s: ConfigMap %s has no %ss", what, name, configMap, what)
	}
	return fmt.Errorf("no %s %s in ConfigMap %s (it has %s)", what, name, configMap, strings.Join(have, ", "))
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// eventOf is the event reason whose recording runs a Rollout's trigger:
// on-rollout-step-completed runs on RolloutStepCompleted (the reverse of
// the manager's TriggerOf); "its" when the name is not one TriggerOf
// makes.
func eventOf(trigger string) string {
	rest, ok := strings.CutPrefix(trigger, "on-")
	if !ok || rest == "" {
		return "its"
	}
	var reason strings.Builder
	for word := range strings.SplitSeq(rest, "-") {
		if word == "" {
			return "its"
		}
		reason.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	if sluicenotifications.TriggerOf(reason.String()) != trigger {
		return "its"
	}
	return reason.String()
}
