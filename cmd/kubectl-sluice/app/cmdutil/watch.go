package cmdutil

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Watched is what a wait watches: kinds, as their lists, and the options
// of every watch (the namespace, a field selector).
type Watched struct {
	Lists   []client.ObjectList
	Options []client.ListOption
}

// Named watches one object of kind list by its name in namespace.
func Named(list client.ObjectList, namespace, name string) Watched {
	return Watched{Lists: []client.ObjectList{list},
		Options: []client.ListOption{client.InNamespace(namespace), client.MatchingFields{"metadata.name": name}}}
}

// Until calls check now and again whenever a watched object changes,
// until check is done or fails, or ctx ends (its error). check reads what
// it needs afresh: a change only says when to look.
func Until(ctx context.Context, cl client.WithWatch, watched Watched, check func(context.Context) (done bool, err error)) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	changed := make(chan struct{}, 1)
	failed := make(chan error, len(watched.Lists))
	for _, list := range watched.Lists {
		go watchChanges(ctx, cl, list, watched.Options, changed, failed)
	}
	for {
		done, err := check(ctx)
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return err
		case <-changed:
		}
	}
}

// lasting reports whether a watch that could not start never will by
// trying again: the user may not watch the kind, or the API server does
// not serve it.
func lasting(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err) ||
		apierrors.IsMethodNotSupported(err) || apierrors.IsBadRequest(err) || apierrors.IsInvalid(err) || meta.IsNoMatchError(err)
}

// retryAfter is how long a watch that could not start waits before it
// tries again.
const retryAfter = time.Second

// watchChanges signals changed on every event of a watch of list's kind,
// and watches again whenever the watch ends (the API server ends watches
// after a while, and on a resource version it no longer has), until ctx
// ends. A watch starts with an event for every object that exists, so
// nothing that changed in between is missed. A watch that cannot start
// is tried again after retryAfter, unless trying again cannot help: that
// error goes to failed. A kind the user may read but not watch is looked
// at each retryAfter instead.
func watchChanges(ctx context.Context, cl client.WithWatch, list client.ObjectList, opts []client.ListOption,
	changed chan<- struct{}, failed chan<- error) {
	signal := func() {
		select {
		case changed <- struct{}{}:
		default: // a change is waiting to be looked at already
		}
	}
	for ctx.Err() == nil {
		w, err := cl.Watch(ctx, list.DeepCopyObject().(client.ObjectList), opts...)
		if apierrors.IsForbidden(err) {
			// Someone who may get but not watch still gets an answer, as
			// the plugin gave before it watched: by looking each second.
			poll(ctx, signal)
			return
		}
		if err != nil && lasting(err) {
			failed <- fmt.Errorf("watching: %w", err)
			return
		}
		started := time.Now()
		if err == nil {
			for event := range w.ResultChan() {
				if event.Type == watch.Error {
					break // watch again, from now
				}
				signal()
			}
			w.Stop()
		}
		// A watch that failed, or ended at once, is not started again at
		// once: the API server would be asked in a tight loop.
		if time.Since(started) < retryAfter {
			select {
			case <-ctx.Done():
			case <-time.After(retryAfter):
			}
		}
	}
}

// poll signals a change each retryAfter until ctx ends.
func poll(ctx context.Context, signal func()) {
	ticker := time.NewTicker(retryAfter)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			signal()
		}
	}
}
