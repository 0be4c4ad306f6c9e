package application

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/ssa"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/render"
)

// execute carries out a plan's actions in order, stopping at the first that
// fails, and says what they did.
func (r *Reconciler) execute(ctx context.Context, o *observed, d plan.Decision) plan.Outcome {
	var out plan.Outcome
	timeout := plan.Timeout(o.App)
	revision := gitops.Short(o.Revision)
	for _, a := range d.Actions {
		var err error
		reason := "ApplyFailed"
		switch a.Kind {
		case plan.CreateNamespace:
			ns := &unstructured.Unstructured{}
			ns.SetAPIVersion("v1")
			ns.SetKind("Namespace")
			ns.SetName(a.Namespace)
			_, err = o.syncer.Apply(ctx, []*unstructured.Unstructured{ns}, gitops.ApplyOptions{Timeout: timeout})
		case plan.ApplyObjects:
			var changed int
			changed, err = r.apply(ctx, o, a.Objects, timeout)
			out.Changed += changed
		case plan.DeleteHooks:
			reason = "HookFailed"
			err = o.syncer.Delete(ctx, a.Objects, timeout)
		case plan.PruneObjects:
			reason = "PruneFailed"
			var kept []gitopsv1alpha1.ObjectRef
			var pruned int
			kept, pruned, err = o.syncer.Prune(ctx, a.Objects, o.App, a.Propagation)
			out.Kept = append(out.Kept, kept...)
			out.Pruned += pruned
		}
		if err != nil {
			out.Failure = &plan.Failure{Reason: reason, Message: render.Redact(fmt.Sprintf("revision %s: %s", revision, err), o.sensitive)}
			return out
		}
	}
	return out
}

// apply applies objects: the ones the cluster is known not to hold are
// created with one request each, and their watch events are expected; the
// others go through the apply engine, which writes only what drifted.
// Definitions (CRDs, namespaces) always go through the engine, which waits
// for them before the objects that need them.
func (r *Reconciler) apply(ctx context.Context, o *observed, refs []gitopsv1alpha1.ObjectRef, timeout time.Duration) (int, error) {
	var create, update []*unstructured.Unstructured
	for _, ref := range refs {
		u := o.desired[refKey(ref)]
		if u == nil {
			return 0, fmt.Errorf("%s %s is not rendered", ref.Kind, ref.Name)
		}
		if o.missing[refKey(ref)] && !ssautil.IsClusterDefinition(u) {
			create = append(create, u)
		} else {
			update = append(update, u)
		}
	}
	changed := 0
	if len(update) > 0 {
		changes, err := o.syncer.Apply(ctx, update, gitops.ApplyOptions{Timeout: timeout, Ignore: o.ignore, Options: o.options,
			RespectIgnoreDifferences: o.respect})
		if err != nil {
			return changed, err
		}
		for _, e := range changes.Entries {
			if e.Action != ssa.UnchangedAction && e.Action != ssa.SkippedAction {
				changed++
			}
		}
	}
	for _, u := range create {
		o.watches.expectCreate(gitops.RefOf(u))
	}
	versions, err := o.syncer.Create(ctx, create)
	for i, u := range create {
		version := ""
		if i < len(versions) {
			version = versions[i]
		}
		o.watches.created(gitops.RefOf(u), version)
		if version != "" {
			changed++
		}
	}
	return changed, err
}
