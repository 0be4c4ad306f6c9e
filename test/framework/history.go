package framework

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/scheme"
)

// History is every version of a namespace's ReplicaSets, Services and
// Rollouts that the API server wrote from the moment recording started, in
// the order it wrote them. Specs check invariants on it once a scenario is
// over: a watch sees each write, where polling could miss a version that
// lived a few milliseconds.
type History struct {
	mu      sync.Mutex
	records []Record
	errs    []error
}

// Record is one version of an object.
type Record struct {
	// Version is the object's resourceVersion as a number. Clients are
	// asked to treat resourceVersions as opaque; on the simulated cluster
	// (one etcd, these kinds served by kube-apiserver itself) each is etcd's
	// revision, a single counter over every write, which is what lets
	// three watches merge into one history.
	Version uint64
	// Deleted marks the version that removed the object.
	Deleted bool
	Object  client.Object
	// Received is when the watch delivered it.
	Received time.Time
}

// watchedKinds are the kinds a History records.
func watchedKinds() []client.ObjectList {
	return []client.ObjectList{&appsv1.ReplicaSetList{}, &corev1.ServiceList{}, &rolloutsv1alpha1.RolloutList{}}
}

// RecordHistory starts recording a namespace until the spec ends: what
// exists now, then every write through a watch that resumes where it left
// off should the API server close it.
func RecordHistory(ctx context.Context, cfg *rest.Config, namespace string) *History {
	ginkgo.GinkgoHelper()
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ginkgo.DeferCleanup(cancel)

	h := &History{}
	for _, list := range watchedKinds() {
		gomega.Expect(c.List(ctx, list, client.InNamespace(namespace))).To(gomega.Succeed())
		items, err := meta.ExtractList(list)
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		for _, item := range items {
			h.add(item.(client.Object), false)
		}
		kind := list.DeepCopyObject().(client.ObjectList)
		w, err := watchtools.NewRetryWatcherWithContext(ctx, list.GetResourceVersion(), &cache.ListWatch{
			WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
				return c.Watch(ctx, kind.DeepCopyObject().(client.ObjectList), client.InNamespace(namespace), &client.ListOptions{Raw: &opts})
			},
		})
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		go h.follow(w)
	}
	return h
}

func (h *History) follow(w *watchtools.RetryWatcher) {
	for event := range w.ResultChan() {
		switch event.Type {
		case watch.Added, watch.Modified, watch.Deleted:
			h.add(event.Object.(client.Object), event.Type == watch.Deleted)
		case watch.Error:
			h.fail(fmt.Errorf("watch: %w", apierrors.FromObject(event.Object)))
		}
	}
}

func (h *History) add(obj client.Object, deleted bool) {
	version, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		h.fail(fmt.Errorf("%T %s: resourceVersion %q is not a number", obj, obj.GetName(), obj.GetResourceVersion()))
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, Record{Version: version, Deleted: deleted, Object: obj, Received: time.Now()})
}

func (h *History) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, err)
}

// Records returns what was recorded so far, in the order it was written,
// and an error if the recording may have missed a write.
func (h *History) Records() ([]Record, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	records := append([]Record(nil), h.records...)
	sort.SliceStable(records, func(i, j int) bool { return records[i].Version < records[j].Version })
	return records, errors.Join(h.errs...)
}

// CaughtUp returns an error until the history holds the version of every
// object the API server lists now: the recording has seen everything that
// happened so far. For Eventually, before reading Records at the end of a
// scenario.
func (h *History) CaughtUp(ctx context.Context, c client.Reader, namespace string) error {
	records, err := h.Records()
	if err != nil {
		return err
	}
	seen := map[types.UID]uint64{}
	for _, r := range records {
		seen[r.Object.GetUID()] = max(seen[r.Object.GetUID()], r.Version)
	}
	for _, list := range watchedKinds() {
		if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			obj := item.(client.Object)
			version, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
			if err != nil {
				return err
			}
			if seen[obj.GetUID()] < version {
				return fmt.Errorf("%T %s: version %d not recorded yet", obj, obj.GetName(), version)
			}
		}
	}
	return nil
}

// State is a namespace as of one record: the latest version of every
// object that exists then, by name.
type State struct {
	ReplicaSets map[string]*appsv1.ReplicaSet
	Services    map[string]*corev1.Service
	Rollouts    map[string]*rolloutsv1alpha1.Rollout
}

// Replay walks the records in order and calls each with the state just
// after the record. The state's maps change as the walk goes on: each
// reads them, it does not keep them.
func Replay(records []Record, each func(State, Record)) {
	s := State{
		ReplicaSets: map[string]*appsv1.ReplicaSet{},
		Services:    map[string]*corev1.Service{},
		Rollouts:    map[string]*rolloutsv1alpha1.Rollout{},
	}
	for _, r := range records {
		switch obj := r.Object.(type) {
		case *appsv1.ReplicaSet:
			apply(s.ReplicaSets, obj, r.Deleted)
		case *corev1.Service:
			apply(s.Services, obj, r.Deleted)
		case *rolloutsv1alpha1.Rollout:
			apply(s.Rollouts, obj, r.Deleted)
		}
		each(s, r)
	}
}

func apply[T client.Object](objects map[string]T, obj T, deleted bool) {
	if deleted {
		delete(objects, obj.GetName())
	} else {
		objects[obj.GetName()] = obj
	}
}
