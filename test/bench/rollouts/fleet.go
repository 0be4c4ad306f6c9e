package rollouts

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"golang.org/x/sync/errgroup"

	"github.com/sluicehq/sluice/test/builders"
)

// replicas is each Rollout's size.
const replicas = 2

// writers is how many of the fleet's objects are created or changed at
// once: the fleet's own client should not be what a phase waits on.
const writers = 16

// pollEvery is how often a wait lists the fleet.
const pollEvery = 2 * time.Second

// fleet is N Rollouts, each with a Service, in one namespace, written and
// read by the benchmark's own (admin) client, whose requests are not the
// controllers'.
type fleet struct {
	cl        client.Client
	namespace string
	size      int
	progress  io.Writer
}

func rolloutName(i int) string { return fmt.Sprintf("web-%04d", i) }

// rollout is one of the fleet: a plain canary (no traffic router) that
// sets the weight to 50, pauses a second, then goes to 100.
func (f fleet) rollout(i int, image string) *rolloutsv1alpha1.Rollout {
	return builders.Rollout(rolloutName(i)).Namespace(f.namespace).Replicas(replicas).Image(image).
		Canary(builders.SetWeight(50), builders.PauseFor(time.Second), builders.SetWeight(100)).
		Edit(func(ro *rolloutsv1alpha1.Rollout) {
			// The builder fills in what a server would, for objects of
			// unit tests; a created object gets its own.
			ro.UID, ro.Generation = "", 0
		}).Obj()
}

// createNamespace creates the fleet's namespace.
func (f fleet) createNamespace(ctx context.Context) error {
	return f.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.namespace}})
}

// create creates every Rollout and its Service.
func (f fleet) create(ctx context.Context, image string) error {
	return f.each(ctx, func(ctx context.Context, i int) error {
		if err := f.cl.Create(ctx, builders.Service(f.namespace, rolloutName(i), rolloutName(i))); err != nil {
			return err
		}
		return f.cl.Create(ctx, f.rollout(i, image))
	})
}

// setImage changes every Rollout's image, which starts a new revision.
func (f fleet) setImage(ctx context.Context, image string) error {
	patch := fmt.Appendf(nil, `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image)
	return f.each(ctx, func(ctx context.Context, i int) error {
		ro := &rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: rolloutName(i)}}
		return f.cl.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, patch))
	})
}

// each runs do for every index of the fleet, a few at a time.
func (f fleet) each(ctx context.Context, do func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(writers)
	for i := range f.size {
		g.Go(func() error { return do(ctx, i) })
	}
	return g.Wait()
}

// healthy reports whether a Rollout is done: its controller has seen its
// latest spec, calls it Healthy, and it runs exactly its replicas, all of
// them ready and of the current revision.
func healthy(ro *rolloutsv1alpha1.Rollout) bool {
	st := ro.Status
	return st.ObservedGeneration == strconv.FormatInt(ro.Generation, 10) &&
		st.Phase == rolloutsv1alpha1.RolloutPhaseHealthy &&
		st.Replicas == replicas && st.ReadyReplicas == replicas && st.UpdatedReplicas == replicas &&
		st.StableRS != "" && st.StableRS == st.CurrentPodHash
}

// describe says where a Rollout that is not done stands.
func describe(ro *rolloutsv1alpha1.Rollout) string {
	st := ro.Status
	return fmt.Sprintf("%s: phase %q, generation %d observed %q, %d/%d ready, %d updated, stable %q current %q",
		ro.Name, st.Phase, ro.Generation, st.ObservedGeneration, st.ReadyReplicas, replicas, st.UpdatedReplicas,
		st.StableRS, st.CurrentPodHash)
}

// waitUntil lists the fleet until done holds for all of it, and fails
// after timeout naming how many are not done and one of them. It returns
// the Rollouts as they were last listed.
func (f fleet) waitUntil(ctx context.Context, what string, timeout time.Duration,
	done func(*rolloutsv1alpha1.Rollout) bool) ([]rolloutsv1alpha1.Rollout, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		list        rolloutsv1alpha1.RolloutList
		notDone     int
		example     string
		lastPrinted time.Time
	)
	err := wait.PollUntilContextCancel(ctx, pollEvery, true, func(ctx context.Context) (bool, error) {
		if err := f.cl.List(ctx, &list, client.InNamespace(f.namespace)); err != nil {
			return false, nil //nolint:nilerr // a failed list is retried at the next poll
		}
		notDone, example = f.size-len(list.Items), ""
		for i := range list.Items {
			if !done(&list.Items[i]) {
				notDone++
				if example == "" {
					example = describe(&list.Items[i])
				}
			}
		}
		if time.Since(lastPrinted) > 15*time.Second && notDone > 0 {
			_, _ = fmt.Fprintf(f.progress, "      %s: %d of %d done\n", what, f.size-notDone, f.size)
			lastPrinted = time.Now()
		}
		return notDone == 0, nil
	})
	if err != nil {
		if ctx.Err() != nil && notDone > 0 {
			return nil, fmt.Errorf("%s: %d of %d Rollouts in %s not done after %s (%s)",
				what, notDone, f.size, f.namespace, timeout, example)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return list.Items, nil
}

// deleteNamespace deletes the fleet's namespace and waits until it is
// gone, so its pods free the fake nodes for the next fleet.
func (f fleet) deleteNamespace(ctx context.Context, timeout time.Duration) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.namespace}}
	if err := f.cl.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, pollEvery, true, func(ctx context.Context) (bool, error) {
		err := f.cl.Get(ctx, client.ObjectKeyFromObject(ns), ns)
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s not gone after %s: %w", f.namespace, timeout, err)
	}
	return nil
}
