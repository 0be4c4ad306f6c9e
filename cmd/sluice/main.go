// Command sluice is the Sluice controller manager: it runs the rollout,
// analysis and GitOps reconcilers against the cluster a kubeconfig names.
//
// This file only wires: flags into options, options into a manager.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sluicehq/sluice/controllers"
	"github.com/sluicehq/sluice/controllers/application"
	notifhub "github.com/sluicehq/sluice/controllers/notifications"
	"github.com/sluicehq/sluice/controllers/rollout"
	"github.com/sluicehq/sluice/internal/events"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/internal/kinds"
	"github.com/sluicehq/sluice/internal/metrics"
	"github.com/sluicehq/sluice/internal/metricsauth"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/internal/version"
	"github.com/sluicehq/sluice/notifications"
)

// namespaceFile holds the pod's namespace when Sluice runs in a cluster.
const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// podNamespaceEnv is where a pod's spec may put its namespace (the downward
// API); the chart passes --namespace and --leader-election-namespace instead.
const podNamespaceEnv = "POD_NAMESPACE"

// prometheusAddressEnv is Argo Rollouts' variable for the default
// Prometheus address, read so an existing installation's setting carries over.
const prometheusAddressEnv = "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"

// outOfClusterLeaseNamespace holds the leader-election Lease when Sluice runs
// outside a cluster and no namespace was given: it exists in every cluster.
const outOfClusterLeaseNamespace = "kube-system"

type options struct {
	// argoCDApplications and flux are the flags; kinds what they resolved
	// to.
	argoCDApplications      kinds.Mode
	kinds                   controllers.Kinds
	metricsAddr             string
	metricsSecure           bool
	metricsCertDir          string
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaderElectionID        string
	leaderElectionNamespace string
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
	namespaced              bool
	namespace               string
	instanceID              string
	watchLabelSelector      string
	// scope is what --instance-id and --watch-label-selector resolve to;
	// scopeErr says why they cannot (run refuses to start).
	scope                  instance.Scope
	scopeErr               error
	controllers            string
	prometheusAddress      string
	gitCacheDir            string
	allowRemoteBases       bool
	gitMaxSize             resource.Quantity
	applicationConcurrency int
	tenancy                application.Tenancy
	webhookAddr            string
	clusterNamespace       string
	clusterTimeout         time.Duration
	webhookSecretFile      string
	flux                   kinds.Mode
	notifications          bool
	notificationsNamespace string
	zap                    zap.Options
	showVersion            bool
}

func main() {
	opts := parseFlags(flag.CommandLine, os.Args[1:])
	if opts.showVersion {
		fmt.Println("sluice", version.Get())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts.zap)))
	// The notifications engine logs through logrus, unmasked: a parse
	// error of a service's options, which hold the Secret's values, would
	// quote them. Sluice reports what matters (failed sends, unreadable
	// configuration, triggers not evaluated) in its own log and events,
	// masked.
	logrus.SetLevel(logrus.PanicLevel)
	if err := run(ctrl.SetupSignalHandler(), opts); err != nil {
		// Plain text, not a log line: most of these are start-up mistakes
		// (a bad flag value, no kubeconfig) that a person reads at once.
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(1)
	}
}

func parseFlags(fs *flag.FlagSet, args []string) options {
	var o options
	// --kubeconfig is registered on the default FlagSet by controller-runtime.
	fs.BoolVar(&o.showVersion, "version", false, "Print the version, the commit and the Argo Rollouts API version, and exit.")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080",
		"Address the Prometheus /metrics endpoint listens on; 0 turns it off.")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", false,
		"Serve /metrics over HTTPS, to callers that authenticate with a bearer token and may get the non-resource URL /metrics (TokenReview and SubjectAccessReview).")
	fs.StringVar(&o.metricsCertDir, "metrics-cert-dir", "",
		"Directory with tls.crt and tls.key for --metrics-secure; empty: a self-signed certificate made at start-up.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081",
		"Address the /healthz and /readyz endpoints listen on.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "",
		"Address Go's profiler (/debug/pprof/) listens on, such as localhost:6060; empty (default) turns it off. Heap profiles hold cached objects: keep it off networks others reach.")
	fs.BoolVar(&o.leaderElect, "leader-elect", true,
		"Elect a leader so only one replica of the manager reconciles at a time.")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", defaultLeaderElectionID,
		"Name of the Lease used for leader election (default "+defaultLeaderElectionID+", with -<instance id> added for --instance-id and -shard-<key> for --watch-label-selector="+instance.ShardLabel+"=<key>).")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader-election Lease (default: --namespace in namespaced mode, else $POD_NAMESPACE or the pod's namespace, else "+
			outOfClusterLeaseNamespace+" outside a cluster).")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 15*time.Second,
		"How long replicas that are not the leader wait after the last renewal before taking the lead.")
	fs.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", 10*time.Second,
		"How long the leader keeps trying to renew its lease before it gives up leading (and exits).")
	fs.DurationVar(&o.retryPeriod, "leader-election-retry-period", 2*time.Second,
		"How often replicas try to take or renew the lease.")
	fs.BoolVar(&o.namespaced, "namespaced", false,
		"Namespaced mode: watch and act in one namespace only (--namespace), read nothing cluster-scoped, and need only Roles there. Applications are held to that namespace, and ClusterAnalysisTemplates are not read.")
	fs.StringVar(&o.namespace, "namespace", "",
		"The namespace of --namespaced (default: $POD_NAMESPACE, or the pod's own namespace).")
	fs.StringVar(&o.instanceID, "instance-id", "",
		"Only reconcile objects labelled argo-rollouts.argoproj.io/controller-instance-id=<value>.")
	fs.StringVar(&o.watchLabelSelector, "watch-label-selector", "",
		"Only reconcile, and hold in memory, the objects of one shard: a label selector on "+instance.ShardLabel+
			" (Flux's flag), such as "+instance.ShardLabel+"=shard1, or !"+instance.ShardLabel+" for the objects in no shard. What a Rollout or an Application makes joins its shard.")
	fs.StringVar(&o.prometheusAddress, "prometheus-address", os.Getenv(prometheusAddressEnv),
		"Prometheus address for analysis metrics that name none (default $"+prometheusAddressEnv+", as Argo Rollouts reads it).")
	fs.StringVar(&o.gitCacheDir, "git-cache-dir", filepath.Join(os.TempDir(), "sluice-git"),
		"Directory the Application controller keeps Git checkouts in.")
	o.gitMaxSize = resource.MustParse("1Gi")
	fs.Func("git-max-size", "What one Git fetch and checkout may put on disk, such as 512Mi (default 1Gi): a larger repository fails its sync.",
		func(s string) error {
			q, err := resource.ParseQuantity(s)
			if err == nil && q.Sign() <= 0 {
				err = errors.New("must be more than zero")
			}
			o.gitMaxSize = q
			return err
		})
	fs.BoolVar(&o.allowRemoteBases, "allow-remote-bases", false,
		"Let Applications' kustomizations load bases and files from outside their repository (other Git repositories, HTTP). Off, such a reference fails the sync.")
	fs.StringVar(&o.tenancy.DefaultServiceAccount, "default-service-account", "",
		"Service account (of the Application's namespace) an Application that names none applies as; empty: the manager's own rights.")
	fs.BoolVar(&o.tenancy.NamespaceLock, "namespace-lock", false,
		"Keep each Application's objects in its own namespace: no other destination, no cluster-scoped objects.")
	fs.Var(commaList{&o.tenancy.LockExempt}, "namespace-lock-exempt",
		"Comma-separated namespaces whose Applications --namespace-lock does not bind (the platform team's).")
	fs.IntVar(&o.applicationConcurrency, "application-concurrency", 4,
		"How many Applications sync at once: one slow repository does not hold up the others.")
	fs.StringVar(&o.clusterNamespace, "cluster-secret-namespace", "",
		"Namespace whose Secrets labelled argocd.argoproj.io/secret-type=cluster register the clusters Applications may be applied to (default: $POD_NAMESPACE, or the pod's own namespace; none outside a pod). Never a tenant's namespace: its Applications may use every registered cluster.")
	fs.DurationVar(&o.clusterTimeout, "cluster-timeout", 3*time.Second,
		"How long a registered cluster may take to answer before its Applications are marked ClusterUnreachable.")
	fs.StringVar(&o.webhookAddr, "webhook-bind-address", "",
		"Address the receiver of Git push events listens on, such as :9292 (POST /hooks/git/<namespace>/<name> for an Application with spec.webhook); empty turns it off.")
	fs.StringVar(&o.webhookSecretFile, "webhook-secret-file", "",
		"File holding the operator's shared push-event secret (GitHub's signing secret, GitLab's token), which serves POST /hooks/git for every Application; without it, only Applications' own paths are served.")
	o.argoCDApplications, o.flux = kinds.ModeAuto, kinds.ModeAuto
	fs.Func("argocd-applications", "Serve Argo CD's Application kind (argoproj.io) with the Application controller: auto (default) when its CRD is installed and is not Argo CD's own (labelled app.kubernetes.io/part-of: argocd), on, or off.",
		func(s string) (err error) {
			o.argoCDApplications, err = kinds.ParseMode(s)
			return err
		})
	fs.Func("flux", "Serve Flux's GitRepository and Kustomization with the Application controller: auto (default) when their CRDs are installed and are not Flux's own (labelled app.kubernetes.io/part-of: flux), on, or off.",
		func(s string) (err error) {
			o.flux, err = kinds.ParseMode(s)
			return err
		})
	fs.BoolVar(&o.notifications, "notifications", true,
		"Send the notifications Rollouts and Applications subscribe to (notifications.argoproj.io/subscribe.* annotations), configured by Argo Rollouts' argo-rollouts-notification-configmap and -secret and by sluice-notifications-cm and sluice-notifications-secret.")
	fs.StringVar(&o.notificationsNamespace, "notifications-namespace", "",
		"Namespace of the notifications' ConfigMaps and Secrets (default: $POD_NAMESPACE, or the pod's own namespace, or "+notifications.DefaultNamespace+" outside a pod, as Argo Rollouts).")
	fs.StringVar(&o.controllers, "controllers", "*",
		"Comma-separated controllers to run, or * for all ("+strings.Join(controllers.Default.Names(), ", ")+").")
	o.zap.BindFlags(fs)
	// ExitOnError: a bad flag prints usage and exits 2, as every CLI does.
	_ = fs.Parse(args)
	o.scope, o.scopeErr = instance.NewScope(o.instanceID, o.watchLabelSelector)
	o.leaderElectionID = leaderElectionID(fs, o.scope)
	return o
}

// foreignKinds decides which kinds of Argo CD and Flux the Application
// controller serves (--argocd-applications, --flux), and logs why.
func foreignKinds(ctx context.Context, cfg *rest.Config, o options) (controllers.Kinds, error) {
	var out controllers.Kinds
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return out, err
	}
	for _, k := range []struct {
		kind  kinds.Foreign
		mode  kinds.Mode
		serve *bool
	}{
		{kinds.ArgoCDApplications, o.argoCDApplications, &out.ArgoCDApplications},
		{kinds.Flux, o.flux, &out.Flux},
	} {
		var why string
		if *k.serve, why, err = k.kind.Detect(ctx, c, k.mode, o.namespaced); err != nil {
			return out, err
		}
		ctrl.Log.WithName("setup").Info("kinds of another project", "flag", k.kind.Flag, "served", *k.serve, "because", why)
	}
	return out, nil
}

// defaultLeaderElectionID names the leader-election Lease of a manager
// started without --instance-id.
const defaultLeaderElectionID = "sluice.sluice.dev"

// leaderElectionID is the Lease a manager leads with: the flag's value when
// given, else one Lease per instance id, as Argo Rollouts does, and per
// shard, so managers of different instances or shards sharing a cluster
// (and a namespace for their Leases) each elect their own leader instead
// of one waiting on the other. The main shard (!sharding.fluxcd.io/key)
// keeps the Lease of a manager with no shard: splitting an installation
// into shards leaves its leader where it was.
func leaderElectionID(fs *flag.FlagSet, scope instance.Scope) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "leader-election-id" })
	value := fs.Lookup("leader-election-id").Value.String()
	if given {
		return value
	}
	value = defaultLeaderElectionID
	if scope.ID != "" {
		value += "-" + scope.ID
	}
	if shard := scope.ShardName(); shard != "" {
		value += "-shard-" + shard
	}
	return value
}

func run(ctx context.Context, o options) error {
	log := ctrl.Log.WithName("setup")

	selected, err := controllers.Default.Select(o.controllers)
	if err != nil {
		return err
	}
	if o.scopeErr != nil {
		return o.scopeErr
	}
	if errs := validation.IsDNS1123Subdomain(o.leaderElectionID); o.leaderElect && len(errs) > 0 {
		return fmt.Errorf("the leader-election Lease name %q (--leader-election-id, or derived from --instance-id and --watch-label-selector): %s",
			o.leaderElectionID, strings.Join(errs, "; "))
	}
	watchNamespace := ""
	if o.namespaced {
		if watchNamespace = ownNamespace(o.namespace); watchNamespace == "" {
			return errors.New("--namespaced needs --namespace, $POD_NAMESPACE or a pod's service account namespace")
		}
		// Applications cannot reach past the one namespace the manager may
		// write: say so in their status rather than fail on RBAC.
		o.tenancy.NamespaceLock, o.tenancy.LockExempt = true, nil
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	metrics.InstrumentConfig(cfg) // before anything is made from it
	if slices.Contains(selected, application.Name) {
		if o.kinds, err = foreignKinds(ctx, cfg, o); err != nil {
			return err
		}
	}
	if err := waitForResources(ctx, cfg, o.probeAddr, controllers.RequiredResources(selected, o.namespaced, o.kinds)); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting, as asked: a clean exit
		}
		return err
	}

	unreadable := rollout.NewUnreadable()
	opts := managerOptions(o, selected, watchNamespace)
	opts.Cache.NewInformer = rollout.TolerantInformers(cfg, watchNamespace, o.scope.Selector(), unreadable)
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if mgr, err = events.Install(mgr); err != nil {
		return fmt.Errorf("creating the event recorder: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("informers-synced", informersSynced(mgr)); err != nil {
		return err
	}
	var webhookSecret []byte
	if o.webhookSecretFile != "" {
		data, err := os.ReadFile(o.webhookSecretFile)
		if err != nil {
			return fmt.Errorf("reading --webhook-secret-file: %w", err)
		}
		webhookSecret = []byte(strings.TrimSpace(string(data)))
	}
	var hub *notifhub.Hub
	if o.notifications {
		ns := ownNamespace(o.notificationsNamespace)
		if ns == "" {
			ns = notifications.DefaultNamespace
		}
		if hub, err = notifhub.New(mgr, notifhub.Options{Namespace: ns}); err != nil {
			return err
		}
	}
	if err := controllers.Default.Setup(mgr, selected, controllers.Options{
		Scope: o.scope, Namespace: watchNamespace, PrometheusAddress: o.prometheusAddress,
		GitCacheDir: o.gitCacheDir, GitMaxSize: o.gitMaxSize.Value(),
		AllowRemoteBases: o.allowRemoteBases, ApplicationConcurrency: o.applicationConcurrency,
		Tenancy: o.tenancy, WebhookAddress: o.webhookAddr, WebhookSecret: webhookSecret,
		UnreadableRollouts: unreadable, Kinds: o.kinds, Notifications: hub,
		ClusterNamespace: ownNamespace(o.clusterNamespace), ClusterTimeout: o.clusterTimeout,
	}); err != nil {
		return err
	}

	log.Info("starting the manager", "host", cfg.Host, "controllers", selected, "namespace", watchNamespace,
		"instanceID", o.instanceID, "watchLabelSelector", o.watchLabelSelector, "leaderElection", o.leaderElect, "lease", o.leaderElectionID)
	return mgr.Start(ctx)
}

func managerOptions(o options, selected []string, watchNamespace string) manager.Options {
	metrics := metricsserver.Options{BindAddress: o.metricsAddr}
	if o.metricsSecure {
		metrics.SecureServing = true
		metrics.CertDir = o.metricsCertDir
		// Who may read /metrics is decided by the cluster: a TokenReview
		// of the caller's bearer token, then a SubjectAccessReview for
		// "get" on the non-resource URL /metrics.
		metrics.FilterProvider = metricsauth.Filter
	}
	opts := manager.Options{
		Scheme:                  scheme.New(),
		Metrics:                 metrics,
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        o.leaderElectionID,
		LeaderElectionNamespace: leaseNamespace(o.leaderElectionNamespace, watchNamespace),
		LeaseDuration:           &o.leaseDuration,
		RenewDeadline:           &o.renewDeadline,
		RetryPeriod:             &o.retryPeriod,
		// A manager that is shutting down gives up the Lease at once, so the
		// next replica takes over without waiting for it to expire.
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{
			// Only what reconcilers read is kept (see CacheTransform).
			DefaultTransform: controllers.CacheTransform(),
			ByObject:         controllers.CacheSelectors(o.scope, selected, o.kinds),
		},
	}
	if watchNamespace != "" {
		opts.Cache.DefaultNamespaces = map[string]cache.Config{watchNamespace: {}}
	}
	return opts
}

// leaseNamespace resolves the leader-election namespace: the flag, the
// namespace of namespaced mode, the pod's own namespace, or a namespace
// every cluster has.
func leaseNamespace(flagValue, watchNamespace string) string {
	switch {
	case flagValue != "":
		return flagValue
	case watchNamespace != "":
		return watchNamespace
	}
	if ns := ownNamespace(""); ns != "" {
		return ns
	}
	return outOfClusterLeaseNamespace
}

// ownNamespace is the flag's value, else $POD_NAMESPACE (the downward API's),
// else the namespace of the pod's service account, else "".
func ownNamespace(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if ns := os.Getenv(podNamespaceEnv); ns != "" {
		return ns
	}
	if data, err := os.ReadFile(namespaceFile); err == nil {
		return strings.TrimSpace(string(data))
	}
	return ""
}

// informersSynced reports ready once the manager's cache holds a full copy of
// every watched kind, so a rollout of the manager's own Deployment does not
// send traffic to a replica that would act on a partial view.
func informersSynced(mgr manager.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informers have not synced")
		}
		return nil
	}
}

// commaList is a flag of comma-separated values.
type commaList struct{ values *[]string }

func (c commaList) String() string {
	if c.values == nil {
		return ""
	}
	return strings.Join(*c.values, ",")
}

func (c commaList) Set(s string) error {
	*c.values = nil
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*c.values = append(*c.values, v)
		}
	}
	return nil
}
