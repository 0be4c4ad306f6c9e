package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/cluster"
	"github.com/sluicehq/sluice/traffic"
)

const (
	// settle is how long a stream waits after a change for the next one
	// before it reads again: a step moves a Rollout, its ReplicaSets, pods
	// and routes within moments, and the page needs to be drawn once.
	settle = 100 * time.Millisecond
	// maxSettle is the longest a change waits for quiet before the page is
	// drawn anyway.
	maxSettle = time.Second
	// keepAlive is how often an idle stream writes a comment, so proxies
	// and the browser keep it open.
	keepAlive = 25 * time.Second
	// rewatch is how long a watch that failed waits before it starts
	// again.
	rewatch = 2 * time.Second
)

// watchTarget is a kind to watch in a namespace: each of its events makes
// the stream read its view again.
type watchTarget struct {
	kind      string
	list      func() client.ObjectList
	namespace string
}

// key tells targets apart, so a stream starts each watch once.
func (t watchTarget) key() string { return t.kind + "/" + t.namespace }

func target(kind, namespace string, list func() client.ObjectList) watchTarget {
	return watchTarget{kind: kind, list: list, namespace: namespace}
}

func rollouts(ns string) watchTarget {
	return target("rollouts", ns, func() client.ObjectList { return &rolloutsv1alpha1.RolloutList{} })
}

func replicaSets(ns string) watchTarget {
	return target("replicasets", ns, func() client.ObjectList { return &appsv1.ReplicaSetList{} })
}

func pods(ns string) watchTarget {
	return target("pods", ns, func() client.ObjectList { return &corev1.PodList{} })
}

func routes(kind, ns string) watchTarget {
	return target(kind, ns, func() client.ObjectList {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: kind + "List"})
		return list
	})
}

// watchesOf are the watches a view needs now; a stream asks again after
// each change, since what it needs can change with what it shows (an
// Application's first sync names its workloads' namespaces).
type watchesOf func(ctx context.Context, r *http.Request) []watchTarget

func rolloutListWatches(_ context.Context, r *http.Request) []watchTarget {
	return []watchTarget{rollouts(r.PathValue("namespace"))}
}

// rolloutWatches are the kinds a Rollout's page shows: the Rollout, its
// ReplicaSets, pods and AnalysisRuns, and the routes it shifts traffic
// on, where they are.
func (s *Server) rolloutWatches(ctx context.Context, r *http.Request) []watchTarget {
	ns := r.PathValue("namespace")
	targets := []watchTarget{rollouts(ns), replicaSets(ns), pods(ns),
		target("analysisruns", ns, func() client.ObjectList { return &rolloutsv1alpha1.AnalysisRunList{} })}
	ro := &rolloutsv1alpha1.Rollout{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: r.PathValue("name")}, ro); err != nil {
		return targets
	}
	if settings, _ := traffic.SettingsOf(ro); settings != nil {
		for _, route := range settings.Routes {
			targets = append(targets, routes(route.Kind, route.Namespace))
		}
	}
	return targets
}

func applicationListWatches(_ context.Context, r *http.Request) []watchTarget {
	return []watchTarget{applications(r.PathValue("namespace"))}
}

func applications(ns string) watchTarget {
	return target("applications", ns, func() client.ObjectList { return &gitopsv1alpha1.ApplicationList{} })
}

// applicationWatches are the kinds an Application's page shows: the
// Application, and the workloads of the namespaces its Rollouts and
// Deployments are in when it applies to this cluster.
func (s *Server) applicationWatches(ctx context.Context, r *http.Request) []watchTarget {
	ns := r.PathValue("namespace")
	targets := []watchTarget{applications(ns)}
	app := &gitopsv1alpha1.Application{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: r.PathValue("name")}, app); err != nil {
		return targets
	}
	if d := app.Spec.Destination; !cluster.IsInCluster(d.Server, d.Name) {
		return targets
	}
	for _, workloads := range workloadNamespaces(app) {
		targets = append(targets, rollouts(workloads), replicaSets(workloads), pods(workloads),
			target("deployments", workloads, func() client.ObjectList { return &appsv1.DeploymentList{} }))
	}
	return targets
}

// stream writes the view as server-sent events: once at the start, then
// whenever a watched kind changed and the view with it. A view that fails
// to read is sent as {"error": ...} and the stream goes on, so the page
// shows a Rollout deleted and made again.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, compute func(context.Context) (any, error), watches watchesOf) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	ctx := r.Context()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	changed := make(chan struct{}, 1)
	started := map[string]bool{}
	watchNew := func() {
		for _, t := range watches(ctx, r) {
			if !started[t.key()] {
				started[t.key()] = true
				go s.watch(ctx, t, changed)
			}
		}
	}
	var last []byte
	send := func() error {
		body, err := encodeView(compute(ctx))
		if err != nil || bytes.Equal(body, last) {
			return err
		}
		last = body
		// What a page watches follows from what it shows (a Rollout's
		// routes, an Application's workloads), so it is looked at again
		// only when the page changed.
		watchNew()
		if _, err := fmt.Fprintf(w, "data: %s\n\n", body); err != nil {
			return err
		}
		flusher.Flush()
		return nil
	}
	if send() != nil {
		return
	}
	alive := time.NewTicker(keepAlive)
	defer alive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-alive.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-changed:
			if !settled(ctx, changed) || send() != nil {
				return
			}
		}
	}
}

// settled waits until no change came for the settle time, or at most
// maxSettle, so a namespace whose pods never stop changing still gets its
// page drawn; false when the stream ended meanwhile.
func settled(ctx context.Context, changed <-chan struct{}) bool {
	timer := time.NewTimer(settle)
	defer timer.Stop()
	deadline := time.NewTimer(maxSettle)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-changed:
			timer.Reset(settle)
		case <-timer.C:
			return true
		case <-deadline.C:
			return true
		}
	}
}

// encodeView is a view, or its error, as one line of JSON.
func encodeView(v any, err error) ([]byte, error) {
	if err != nil {
		status := 0
		var apiStatus apierrors.APIStatus
		if errors.As(err, &apiStatus) {
			status = int(apiStatus.Status().Code)
		}
		return json.Marshal(map[string]any{"error": err.Error(), "status": status})
	}
	return json.Marshal(v)
}

// watch watches one kind until ctx ends, signalling changed at each event
// and each time a watch starts again (events may have been missed in
// between). A kind the user may not watch is given up: the view's reads say
// so.
func (s *Server) watch(ctx context.Context, t watchTarget, changed chan<- struct{}) {
	signal := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		w, err := s.client.Watch(ctx, t.list(), client.InNamespace(t.namespace))
		if permanent(err) {
			return
		}
		if err == nil {
			drain(ctx, w, signal)
			w.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(rewatch):
		}
		if err == nil {
			signal() // what changed between two watches
		}
	}
}

// permanent reports whether a watch will never start: the user may not
// watch the kind, or the cluster does not serve it (no Gateway API). The
// page's reads say so; trying again would only load the API server.
func permanent(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) || meta.IsNoMatchError(err)
}

// drain signals each event of w until it ends or fails.
func drain(ctx context.Context, w watch.Interface, signal func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case event, ok := <-w.ResultChan():
			if !ok || event.Type == watch.Error {
				return
			}
			signal()
		}
	}
}
