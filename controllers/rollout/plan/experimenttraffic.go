package plan

import (
	"slices"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sluicehq/sluice/traffic"
)

// experimentDestinations are the experiment Services the routes should
// send a share of the traffic to now, as Argo's traffic routing does: while
// the rollout is at an experiment step whose Experiment is Running, each
// template with a weight whose Service the Experiment's status names and
// whose pods are available gets its weight. None once the rollout is
// aborted, promoted or fully promoted, or has left the step (its
// Experiment is then terminated).
func (p *planner) experimentDestinations(promoted bool) []traffic.Destination {
	steps := p.steps()
	index := p.stepIndex()
	if p.routing == nil || promoted || p.status.Abort || p.status.PromoteFull || index >= int32(len(steps)) {
		return nil
	}
	step := steps[index].Experiment
	if step == nil {
		return nil
	}
	ex := p.stepExperiment(index)
	if ex == nil || ex.Spec.Terminate || ex.Status.Phase != rolloutsv1alpha1.AnalysisPhaseRunning {
		return nil
	}
	var out []traffic.Destination
	for _, t := range step.Templates {
		if t.Weight == nil {
			continue
		}
		status := templateStatus(ex, t.Name)
		if status == nil || status.ServiceName == "" || status.AvailableReplicas == 0 {
			continue
		}
		out = append(out, traffic.Destination{
			Service: status.ServiceName, Weight: *t.Weight,
			Ports: p.experimentPorts(templateSpec(ex, t.Name)),
		})
	}
	return out
}

// experimentServices are the Services of the Rollout's Experiments that
// may be in the routes: those their statuses name, and those the last
// status.canary.weights.additional recorded (an Experiment pruned since
// leaves its Service's name there). Any of them not wanted now is taken
// out of the routes.
func (p *planner) experimentServices() []string {
	var names []string
	add := func(name string) {
		if name != "" && name != p.routing.CanaryService && name != p.routing.StableService && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if w := p.ro.Status.Canary.Weights; w != nil {
		for _, d := range w.Additional {
			add(d.ServiceName)
		}
	}
	for _, ex := range p.obs.Experiments {
		for _, s := range ex.Status.TemplateStatuses {
			add(s.ServiceName)
		}
	}
	return names
}

// experimentHash is the pod template hash of the experiment template
// whose Service is named, for status.canary.weights.additional.
func (p *planner) experimentHash(service string) string {
	for _, ex := range p.obs.Experiments {
		for _, s := range ex.Status.TemplateStatuses {
			if s.ServiceName == service {
				return s.PodTemplateHash
			}
		}
	}
	return ""
}

// experimentPorts maps each port of the canary Service to the port an
// experiment template's Service serves the same container port on: the
// Experiment's Service has one port per container port, numbered as the
// container port, where the canary Service may number it otherwise (port
// 80 to targetPort 8080). A route's backendRef names the canary's port; the
// experiment's backendRef must name the experiment Service's.
func (p *planner) experimentPorts(template *rolloutsv1alpha1.TemplateSpec) map[int32]int32 {
	svc := p.obs.Services[p.routing.CanaryService]
	if svc == nil || template == nil {
		return nil
	}
	ports := map[int32]int32{}
	for _, sp := range svc.Spec.Ports {
		if port, ok := containerPort(template.Template.Spec, sp); ok {
			ports[sp.Port] = port
		}
	}
	return ports
}

// containerPort is the container port of a pod spec a Service port
// targets: by number, by name, or, with no targetPort, its own number.
func containerPort(spec corev1.PodSpec, sp corev1.ServicePort) (int32, bool) {
	for _, c := range spec.Containers {
		for _, cp := range c.Ports {
			switch {
			case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
				if cp.Name == sp.TargetPort.StrVal {
					return cp.ContainerPort, true
				}
			case sp.TargetPort.IntVal != 0:
				if cp.ContainerPort == sp.TargetPort.IntVal {
					return cp.ContainerPort, true
				}
			case cp.ContainerPort == sp.Port:
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

func templateStatus(ex *rolloutsv1alpha1.Experiment, name string) *rolloutsv1alpha1.TemplateStatus {
	for i := range ex.Status.TemplateStatuses {
		if ex.Status.TemplateStatuses[i].Name == name {
			return &ex.Status.TemplateStatuses[i]
		}
	}
	return nil
}

func templateSpec(ex *rolloutsv1alpha1.Experiment, name string) *rolloutsv1alpha1.TemplateSpec {
	for i := range ex.Spec.Templates {
		if ex.Spec.Templates[i].Name == name {
			return &ex.Spec.Templates[i]
		}
	}
	return nil
}
