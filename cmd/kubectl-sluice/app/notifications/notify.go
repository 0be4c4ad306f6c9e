package notifications

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	sluicenotifications "github.com/sluicehq/sluice/notifications"
)

// consoleService is the engine's service that prints a notification, the
// destination of a notify without --recipient.
const consoleService = "console"

// notifyOptions are those of `template notify`.
type notifyOptions struct {
	*Options
	template, resource string
	recipients         []string
	dryRun             bool
}

func (o *Options) templateNotifyCommand() *cobra.Command {
	n := &notifyOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "notify TEMPLATE RESOURCE_NAME",
		Short: "Render a template against a live Rollout or Application: print it, or send it to --recipient",
		Long: `Render TEMPLATE against the live resource RESOURCE_NAME of the namespace
(-n), with the manager's variables, and send it to each --recipient
(service:recipient, a service of the ConfigMap).

Without --recipient nothing is sent: the engine's console service prints the
whole notification. With --dry-run nothing is sent either: for each
recipient, what its service would get is printed (the message and that
service's own fields: slack attachments and blocks, a webhook's method, path
and body, an email's subject...). The Secret's values are never printed,
except where the template itself renders .secrets.`,
		Example: `  # what rollout-step-completed says about the Rollout web
  kubectl sluice notifications template notify rollout-step-completed web -n shop
  # what Slack's channel ops would get, without sending it
  kubectl sluice notifications template notify rollout-step-completed web -n shop --recipient slack:ops --dry-run
  # an Application's template, sent
  kubectl sluice notifications template notify app-sync-succeeded guestbook --kind application --recipient slack:ops`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n.template, n.resource = args[0], args[1]
			if err := o.prepare(true); err != nil {
				return err
			}
			if err := n.validate(); err != nil {
				return err
			}
			return n.run(cmd)
		},
	}
	cmd.Flags().StringArrayVar(&n.recipients, "recipient", nil,
		"send to service:recipient (repeatable); none prints the notification with the console service")
	cmd.Flags().BoolVar(&n.dryRun, "dry-run", false, "send nothing: print what each recipient's service would get")
	return cmd
}

func (n *notifyOptions) validate() error {
	for _, r := range n.recipients {
		if service, _, _ := strings.Cut(r, ":"); service == "" {
			return fmt.Errorf("--recipient %q: expected service:recipient", r)
		}
	}
	return nil
}

// destinations are the recipients as the engine's destinations; none is
// the console.
func (n *notifyOptions) destinations() []services.Destination {
	if len(n.recipients) == 0 {
		return []services.Destination{{Service: consoleService, Recipient: "stdout"}}
	}
	dests := make([]services.Destination, 0, len(n.recipients))
	for _, r := range n.recipients {
		service, recipient, _ := strings.Cut(r, ":")
		dests = append(dests, services.Destination{Service: service, Recipient: recipient})
	}
	return dests
}

func (n *notifyOptions) run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	c, err := n.readConfiguration(ctx, true)
	if err != nil {
		return err
	}
	notifier, cfg, err := c.api()
	if err != nil {
		return err
	}
	if _, ok := cfg.Templates[n.template]; !ok {
		return notConfigured("template", n.template, c.configMap.Name, sortedKeys(cfg.Templates))
	}
	obj, err := n.kind.read(ctx, n.client, n.namespace, n.resource)
	if err != nil {
		return err
	}
	notifier.AddNotificationService(consoleService, services.NewConsoleService(n.out()))
	types := c.serviceTypes()
	var errs []error
	for _, dest := range n.destinations() {
		name := sluicenotifications.DestinationName(dest.Service, dest.Recipient)
		if _, ok := notifier.GetNotificationServices()[dest.Service]; !ok {
			errs = append(errs, fmt.Errorf("%s: no service %s in ConfigMap %s (it has %s)", name, dest.Service,
				c.configMap.Name, strings.Join(append(sortedKeys(cfg.Services), consoleService), ", ")))
			continue
		}
		if n.dryRun && dest.Service != consoleService {
			notifier.AddNotificationService(dest.Service, dryRunService{out: n.out(), name: dest.Service, typ: types[dest.Service]})
		}
		if err := notifier.Send(obj.Object, []string{n.template}, dest); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s", name, c.redact(err.Error())))
			continue
		}
		if !n.dryRun && dest.Service != consoleService {
			fmt.Fprintf(n.out(), "notification %s sent to %s\n", n.template, name)
		}
	}
	return errors.Join(errs...)
}

// dryRunService stands for a configured service: it prints what the
// service would be given, and sends nothing.
type dryRunService struct {
	out       io.Writer
	name, typ string
}

func (s dryRunService) Send(notification services.Notification, dest services.Destination) error {
	fields, err := serviceFields(notification, s.name, s.typ)
	if err != nil {
		return err
	}
	data, err := yaml.Marshal(fields)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.out, "# %s (service %s of type %s; dry run, not sent)\n%s",
		sluicenotifications.DestinationName(dest.Service, dest.Recipient), s.name, s.typ, data)
	return err
}

// serviceFields are the fields of a rendered notification that a service
// of type typ named name reads: the message, and its type's own (a
// webhook's, under its own name only). A type without fields of its own
// (telegram, pushover, webex...) reads the message alone.
func serviceFields(notification services.Notification, name, typ string) (map[string]any, error) {
	data, err := json.Marshal(notification)
	if err != nil {
		return nil, err
	}
	var all map[string]any
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	fields := map[string]any{}
	if message, ok := all["message"]; ok {
		fields["message"] = message
	}
	own, ok := all[typ]
	if !ok {
		return fields, nil
	}
	if typ == "webhook" {
		byName, _ := own.(map[string]any)
		hook, ok := byName[name]
		if !ok {
			return fields, nil
		}
		own = map[string]any{name: hook}
	}
	fields[typ] = own
	return fields, nil
}
