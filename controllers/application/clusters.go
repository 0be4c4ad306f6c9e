package application

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/cluster"
)

// ReasonClusterUnreachable and ReasonClusterRefused are the Ready reasons of
// an Application whose destination cluster cannot be reached, or may not be
// used by it (not registered, not allowed for its namespace, its Secret
// unreadable).
const (
	ReasonClusterUnreachable = "ClusterUnreachable"
	ReasonClusterRefused     = "ClusterRefused"
)

// DefaultClusterTimeout bounds how long a registered cluster may take to
// answer before its Applications are marked ClusterUnreachable.
const DefaultClusterTimeout = 3 * time.Second

// target is the cluster an Application's objects go to, as this
// reconcile reaches it: the manager's own, or a registered one.
type target struct {
	// remote is nil for the cluster the manager runs in.
	remote *remote
	// watches watch that cluster's objects; reader reads them (health),
	// mapper tells their kinds apart.
	watches *ownedWatches
	reader  client.Reader
	mapper  meta.RESTMapper
}

// remote is a registered cluster, reached with its Secret's credentials:
// one client, mapper and watch cache, made on first use and replaced when
// the Secret changes.
type remote struct {
	cluster *cluster.Cluster
	client  client.Client
	mapper  meta.RESTMapper
	// probe asks the cluster for its version, to tell it is reachable.
	probe   rest.Interface
	watches *ownedWatches
	stop    context.CancelFunc
	// kubeconfig says it was made from a kubeconfig Secret, not a cluster
	// Secret.
	kubeconfig bool
}

// clusters holds the handles of registered clusters, by Secret.
type clusters struct {
	// namespace is where cluster Secrets are read, and whose Applications
	// may use every registered cluster; empty: no cluster but the
	// manager's.
	namespace string
	timeout   time.Duration
	reader    client.Reader
	scheme    *runtime.Scheme

	mu      sync.Mutex
	ctx     context.Context // the manager's, once started
	started chan struct{}
	handles map[string]*remote
}

func newClusters(namespace string, timeout time.Duration, reader client.Reader, scheme *runtime.Scheme) *clusters {
	if timeout <= 0 {
		timeout = DefaultClusterTimeout
	}
	return &clusters{namespace: namespace, timeout: timeout, reader: reader, scheme: scheme,
		started: make(chan struct{}), handles: map[string]*remote{}}
}

// Start keeps the manager's context, under which the watch caches of
// registered clusters run, and stops them all when it ends.
func (c *clusters) Start(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	close(c.started)
	c.mu.Unlock()
	<-ctx.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, h := range c.handles {
		h.stop()
		delete(c.handles, key)
	}
	return nil
}

// forget drops what every cluster's watches noted for an Application.
func (c *clusters) forget(app types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.handles {
		h.watches.forget(app)
	}
}

// targetOf resolves where an Application's objects go. A failure is the
// Ready reason and message to report: the cluster is refused, or cannot be
// reached within the timeout.
func (r *Reconciler) targetOf(ctx context.Context, app *gitopsv1alpha1.Application) (*target, string, error) {
	if d, ok := r.door.(kubeconfigDoor); ok {
		if name, key, ok := d.kubeconfig(app); ok {
			return r.kubeconfigTarget(ctx, app.Namespace, name, key)
		}
	}
	dest := app.Spec.Destination
	if cluster.IsInCluster(dest.Server, dest.Name) {
		return &target{watches: r.owned, reader: r.APIReader, mapper: r.Mapper}, "", nil
	}
	h, err := r.clusters.resolve(ctx, app, r.owned)
	if err != nil {
		return nil, ReasonClusterRefused, err
	}
	return r.reach(ctx, h)
}

// reach asks a cluster for its version, bounded by the timeout, and makes
// the target of a cluster that answers.
func (r *Reconciler) reach(ctx context.Context, h *remote) (*target, string, error) {
	probe, cancel := context.WithTimeout(ctx, r.clusters.timeout)
	defer cancel()
	if err := h.probe.Get().AbsPath("/version").Do(probe).Error(); err != nil {
		return nil, ReasonClusterUnreachable, fmt.Errorf("cluster %s (%s) did not answer within %s: %s",
			h.cluster.Name, h.cluster.Server, r.clusters.timeout, unreachable(err))
	}
	return &target{remote: h, watches: h.watches, reader: h.client, mapper: h.mapper}, "", nil
}

// kubeconfigTarget is where an object whose kubeConfig.secretRef names a
// kubeconfig Secret applies, as Flux's Kustomization does: the Secret is
// read in the object's own namespace (key "" for value or value.yaml), and
// its cluster is reached as a registered one is, with one client and watch
// cache per Secret, replaced when the Secret changes. A failure is the
// Ready reason and message to report.
func (r *Reconciler) kubeconfigTarget(ctx context.Context, namespace, name, key string) (*target, string, error) {
	var s corev1.Secret
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &s); err != nil {
		return nil, ReasonClusterRefused, fmt.Errorf("kubeConfig.secretRef %s: %w", name, err)
	}
	found, err := cluster.FromKubeconfigSecret(&s, key)
	if err != nil {
		return nil, ReasonClusterRefused, err
	}
	h, err := r.clusters.handle(ctx, found, r.owned)
	if err != nil {
		return nil, ReasonClusterRefused, err
	}
	return r.reach(ctx, h)
}

// unreachable says why a cluster did not answer, briefly.
func unreachable(err error) string {
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &status):
		return fmt.Sprintf("%s (HTTP %d)", status.Status().Reason, status.Status().Code)
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Op + ": " + op.Err.Error()
	}
	return err.Error()
}

// resolve reads the registered clusters, finds the Application's, checks
// that it may use it, and returns its handle, made anew when its Secret
// changed. Handles of Secrets that are gone are stopped.
func (c *clusters) resolve(ctx context.Context, app *gitopsv1alpha1.Application, local *ownedWatches) (*remote, error) {
	dest := app.Spec.Destination
	if c.namespace == "" {
		return nil, fmt.Errorf("destination %s: this manager serves its own cluster only (no namespace to read cluster Secrets from)",
			cluster.Describe(dest.Server, dest.Name, ""))
	}
	var secrets corev1.SecretList
	if err := c.reader.List(ctx, &secrets, client.InNamespace(c.namespace),
		client.MatchingLabels{cluster.SecretTypeLabel: cluster.SecretTypeCluster}); err != nil {
		return nil, fmt.Errorf("reading the cluster Secrets of namespace %s: %w", c.namespace, err)
	}
	var registered []*cluster.Cluster
	present := map[string]bool{}
	for i := range secrets.Items {
		s := &secrets.Items[i]
		present[s.Namespace+"/"+s.Name] = true
		parsed, err := cluster.FromSecret(s)
		if err != nil {
			if names(s, dest) {
				return nil, err // the Secret meant is broken: say so, not "not registered"
			}
			continue
		}
		registered = append(registered, parsed)
	}
	c.mu.Lock()
	for key, h := range c.handles {
		if strings.HasPrefix(key, c.namespace+"/") && !h.kubeconfig && !present[key] {
			h.stop()
			delete(c.handles, key)
		}
	}
	c.mu.Unlock()
	found, err := cluster.Resolve(dest.Server, dest.Name, registered)
	if err != nil {
		return nil, err
	}
	if err := found.Permits(app.Namespace, c.namespace); err != nil {
		return nil, err
	}
	return c.handle(ctx, found, local)
}

// names reports whether an unreadable cluster Secret is the one a
// destination names.
func names(s *corev1.Secret, dest gitopsv1alpha1.ApplicationDestination) bool {
	server := strings.TrimSuffix(strings.TrimSpace(string(s.Data["server"])), "/")
	name := strings.TrimSpace(string(s.Data["name"]))
	if dest.Server != "" {
		return server == strings.TrimSuffix(dest.Server, "/")
	}
	return name == dest.Name || name == "" && server == dest.Name
}

// handle returns the cluster's handle, making it (and starting its watch
// cache) on first use or when the Secret changed.
func (c *clusters) handle(ctx context.Context, found *cluster.Cluster, local *ownedWatches) (*remote, error) {
	select {
	case <-c.started:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.handles[found.Secret]; h != nil {
		if h.cluster.Version == found.Version {
			return h, nil
		}
		h.stop() // the Secret changed: new credentials, new clients
		delete(c.handles, found.Secret)
		log.FromContext(ctx).Info("cluster Secret changed: reconnecting", "cluster", found.Name, "secret", found.Secret)
	}
	h, err := c.connect(found, local)
	if err != nil {
		return nil, fmt.Errorf("cluster %s (%s): %w", found.Name, found.Server, err)
	}
	h.kubeconfig = found.Kubeconfig
	c.handles[found.Secret] = h
	return h, nil
}

// connect makes a cluster's client, mapper and watch cache. Requests are
// bounded: connecting by the timeout, a request by a few times it; the
// watch cache's connections have no overall bound (its watches are long
// requests) but the same bound on connecting.
func (c *clusters) connect(found *cluster.Cluster, local *ownedWatches) (*remote, error) {
	dialer := &net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}
	base := rest.CopyConfig(found.Config)
	base.Dial = dialer.DialContext
	base.QPS, base.Burst = 50, 100
	requests := rest.CopyConfig(base)
	requests.Timeout = 10 * c.timeout
	httpClient, err := rest.HTTPClientFor(requests)
	if err != nil {
		return nil, errors.New("its credentials do not make a client (check tlsClientConfig)")
	}
	mapper, err := apiutil.NewDynamicRESTMapper(requests, httpClient)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(requests, client.Options{Scheme: c.scheme, Mapper: mapper, HTTPClient: httpClient})
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(requests, httpClient)
	if err != nil {
		return nil, err
	}
	watchClient, err := rest.HTTPClientFor(base)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(c.ctx)
	watches, err := newRemoteWatches(ctx, base, watchClient, c.scheme, mapper, local.controller, found.Namespaces, c.timeout, local.owner, local.scope)
	if err != nil {
		stop()
		return nil, err
	}
	return &remote{cluster: found, client: cl, mapper: mapper, probe: disco.RESTClient(), watches: watches, stop: stop}, nil
}

// syncerFor makes the Syncer an Application's objects are applied and
// deleted with: on the manager's cluster as who (see identity), on a
// registered one with its Secret's credentials.
func (r *Reconciler) syncerFor(t *target, who string) (*gitops.Syncer, error) {
	if t.remote == nil {
		return r.syncerAs(who)
	}
	return gitops.NewSyncer(t.remote.client, r.door.owner()), nil
}

// checkCluster refuses, on a registered cluster whose Secret limits it to
// some namespaces (Argo CD's namespaces key), the first object outside
// them.
func checkCluster(t *target, objects []*unstructured.Unstructured) error {
	if t.remote == nil || len(t.remote.cluster.Namespaces) == 0 {
		return nil
	}
	for _, o := range objects {
		gvk := o.GroupVersionKind()
		namespace := o.GetNamespace()
		if mapping, err := t.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil && mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			namespace = ""
		}
		if err := t.remote.cluster.CheckNamespace(o.GetKind(), o.GetName(), namespace); err != nil {
			return err
		}
	}
	return nil
}

// deletionTarget is where a deleted Application's objects are: its
// destination's cluster, reached as for a sync. One that applied nothing
// (its destination refused from the start, say) needs no cluster, and is
// not held by one it could never use.
func (r *Reconciler) deletionTarget(ctx context.Context, app *gitopsv1alpha1.Application) (*target, error) {
	if len(app.Status.Inventory) == 0 {
		return &target{watches: r.owned, reader: r.APIReader, mapper: r.Mapper}, nil
	}
	t, _, err := r.targetOf(ctx, app)
	return t, err
}
