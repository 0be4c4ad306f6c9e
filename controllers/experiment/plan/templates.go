package plan

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	rolloutplan "github.com/sluicehq/sluice/controllers/rollout/plan"
	"github.com/sluicehq/sluice/internal/instance/inherit"
)

// ReplicaSetName is a template's ReplicaSet's name, as Argo names it.
func ReplicaSetName(ex *rolloutsv1alpha1.Experiment, template string) string {
	return ex.Name + "-" + template
}

// ownedBy reports whether the Experiment controls obj and obj's annotations
// name it: how Argo tells a template's ReplicaSet and Service apart from
// another experiment's of the same name.
func ownedBy(ex *rolloutsv1alpha1.Experiment, obj metav1.Object) (string, bool) {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.UID != ex.UID || obj.GetAnnotations()[rolloutsv1alpha1.ExperimentNameAnnotationKey] != ex.Name {
		return "", false
	}
	name := obj.GetAnnotations()[rolloutsv1alpha1.ExperimentTemplateNameAnnotationKey]
	return name, name != ""
}

// templateReplicaSets maps each template to its ReplicaSet. Of two that
// claim one template (which only a person can cause), the first by name
// is taken, so the choice is stable.
func templateReplicaSets(ex *rolloutsv1alpha1.Experiment, all []*appsv1.ReplicaSet) map[string]*appsv1.ReplicaSet {
	byTemplate := map[string]*appsv1.ReplicaSet{}
	for _, rs := range all {
		name, ok := ownedBy(ex, rs)
		if !ok {
			continue
		}
		if cur, taken := byTemplate[name]; taken && cur.Name < rs.Name {
			continue
		}
		byTemplate[name] = rs
	}
	return byTemplate
}

// NewReplicaSet builds a template's ReplicaSet as Argo does: the template's
// pods with the pod-template hash added to their labels and to the
// selector, the experiment and template named in annotations, and the
// Experiment as controller.
func NewReplicaSet(ex *rolloutsv1alpha1.Experiment, t *rolloutsv1alpha1.TemplateSpec, collisionCount *int32, replicas int32) *appsv1.ReplicaSet {
	pod := *t.Template.DeepCopy()
	delete(pod.Labels, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey)
	hash := rolloutplan.PodTemplateHash(&pod, collisionCount)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] = hash
	selector := t.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] = hash
	rsLabels := map[string]string{}
	for k, v := range pod.Labels {
		rsLabels[k] = v
	}
	// The ReplicaSet is in the Experiment's shard (its pods need not be):
	// the shard's manager caches only its shard's ReplicaSets.
	rsLabels = inherit.Shard(ex.Labels, rsLabels)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ReplicaSetName(ex, t.Name),
			Namespace: ex.Namespace,
			Labels:    rsLabels,
			Annotations: map[string]string{
				rolloutsv1alpha1.ExperimentNameAnnotationKey:         ex.Name,
				rolloutsv1alpha1.ExperimentTemplateNameAnnotationKey: t.Name,
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ex, Kind)},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        &replicas,
			MinReadySeconds: t.MinReadySeconds,
			Selector:        selector,
			Template:        pod,
		},
	}
}

// template plans one template: its ReplicaSet made or scaled, its Service,
// and its status (counts, Progressing / Running / Successful / Failed).
func (p *planner) template(t *rolloutsv1alpha1.TemplateSpec) {
	ts := rolloutsv1alpha1.TemplateStatus{Name: t.Name}
	if cur := templateStatus(&p.ex.Status, t.Name); cur != nil {
		ts = *cur.DeepCopy()
	}
	prev := *ts.DeepCopy()
	desired := p.desiredReplicas(t)

	rs := p.replicaSets[t.Name]
	if rs == nil {
		created := NewReplicaSet(p.ex, t, ts.CollisionCount, desired)
		p.act(CreateReplicaSet{ReplicaSet: created})
		if desired > 0 {
			p.event(false, "NewReplicaSetCreated", fmt.Sprintf("Created ReplicaSet %s with size %d", created.Name, desired))
		}
		ts.LastTransitionTime = &p.stamp
	} else {
		p.service(t, &ts, rs, desired)
		// A change of the count wanted restarts the template's clock, even
		// while a scale-down delay holds the pods (as in Argo, so a template
		// that ran for longer than the progress deadline is not failed for
		// still having pods when told to stop). Once the template finished,
		// the clock stays, so a delay does not rewrite status every pass.
		if p.scaleTo(t, rs, desired) || (specReplicas(rs) != desired && !ts.Status.Completed()) {
			ts.LastTransitionTime = &p.stamp
		}
	}

	ts.Replicas, ts.UpdatedReplicas, ts.ReadyReplicas, ts.AvailableReplicas = 0, 0, 0, 0
	if rs != nil {
		ts.Replicas = rs.Status.Replicas
		ts.UpdatedReplicas = rs.Status.Replicas
		ts.ReadyReplicas = rs.Status.ReadyReplicas
		ts.AvailableReplicas = rs.Status.AvailableReplicas
	}
	if prev.Replicas != ts.Replicas || prev.UpdatedReplicas != ts.UpdatedReplicas ||
		prev.ReadyReplicas != ts.ReadyReplicas || prev.AvailableReplicas != ts.AvailableReplicas {
		ts.LastTransitionTime = &p.stamp
	}

	// A template that finished stays finished.
	if !ts.Status.Completed() {
		passed, _ := passedDuration(p.ex, p.obs.Now)
		switch {
		case desired == ts.AvailableReplicas && (passed || p.terminating):
			ts.Status = rolloutsv1alpha1.TemplateStatusSuccessful
		case desired == ts.AvailableReplicas:
			ts.Status = rolloutsv1alpha1.TemplateStatusRunning
		case p.pastProgressDeadline(&ts):
			ts.Status = rolloutsv1alpha1.TemplateStatusFailed
			ts.Message = fmt.Sprintf("Template '%s' exceeded its progressDeadlineSeconds (%d)", t.Name, int(progressDeadline(p.ex).Seconds()))
		case p.terminating:
			// Stopped before its pods were all up: nothing failed.
			ts.Status = rolloutsv1alpha1.TemplateStatusSuccessful
		default:
			ts.Status = rolloutsv1alpha1.TemplateStatusProgressing
		}
	}
	if prev.Status != ts.Status {
		msg := fmt.Sprintf("Template '%s' transitioned from %s -> %s", t.Name, prev.Status, ts.Status)
		if ts.Message != "" {
			msg += ": " + ts.Message
		}
		warning := ts.Status == rolloutsv1alpha1.TemplateStatusFailed || ts.Status == rolloutsv1alpha1.TemplateStatusError
		p.event(warning, "Template"+string(ts.Status), msg)
	}
	setTemplateStatus(&p.status, ts)
}

// pastProgressDeadline reports whether a template has gone longer than
// progressDeadlineSeconds since its last change without reaching its count.
func (p *planner) pastProgressDeadline(ts *rolloutsv1alpha1.TemplateStatus) bool {
	from := p.obs.Now
	if ts.LastTransitionTime != nil {
		from = ts.LastTransitionTime.Time
	}
	return p.obs.Now.After(from.Add(progressDeadline(p.ex)))
}

// scaleTo scales a template's ReplicaSet to desired, reporting whether it
// did. Scaling to zero waits for the scale-down deadline, which the first
// pass that wants zero sets (scaleDownDelaySeconds from then): until it
// passes the pods keep running at the template's full count.
func (p *planner) scaleTo(t *rolloutsv1alpha1.TemplateSpec, rs *appsv1.ReplicaSet, desired int32) bool {
	current := specReplicas(rs)
	target := desired
	if desired == 0 {
		if deadline, ok := p.scaleDownDeadline(rs); ok && p.obs.Now.Before(deadline) {
			p.requeueIn(deadline.Sub(p.obs.Now))
			target = replicasOf(t)
		}
	}
	if current == target {
		return false
	}
	p.act(ScaleReplicaSet{Name: rs.Name, From: current, To: target})
	direction := "up"
	if target < current {
		direction = "down"
	}
	p.event(false, "ScalingReplicaSet", fmt.Sprintf("Scaled %s ReplicaSet %s from %d to %d", direction, rs.Name, current, target))
	return true
}

// scaleDownDeadline returns when a ReplicaSet that should have no pods may
// lose them: the deadline its annotation holds, or a new one set now. With
// scaleDownDelaySeconds zero there is none, and an old one is removed. An
// annotation that does not parse is no deadline, as in Argo.
func (p *planner) scaleDownDeadline(rs *appsv1.ReplicaSet) (time.Time, bool) {
	value, has := rs.Annotations[rolloutsv1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]
	delay := scaleDownDelay(p.ex)
	if delay == 0 {
		if has {
			p.act(SetScaleDownDeadline{Name: rs.Name})
		}
		return time.Time{}, false
	}
	if has {
		deadline, err := time.Parse(time.RFC3339, value)
		return deadline, err == nil
	}
	deadline := p.stamp.Add(delay).UTC()
	p.act(SetScaleDownDeadline{Name: rs.Name, Deadline: deadline.Format(time.RFC3339)})
	return deadline, true
}

// service keeps a template's Service: made, when the template asks for one,
// once the ReplicaSet exists (it selects the ReplicaSet's labels and serves
// its containers' ports), and removed once the template's pods are gone.
func (p *planner) service(t *rolloutsv1alpha1.TemplateSpec, ts *rolloutsv1alpha1.TemplateStatus, rs *appsv1.ReplicaSet, desired int32) {
	name := rs.Name
	if t.Service != nil && t.Service.Name != "" {
		name = t.Service.Name
	}
	svc, conflict := p.templateService(t.Name, name)
	if conflict {
		if t.Service != nil && desired != 0 {
			ts.Status = rolloutsv1alpha1.TemplateStatusError
			ts.Message = fmt.Sprintf("Service %s already exists and is not the Service of template '%s'", name, t.Name)
		}
		return
	}
	switch {
	case t.Service != nil && desired != 0:
		if svc != nil {
			ts.ServiceName, ts.PodTemplateHash = svc.Name, rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
			return
		}
		ports := servicePorts(rs)
		if len(ports) == 0 {
			return // as in Argo: a Service with no ports is not made
		}
		p.act(CreateService{Service: p.newService(t, name, rs, ports)})
		ts.ServiceName, ts.PodTemplateHash = name, rs.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey]
	case svc != nil && (t.Service == nil || rs.Status.AvailableReplicas == 0):
		p.act(DeleteService{Name: svc.Name})
		ts.ServiceName, ts.PodTemplateHash = "", ""
	}
}

// templateService finds the template's Service by name; conflict is set
// when a Service of that name belongs to something else.
func (p *planner) templateService(template, name string) (svc *corev1.Service, conflict bool) {
	for _, s := range p.obs.Services {
		if s.Name != name {
			continue
		}
		if owner, ok := ownedBy(p.ex, s); ok && owner == template {
			return s, false
		}
		return nil, true
	}
	return nil, false
}

func servicePorts(rs *appsv1.ReplicaSet) []corev1.ServicePort {
	var ports []corev1.ServicePort
	for _, c := range rs.Spec.Template.Spec.Containers {
		for _, port := range c.Ports {
			ports = append(ports, corev1.ServicePort{
				Name:       port.Name,
				Protocol:   port.Protocol,
				Port:       port.ContainerPort,
				TargetPort: intstr.FromInt32(port.ContainerPort),
			})
		}
	}
	return ports
}

func (p *planner) newService(t *rolloutsv1alpha1.TemplateSpec, name string, rs *appsv1.ReplicaSet, ports []corev1.ServicePort) *corev1.Service {
	selector := map[string]string{}
	for k, v := range rs.Labels {
		selector[k] = v
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: p.ex.Namespace,
			// In the Experiment's shard, as its other children are.
			Labels: inherit.Shard(p.ex.Labels, nil),
			Annotations: map[string]string{
				rolloutsv1alpha1.ExperimentNameAnnotationKey:         p.ex.Name,
				rolloutsv1alpha1.ExperimentTemplateNameAnnotationKey: t.Name,
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(p.ex, Kind)},
		},
		Spec: corev1.ServiceSpec{Selector: selector, Ports: ports},
	}
}

// ServiceNames are the names of the Services the Experiment's templates
// ask for, for the controller to look up.
func ServiceNames(ex *rolloutsv1alpha1.Experiment) []string {
	var names []string
	for _, t := range ex.Spec.Templates {
		name := ReplicaSetName(ex, t.Name)
		if t.Service != nil && t.Service.Name != "" {
			name = t.Service.Name
		}
		names = append(names, name)
	}
	return names
}

func specReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}
