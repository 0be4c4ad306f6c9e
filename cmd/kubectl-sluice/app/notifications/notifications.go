// Package notifications is `kubectl sluice notifications`: the triggers and
// templates the manager has in force, a template rendered against a live
// Rollout or Application (printed, or sent), and a trigger's conditions
// evaluated against one. The configuration is read where the manager reads
// it, from its own namespace (--config-namespace), never from the
// resource's; the rendering is the manager's own (package notifications).
package notifications

import (
	"context"
	"fmt"
	"io"
	"strings"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/internal/scheme"
	sluicenotifications "github.com/sluicehq/sluice/notifications"
)

// DefaultConfigNamespace is where the chart installs the manager, and so
// where it reads its configuration.
const DefaultConfigNamespace = "sluice-system"

// Options are what every notifications command shares: where the
// configuration comes from, which kind of resource it is for, and the
// connection.
type Options struct {
	genericiooptions.IOStreams
	flags *genericclioptions.ConfigFlags

	// ConfigNamespace is the manager's namespace, where it reads the
	// ConfigMap and Secret.
	ConfigNamespace string
	// ConfigMapFile and SecretFile replace the cluster's objects with
	// local files ("-" for stdin; SecretFile ":empty" for no Secret).
	ConfigMapFile, SecretFile string
	// Kind is the kind of resource whose configuration is used: rollout,
	// application or argocd-application.
	Kind string

	kind      kind
	client    client.Client
	namespace string // of the resource, from -n
}

// NewCmdNotifications is the `notifications` group, connected with flags (kubectl's
// connection flags) and writing to streams.
func NewCmdNotifications(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{IOStreams: streams, flags: flags}
	cmd := &cobra.Command{
		Use:   "notifications",
		Short: "Show the notifications configuration in force, render a template or run a trigger against a live resource",
		Long: `Show the triggers and templates the manager has in force, render a template
against a live Rollout or Application (printed by default, sent with
--recipient), and evaluate a trigger's conditions against one.

The configuration is read from the manager's namespace (--config-namespace),
never from the resource's namespace (-n): Rollouts' from the ConfigMap
` + sluicenotifications.RolloutConfigMap + ` and the Secret ` + sluicenotifications.RolloutSecret + `,
Applications' from ` + sluicenotifications.ApplicationConfigMap + ` and ` + sluicenotifications.ApplicationSecret + `.
--config-map and --secret read local files instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	fs := cmd.PersistentFlags()
	fs.StringVar(&o.ConfigNamespace, "config-namespace", DefaultConfigNamespace,
		"the manager's namespace, where it reads the notifications ConfigMap and Secret (the manager's --notifications-namespace; the chart installs into "+DefaultConfigNamespace+")")
	fs.StringVar(&o.ConfigMapFile, "config-map", "",
		"read the ConfigMap from this YAML file instead of the cluster (- for stdin)")
	fs.StringVar(&o.SecretFile, "secret", "",
		"read the Secret from this YAML file instead of the cluster (:empty for no Secret)")
	fs.StringVar(&o.Kind, "kind", kindRollout,
		"the kind of resource, and so the configuration: rollout, application (gitops.sluice.dev) or argocd-application (argoproj.io)")
	cmd.AddCommand(o.triggerCommand(), o.templateCommand())
	return cmd
}

// Complete resolves the kind and, when needsCluster, connects to the
// cluster.
func (o *Options) Complete(needsCluster bool) error {
	k, err := kindNamed(o.Kind)
	if err != nil {
		return err
	}
	o.kind = k
	// The engine logs through logrus: its warnings (a service naming a
	// key the Secret lacks) are kept, its chatter is not.
	logrus.SetOutput(o.ErrOut)
	logrus.SetLevel(logrus.WarnLevel)
	if !needsCluster {
		return nil
	}
	cfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return err
	}
	if o.namespace, _, err = o.flags.ToRawKubeConfigLoader().Namespace(); err != nil {
		return err
	}
	o.client, err = client.New(cfg, client.Options{Scheme: scheme.New()})
	return err
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if o.ConfigMapFile == "" && o.ConfigNamespace == "" {
		return fmt.Errorf("--config-namespace is empty: name the manager's namespace, or give --config-map")
	}
	if o.ConfigMapFile == "-" && o.SecretFile == "-" {
		return fmt.Errorf("--config-map and --secret cannot both read stdin")
	}
	return nil
}

const (
	kindRollout           = "rollout"
	kindApplication       = "application"
	kindArgoCDApplication = "argocd-application"
)

// kind is a kind of resource notifications are about: its configuration,
// and how the manager reads one for its templates and triggers.
type kind struct {
	name string
	// settings are the manager's, with the runs a Rollout's templates see
	// read through runs.
	settings func(runs sluicenotifications.AnalysisRunsOf) api.Settings
	// read reads one resource as the manager hands it to the engine.
	read func(ctx context.Context, cl client.Client, namespace, name string) (*unstructured.Unstructured, error)
}

func kindNamed(name string) (kind, error) {
	switch strings.ToLower(name) {
	case kindRollout, "rollouts", "ro":
		return kind{name: kindRollout, settings: sluicenotifications.RolloutSettings, read: readRollout}, nil
	case kindApplication, "applications", "app":
		return kind{name: kindApplication, settings: applicationSettings, read: readApplication}, nil
	case kindArgoCDApplication, "argocd":
		return kind{name: kindArgoCDApplication, settings: applicationSettings, read: readArgoCDApplication}, nil
	}
	return kind{}, fmt.Errorf("--kind %q: use %s, %s or %s", name, kindRollout, kindApplication, kindArgoCDApplication)
}

func applicationSettings(sluicenotifications.AnalysisRunsOf) api.Settings {
	return sluicenotifications.ApplicationSettings()
}

// isRollout reports whether the kind's triggers run on the Rollout
// controller's events rather than on conditions alone.
func (k kind) isRollout() bool { return k.name == kindRollout }

// readRollout reads a Rollout as the manager hands it to the engine: the
// typed object as plain maps, with its kind.
func readRollout(ctx context.Context, cl client.Client, namespace, name string) (*unstructured.Unstructured, error) {
	ro := &rolloutsv1alpha1.Rollout{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, ro); err != nil {
		return nil, fmt.Errorf("reading rollout %s in namespace %s: %w", name, namespace, err)
	}
	obj, err := sluicenotifications.Plain(ro)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(rolloutsv1alpha1.SchemeGroupVersion.WithKind("Rollout"))
	return u, nil
}

// readApplication reads a gitops.sluice.dev Application as the manager's
// notifications controller converts it.
func readApplication(ctx context.Context, cl client.Client, namespace, name string) (*unstructured.Unstructured, error) {
	app := &gitopsv1alpha1.Application{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, app); err != nil {
		return nil, fmt.Errorf("reading application %s in namespace %s: %w", name, namespace, err)
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(app)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(gitopsv1alpha1.GroupVersion.WithKind("Application"))
	return u, nil
}

// readArgoCDApplication reads an argoproj.io Application as it is stored.
func readArgoCDApplication(ctx context.Context, cl client.Client, namespace, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	// Argo CD's Application shares Argo Rollouts' group and version.
	u.SetGroupVersionKind(rolloutsv1alpha1.SchemeGroupVersion.WithKind("Application"))
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u); err != nil {
		return nil, fmt.Errorf("reading argoproj.io application %s in namespace %s: %w", name, namespace, err)
	}
	return u, nil
}

// analysisRuns lists, through the API, the AnalysisRuns a Rollout's
// templates see, as the manager's cache does; nil when they cannot be read
// (the templates then see none, as in the manager).
func (o *Options) analysisRuns(ctx context.Context) sluicenotifications.AnalysisRunsOf {
	if o.client == nil {
		return nil
	}
	return func(namespace, podHash string) []rolloutsv1alpha1.AnalysisRun {
		var runs rolloutsv1alpha1.AnalysisRunList
		if err := o.client.List(ctx, &runs, client.InNamespace(namespace),
			client.MatchingLabels{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: podHash}); err != nil {
			return nil
		}
		return runs.Items
	}
}

// prepare completes and validates o for a command's run.
func (o *Options) prepare(needsCluster bool) error {
	if err := o.Complete(needsCluster); err != nil {
		return err
	}
	return o.Validate()
}

// out is where results go.
func (o *Options) out() io.Writer { return o.Out }
