package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// SyncRequest is a request for a sync: the value of
// SyncRequestAnnotation that asks for it, and when it was asked, to the
// second, as a sync's history records when it happened.
type SyncRequest struct {
	Value string
	At    time.Time
}

// NewSyncRequest is a request made now.
func NewSyncRequest(now time.Time) SyncRequest {
	now = now.UTC()
	return SyncRequest{Value: now.Format(time.RFC3339Nano), At: now.Truncate(time.Second)}
}

// Outcome says whether the Application a has carried out the request: done
// once it recorded it as handled, an error when a sync since it was asked
// failed.
func (r SyncRequest) Outcome(a *gitopsv1alpha1.Application) (done bool, err error) {
	if a.Status.LastHandledSyncRequest == r.Value {
		return true, nil
	}
	if len(a.Status.History) > 0 && a.Status.History[0].Result == "Failed" && !a.Status.History[0].DeployedAt.Time.Before(r.At) {
		return false, fmt.Errorf("the sync failed: %s", a.Status.History[0].Message)
	}
	return false, nil
}

// Await waits, on a watch of the Application, until it has carried out
// the request, and leaves it in a as it was then; a sync that failed since
// is an error, and so is ctx ending first (timeout is what it says).
func (r SyncRequest) Await(ctx context.Context, cl client.WithWatch, a *gitopsv1alpha1.Application, timeout time.Duration) error {
	key := client.ObjectKeyFromObject(a)
	err := Until(ctx, cl, Named(&gitopsv1alpha1.ApplicationList{}, key.Namespace, key.Name), func(ctx context.Context) (bool, error) {
		if err := cl.Get(ctx, key, a); err != nil {
			return false, err
		}
		return r.Outcome(a)
	})
	if errors.Is(err, context.DeadlineExceeded) || (err != nil && ctx.Err() != nil) {
		return fmt.Errorf("no sync within %s", timeout)
	}
	return err
}
