// Package controllers is the index of Sluice's reconcilers. Each reconciler
// lives in its own sub-package and registers a setup function here, so the
// manager can start any subset of them by name (--controllers).
package controllers

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/analysisrun"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/controllers/experiment"
	"github.com/sluicehq/sluice/controllers/fluxsource"
	"github.com/sluicehq/sluice/controllers/notifications"
	"github.com/sluicehq/sluice/controllers/rollout"
	"github.com/sluicehq/sluice/internal/instance"
)

// The manager itself needs these, whichever controllers run; each reconciler
// declares its own next to its code, and `make manifests` writes one role
// per controller into config/rbac (and the chart), so an installation grants
// only what the controllers it runs need.
//
// Leader election reads, creates and renews one Lease in the manager's own
// namespace: a Role there, not a ClusterRole. The namespace below is the
// default installation's; kustomize and the chart set the real one.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=sluice-system,roleName=sluice-leader-election
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Options are the settings every reconciler receives from the manager.
type Options struct {
	// Scope limits every reconciler to the objects of one instance
	// (labelled argo-rollouts.argoproj.io/controller-instance-id=<id>, so
	// Sluice can share a cluster with another controller of the same API)
	// and one shard (--watch-label-selector), so a fleet can be split
	// between managers.
	Scope instance.Scope
	// Namespace, when set, is namespaced mode: the manager's cache holds
	// only this namespace and no reconciler reads anything cluster-scoped,
	// so Roles in it are all the manager needs.
	Namespace string
	// PrometheusAddress serves analysis metrics that name no address.
	PrometheusAddress string
	// GitCacheDir holds the Application controller's Git checkouts.
	GitCacheDir string
	// GitMaxSize bounds one fetch and checkout, in bytes.
	GitMaxSize int64
	// AllowRemoteBases lets kustomizations load from outside their
	// repository.
	AllowRemoteBases bool
	// ApplicationConcurrency is how many Applications sync at once.
	ApplicationConcurrency int
	// Tenancy bounds what Applications may reach.
	Tenancy application.Tenancy
	// ClusterNamespace is where cluster Secrets are read; ClusterTimeout
	// bounds a registered cluster's answer (application.Options).
	ClusterNamespace string
	ClusterTimeout   time.Duration
	// WebhookAddress, when set, serves the receiver of Git push events;
	// WebhookSecret is the operator's optional secret for POST /hooks/git.
	WebhookAddress string
	WebhookSecret  []byte
	// Kinds are the kinds of other projects the manager serves.
	Kinds Kinds
	// Notifications, when not nil, sends the notifications Rollouts and
	// Applications are subscribed to.
	Notifications *notifications.Hub
	// UnreadableRollouts is filled by the cache's tolerant Rollout
	// informer (see rollout.TolerantInformers), when the manager has one.
	UnreadableRollouts *rollout.Unreadable
}

// Kinds are the kinds another project also serves that this manager
// serves, decided at start (the manager's --argocd-applications).
type Kinds struct {
	// ArgoCDApplications serves Argo CD's Application (argoproj.io) with
	// the Application controller.
	ArgoCDApplications bool
	// Flux serves Flux's GitRepository and Kustomization (--flux): the
	// GitRepository controller runs beside the Application controller,
	// which serves Kustomizations.
	Flux bool
}

// SetupFunc registers one reconciler with a manager.
type SetupFunc func(mgr ctrl.Manager, opts Options) error

// Registry maps a controller's name to its setup function.
type Registry map[string]SetupFunc

// Names lists the registered controllers in a stable order.
func (r Registry) Names() []string {
	names := make([]string, 0, len(r))
	for name := range r {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Select resolves a --controllers value: "*" (or empty) means every
// registered controller, otherwise a comma-separated list of names.
func (r Registry) Select(spec string) ([]string, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "*" {
		return r.Names(), nil
	}
	var selected []string
	for name := range strings.SplitSeq(spec, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if _, ok := r[name]; !ok {
			return nil, fmt.Errorf("unknown controller %q; known controllers: %s", name, r.describe())
		}
		if !slices.Contains(selected, name) {
			selected = append(selected, name)
		}
	}
	return selected, nil
}

// Setup registers the named controllers with the manager.
func (r Registry) Setup(mgr ctrl.Manager, names []string, opts Options) error {
	for _, name := range names {
		if err := r[name](mgr, opts); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", name, err)
		}
	}
	return nil
}

func (r Registry) describe() string {
	if len(r) == 0 {
		return "none in this build"
	}
	return strings.Join(r.Names(), ", ")
}

// CacheSelectors limits what the manager's cache holds of the kinds a
// cluster has many of: only this instance's and shard's Rollouts,
// Experiments, AnalysisRuns and Applications (scope.Selector), only
// ReplicaSets that belong to a Rollout or an Experiment of the shard, only
// Jobs of analysis metrics of the shard (scope.InShard: children carry
// their parent's shard label, not its instance label). Only
// the kinds of the selected controllers are named: the manager must not look
// up a kind whose CRD a controller that does not run would have needed.
//
// AnalysisRuns and Experiments are read by several controllers through this
// one cache: the AnalysisRun controller measures runs, and the Rollout and
// Experiment controllers read those they own; the Experiment controller
// runs Experiments, and the Rollout controller reads those of its experiment
// steps. All see the same objects, since what a Rollout or an Experiment
// creates carries its instance and shard labels.
func CacheSelectors(scope instance.Scope, selected []string, kinds Kinds) map[client.Object]cache.ByObject {
	selectors := map[client.Object]cache.ByObject{}
	mine := cache.ByObject{Label: scope.Selector()}
	if slices.Contains(selected, rollout.Name) {
		selectors[&rolloutsv1alpha1.Rollout{}] = mine
	}
	if slices.Contains(selected, rollout.Name) || slices.Contains(selected, experiment.Name) {
		// An Experiment's ReplicaSets carry the pod-template hash label too.
		selectors[&rolloutsv1alpha1.Experiment{}] = mine
		selectors[&appsv1.ReplicaSet{}] = cache.ByObject{Label: scope.InShard(rollout.ReplicaSetSelector())}
	}
	if slices.Contains(selected, rollout.Name) || slices.Contains(selected, analysisrun.Name) || slices.Contains(selected, experiment.Name) {
		selectors[&rolloutsv1alpha1.AnalysisRun{}] = mine
	}
	if slices.Contains(selected, analysisrun.Name) {
		selectors[&batchv1.Job{}] = cache.ByObject{Label: scope.InShard(analysisrun.JobSelector())}
	}
	if slices.Contains(selected, application.Name) {
		selectors[&gitopsv1alpha1.Application{}] = mine
		if kinds.ArgoCDApplications {
			argoCD := &unstructured.Unstructured{}
			argoCD.SetGroupVersionKind(application.ArgoCDApplication)
			selectors[argoCD] = mine
		}
		if kinds.Flux {
			selectors[&kustomizev1.Kustomization{}] = mine
			selectors[&sourcev1.GitRepository{}] = mine
		}
	}
	return selectors
}

// RequiredResources lists the custom resources the selected controllers
// cannot start without. The manager waits for each to be served before it
// starts, so it may be installed together with its CRDs. Optional ones, such
// as Gateway API's routes, are not here: a controller picks them up when
// they appear.
func RequiredResources(selected []string, namespaced bool, kinds Kinds) []schema.GroupVersionResource {
	argo := rolloutsv1alpha1.SchemeGroupVersion
	var required []schema.GroupVersionResource
	add := func(gv schema.GroupVersion, resources ...string) {
		for _, r := range resources {
			gvr := gv.WithResource(r)
			if !slices.Contains(required, gvr) {
				required = append(required, gvr)
			}
		}
	}
	for _, name := range selected {
		switch name {
		case rollout.Name:
			add(argo, "rollouts", "analysisruns", "analysistemplates", "experiments")
			if !namespaced {
				add(argo, "clusteranalysistemplates")
			}
		case experiment.Name:
			add(argo, "experiments", "analysisruns", "analysistemplates")
			if !namespaced {
				add(argo, "clusteranalysistemplates")
			}
		case analysisrun.Name:
			add(argo, "analysisruns")
		case application.Name:
			add(gitopsv1alpha1.GroupVersion, "applications")
			if kinds.ArgoCDApplications {
				add(application.ArgoCDApplication.GroupVersion(), "applications")
			}
			if kinds.Flux {
				add(sourcev1.GroupVersion, "gitrepositories")
				add(kustomizev1.GroupVersion, "kustomizations")
			}
		}
	}
	return required
}

// Default holds every reconciler this build of Sluice ships.
var Default = Registry{
	rollout.Name: func(mgr ctrl.Manager, o Options) error {
		return rollout.Setup(mgr, rollout.Options{Scope: o.Scope, Namespace: o.Namespace, Unreadable: o.UnreadableRollouts,
			Notifications: o.Notifications})
	},
	analysisrun.Name: func(mgr ctrl.Manager, o Options) error {
		return analysisrun.Setup(mgr, analysisrun.Options{Scope: o.Scope, PrometheusAddress: o.PrometheusAddress})
	},
	experiment.Name: func(mgr ctrl.Manager, o Options) error {
		return experiment.Setup(mgr, experiment.Options{Scope: o.Scope, Namespace: o.Namespace})
	},
	application.Name: func(mgr ctrl.Manager, o Options) error {
		if err := application.Setup(mgr, application.Options{
			Scope: o.Scope, CacheDir: o.GitCacheDir, Namespace: o.Namespace, GitMaxSize: o.GitMaxSize, AllowRemoteBases: o.AllowRemoteBases,
			Concurrency: o.ApplicationConcurrency, Tenancy: o.Tenancy, WebhookAddress: o.WebhookAddress, WebhookSecret: o.WebhookSecret,
			ArgoCDApplications: o.Kinds.ArgoCDApplications, Kustomizations: o.Kinds.Flux,
			ClusterNamespace: o.ClusterNamespace, ClusterTimeout: o.ClusterTimeout,
		}); err != nil {
			return err
		}
		if err := watchApplicationNotifications(o); err != nil {
			return err
		}
		if !o.Kinds.Flux {
			return nil
		}
		return fluxsource.Setup(mgr, o.Scope)
	},
}

// watchApplicationNotifications runs the triggers of the Application kinds
// the Application controller serves, when notifications are on. Flux's
// Kustomizations have Flux's own notifications, which Sluice does not
// serve.
func watchApplicationNotifications(o Options) error {
	if err := o.Notifications.WatchApplications(notifications.ApplicationOptions{
		Name: "notifications-application", Kind: gitopsv1alpha1.GroupVersion.WithKind("Application"),
		Object: func() client.Object { return &gitopsv1alpha1.Application{} },
	}); err != nil || !o.Kinds.ArgoCDApplications {
		return err
	}
	return o.Notifications.WatchApplications(notifications.ApplicationOptions{
		Name: "notifications-application-argocd", Kind: application.ArgoCDApplication,
		Object: func() client.Object {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(application.ArgoCDApplication)
			return u
		},
	})
}
