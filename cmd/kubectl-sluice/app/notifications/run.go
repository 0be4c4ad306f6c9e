package notifications

import (
	"fmt"
	"strings"

	"github.com/argoproj/notifications-engine/pkg/triggers"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/printers"

	sluicenotifications "github.com/sluicehq/sluice/notifications"
)

func (o *Options) triggerRunCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run TRIGGER RESOURCE_NAME",
		Short: "Evaluate a trigger's conditions against a live Rollout or Application",
		Long: `Evaluate each condition of TRIGGER against the live resource RESOURCE_NAME
of the namespace (-n), as the manager would, and print whether it holds and
the templates it sends; then who is subscribed to the trigger.

A Rollout's trigger runs when the Rollout controller records its event
(on-rollout-step-completed on RolloutStepCompleted): a condition is
evaluated then, and a condition without "when" holds on every such event.
An Application's conditions are evaluated on each change of the
Application, and each is sent once while it holds.`,
		Example: `  kubectl sluice notifications trigger run on-rollout-step-completed web -n shop
  kubectl sluice notifications trigger run on-sync-failed guestbook --kind application`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.prepare(true); err != nil {
				return err
			}
			return o.runTrigger(cmd, args[0], args[1])
		},
	}
	return cmd
}

func (o *Options) runTrigger(cmd *cobra.Command, trigger, resource string) error {
	ctx := cmd.Context()
	c, err := o.readConfiguration(ctx, true)
	if err != nil {
		return err
	}
	notifier, cfg, err := c.api()
	if err != nil {
		return err
	}
	conditions, ok := cfg.Triggers[trigger]
	if !ok {
		return notConfigured("trigger", trigger, c.configMap.Name, sortedKeys(cfg.Triggers))
	}
	obj, err := o.kind.read(ctx, o.client, o.namespace, resource)
	if err != nil {
		return err
	}
	results, err := notifier.RunTrigger(trigger, obj.Object)
	if err != nil {
		return fmt.Errorf("trigger %s: %s", trigger, c.redact(err.Error()))
	}
	w := printers.GetNewTabWriter(o.out())
	fmt.Fprintln(w, "CONDITION\tRESULT\tTEMPLATES")
	for i, result := range results {
		var condition triggers.Condition
		if i < len(conditions) {
			condition = conditions[i]
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", orDash(condition.When), o.resultText(trigger, condition, result), strings.Join(result.Templates, ", "))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	to := sluicenotifications.Destinations(*cfg, obj.GetLabels(), obj.GetAnnotations())[trigger]
	if len(to) == 0 {
		_, err = fmt.Fprintf(o.out(), "\nSubscribed: nobody (no notifications.argoproj.io/subscribe.%s.<service> annotation on %s %s, nor a subscription of the ConfigMap selecting it)\n",
			trigger, o.kind.name, resource)
		return err
	}
	names := make([]string, 0, len(to))
	for _, dest := range to {
		names = append(names, sluicenotifications.DestinationName(dest.Service, dest.Recipient))
	}
	_, err = fmt.Fprintf(o.out(), "\nSubscribed: %s\n", strings.Join(names, ", "))
	return err
}

// resultText says whether a condition holds; a Rollout's condition without
// when holds on its event, as in Argo Rollouts (the engine alone reads it
// as false).
func (o *Options) resultText(trigger string, condition triggers.Condition, result triggers.ConditionResult) string {
	if o.kind.isRollout() && condition.When == "" {
		event := eventOf(trigger)
		if event == "its" {
			return "true (no when: holds on its event)"
		}
		return "true (no when: holds on every " + event + " event)"
	}
	return fmt.Sprint(result.Triggered)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
