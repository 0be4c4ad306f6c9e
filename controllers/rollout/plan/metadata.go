package plan

import (
	"encoding/json"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// EphemeralMetadataAnnotation records on a ReplicaSet the canaryMetadata or
// stableMetadata its pods carry, with Argo's name, so the next role change
// knows what to remove.
const EphemeralMetadataAnnotation = "rollout.argoproj.io/ephemeral-metadata"

// SyncPodMetadata moves a ReplicaSet's pods from one role's labels and
// annotations to another's: its pod template first (so new pods get them),
// then its existing pods, then the record in EphemeralMetadataAnnotation.
type SyncPodMetadata struct {
	ReplicaSet string
	From, To   *rolloutsv1alpha1.PodTemplateMetadata
}

func (a SyncPodMetadata) String() string {
	return "sync the role labels of ReplicaSet " + a.ReplicaSet + " and its pods"
}

// appliedMetadata is the role metadata a ReplicaSet's pods carry now.
func appliedMetadata(rs *appsv1.ReplicaSet) *rolloutsv1alpha1.PodTemplateMetadata {
	raw, ok := rs.Annotations[EphemeralMetadataAnnotation]
	if !ok {
		return nil
	}
	var md rolloutsv1alpha1.PodTemplateMetadata
	if err := json.Unmarshal([]byte(raw), &md); err != nil {
		return nil // unreadable: treated as none, and rewritten
	}
	return &md
}

// EncodeMetadata renders role metadata for EphemeralMetadataAnnotation.
func EncodeMetadata(md *rolloutsv1alpha1.PodTemplateMetadata) string {
	data, _ := json.Marshal(md) // two string maps always marshal
	return string(data)
}

// roleMetadata is the strategy's pod metadata for the revision being rolled
// out (canaryMetadata, previewMetadata) and for the stable one
// (stableMetadata, activeMetadata).
func (p *planner) roleMetadata() (updating, stable *rolloutsv1alpha1.PodTemplateMetadata) {
	if bg := p.ro.Spec.Strategy.BlueGreen; bg != nil {
		return bg.PreviewMetadata, bg.ActiveMetadata
	}
	canary := p.ro.Spec.Strategy.Canary
	return canary.CanaryMetadata, canary.StableMetadata
}

// syncRoleMetadata gives the new revision's pods the updating role's
// metadata and the stable's pods the stable role's, moving a ReplicaSet's
// pods to the stable set when it is promoted. As in Argo, a blue-green
// revision keeps previewMetadata until it is stable, also while its
// post-promotion analysis runs behind the active Service. It plans nothing
// for a Rollout that sets neither.
func (p *planner) syncRoleMetadata(promoted bool) {
	updating, stable := p.roleMetadata()
	if updating == nil && stable == nil && !p.anyApplied() {
		return
	}
	currentRole := updating
	if promoted {
		currentRole = stable
	}
	if p.current != nil {
		p.syncMetadataOf(p.current, currentRole)
	}
	if p.stable != nil {
		p.syncMetadataOf(p.stable, stable)
	}
}

func (p *planner) syncMetadataOf(rs *appsv1.ReplicaSet, want *rolloutsv1alpha1.PodTemplateMetadata) {
	have := appliedMetadata(rs)
	if emptyMetadata(have) && emptyMetadata(want) {
		return
	}
	if apiequality.Semantic.DeepEqual(have, want) {
		return
	}
	p.result.Actions = append(p.result.Actions, SyncPodMetadata{ReplicaSet: rs.Name, From: have, To: want})
}

func (p *planner) anyApplied() bool {
	for _, rs := range []*appsv1.ReplicaSet{p.current, p.stable} {
		if rs != nil && !emptyMetadata(appliedMetadata(rs)) {
			return true
		}
	}
	return false
}

func emptyMetadata(md *rolloutsv1alpha1.PodTemplateMetadata) bool {
	return md == nil || (len(md.Labels) == 0 && len(md.Annotations) == 0)
}

// withRoleMetadata adds role metadata to pod-template metadata maps.
func withRoleMetadata(labels, annotations map[string]string, md *rolloutsv1alpha1.PodTemplateMetadata) (map[string]string, map[string]string) {
	if md == nil {
		return labels, annotations
	}
	labels, annotations = copyMap(labels), copyMap(annotations)
	for k, v := range md.Labels {
		labels[k] = v
	}
	for k, v := range md.Annotations {
		annotations[k] = v
	}
	return labels, annotations
}

// withoutRoleMetadata removes the role metadata a ReplicaSet recorded from
// its pod-template maps, to compare the template with the Rollout's.
func withoutRoleMetadata(labels, annotations map[string]string, md *rolloutsv1alpha1.PodTemplateMetadata) (map[string]string, map[string]string) {
	if md == nil {
		return labels, annotations
	}
	labels, annotations = copyMap(labels), copyMap(annotations)
	for k := range md.Labels {
		delete(labels, k)
	}
	for k := range md.Annotations {
		delete(annotations, k)
	}
	return labels, annotations
}
