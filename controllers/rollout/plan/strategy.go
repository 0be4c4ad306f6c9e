package plan

import (
	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// ReleaseService hands a Service the Rollout steered back to its owner:
// the rollouts-pod-template-hash key leaves its selector and the
// managed-by annotation goes, so it selects what its own selector says
// again, every revision's pods.
type ReleaseService struct {
	Name string
}

func (a ReleaseService) String() string { return "release Service " + a.Name }

// releaseServices releases the Services this Rollout steers that its
// strategy no longer names, as Argo does: a Rollout switched from
// blue-green to canary leaves its old active Service pinned to a revision
// otherwise, and that revision's pods go away.
func (p *planner) releaseServices() {
	named := map[string]bool{}
	for _, name := range ServiceNames(p.ro) {
		named[name] = true
	}
	for _, svc := range p.obs.ManagedServices {
		if named[svc.Name] || !managedBy(svc, p.ro.Name) {
			continue
		}
		p.result.Actions = append(p.result.Actions, ReleaseService{Name: svc.Name})
	}
}

// forgetOtherStrategy clears the status a Rollout's previous strategy
// left, when it switched between canary and blue-green: Services and
// tools would read a blue-green active selector, or canary weights, that
// no longer mean anything.
func (p *planner) forgetOtherStrategy() {
	if p.ro.Spec.Strategy.BlueGreen != nil {
		p.status.Canary = rolloutsv1alpha1.CanaryStatus{}
		return
	}
	p.status.BlueGreen = rolloutsv1alpha1.BlueGreenStatus{}
}

// managedBy reports whether a Service carries a Rollout's managed-by
// annotation.
func managedBy(svc *corev1.Service, rollout string) bool {
	return svc.Annotations[rolloutsv1alpha1.ManagedByRolloutsKey] == rollout
}
