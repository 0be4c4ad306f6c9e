// Package apiwait holds the manager back until the API server serves the
// custom resources its controllers need.
//
// A chart or `kubectl apply -k` creates the CRDs and the manager together,
// so the manager may start a moment before its CRDs are established. Rather
// than exit with "no matches for kind", it waits, not ready, and says which
// resources it waits for.
package apiwait

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Missing lists the resources of required that the API server does not
// serve. Discovery lists a CRD's resource only once the CRD is established,
// and needs no RBAC beyond what every authenticated user has.
func Missing(d discovery.DiscoveryInterface, required []schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	served := map[schema.GroupVersion][]string{}
	var missing []schema.GroupVersionResource
	for _, gvr := range required {
		gv := gvr.GroupVersion()
		names, looked := served[gv]
		if !looked {
			list, err := d.ServerResourcesForGroupVersion(gv.String())
			switch {
			case apierrors.IsNotFound(err):
				// The group or version is not served at all yet.
			case err != nil:
				return nil, fmt.Errorf("discovering %s: %w", gv, err)
			default:
				for _, r := range list.APIResources {
					names = append(names, r.Name)
				}
			}
			served[gv] = names
		}
		if !slices.Contains(names, gvr.Resource) {
			missing = append(missing, gvr)
		}
	}
	return missing, nil
}

// Describe names resources as CRDs are named: rollouts.argoproj.io/v1alpha1.
func Describe(resources []schema.GroupVersionResource) string {
	names := make([]string, 0, len(resources))
	for _, r := range resources {
		names = append(names, r.Resource+"."+r.Group+"/"+r.Version)
	}
	return strings.Join(names, ", ")
}

// Until polls discovery every interval until every required resource is
// served, calling waiting each time what is missing changes (and with nil
// when nothing is). A discovery error is passed to waiting's caller through
// failed and retried: the API server may itself be starting. It returns the
// context's error when the context ends first.
func Until(ctx context.Context, d discovery.DiscoveryInterface, required []schema.GroupVersionResource,
	interval time.Duration, waiting func(missing []schema.GroupVersionResource), failed func(error)) error {
	var last []schema.GroupVersionResource
	first := true
	for {
		missing, err := Missing(d, required)
		switch {
		case err != nil:
			failed(err)
		case len(missing) == 0:
			if !first {
				waiting(nil)
			}
			return nil
		case first || !slices.Equal(missing, last):
			waiting(missing)
			last, first = missing, false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
