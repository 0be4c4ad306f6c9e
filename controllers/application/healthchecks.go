package application

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/render"
)

// readChecks reads the health of spec.healthChecks' objects, as who the
// Application acts as: a tenant learns no more of an object than its
// account may read. A namespaced object that names no namespace is in the
// destination; under the namespace lock, only the destination's objects
// are read.
func (r *Reconciler) readChecks(ctx context.Context, app *gitopsv1alpha1.Application, destination, who string) []plan.Check {
	unknown := func(ref gitopsv1alpha1.ObjectRef, format string, args ...any) plan.Check {
		return plan.Check{Ref: ref, Health: gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthUnknown,
			Message: fmt.Sprintf(format, args...)}}
	}
	reader, readerErr := r.readerAs(who)
	checks := make([]plan.Check, 0, len(app.Spec.HealthChecks))
	for i, hc := range app.Spec.HealthChecks {
		gv, err := schema.ParseGroupVersion(hc.APIVersion)
		ref := gitopsv1alpha1.ObjectRef{Group: gv.Group, Version: gv.Version, Kind: hc.Kind, Namespace: hc.Namespace, Name: hc.Name}
		if err != nil {
			checks = append(checks, unknown(ref, "spec.healthChecks[%d].apiVersion: %v", i, err))
			continue
		}
		if readerErr != nil {
			checks = append(checks, unknown(ref, "%v", readerErr))
			continue
		}
		mapping, err := r.Mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: hc.Kind}, gv.Version)
		if err != nil {
			// A kind the cluster does not serve: nothing of it exists.
			checks = append(checks, plan.Check{Ref: ref, Health: gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthMissing,
				Message: fmt.Sprintf("the cluster serves no %s %s", hc.APIVersion, hc.Kind)}})
			continue
		}
		if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			ref.Namespace = ""
		} else if ref.Namespace == "" {
			ref.Namespace = destination
		}
		switch {
		case mapping.Scope.Name() == meta.RESTScopeNameNamespace && ref.Namespace == "":
			checks = append(checks, unknown(ref, "spec.healthChecks[%d] names no namespace and destination.namespace is empty", i))
			continue
		case r.Tenancy.locked(app) && ref.Namespace != destination:
			checks = append(checks, unknown(ref, "spec.healthChecks[%d]: only objects of namespace %s are read under the namespace lock", i, destination))
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(gv.WithKind(hc.Kind))
		err = reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, live)
		switch {
		case apierrors.IsNotFound(err):
			checks = append(checks, plan.Check{Ref: ref, Health: gitops.HealthOf(nil)})
		case err != nil:
			checks = append(checks, unknown(ref, "cannot read it: %v", err))
		default:
			checks = append(checks, plan.Check{Ref: ref, Health: gitops.HealthOf(live)})
		}
	}
	return checks
}

// postBuildVariables reads spec.postBuild's variables as who the
// Application acts as (see auth): a tenant cannot have a Secret it may
// not read substituted into objects it can then read.
func (r *Reconciler) postBuildVariables(ctx context.Context, app *gitopsv1alpha1.Application, who string) (*render.Variables, error) {
	if app.Spec.PostBuild == nil {
		return nil, nil
	}
	reader, err := r.readerAs(who)
	if err != nil {
		return nil, err
	}
	return gitops.ReadPostBuild(ctx, reader, app)
}
