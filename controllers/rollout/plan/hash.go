package plan

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// PodTemplateHash is the value of the rollouts-pod-template-hash label for a
// pod template: the FNV-1a hash of the template's JSON (and of the collision
// count, when there is one), encoded with apimachinery's safe alphabet. It is
// the hash Argo Rollouts computes, so ReplicaSets that Argo created are found
// under the same name and adopted rather than replaced.
func PodTemplateHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	data, err := json.Marshal(template)
	if err != nil {
		// A PodTemplateSpec always marshals; anything else is a bug.
		panic(fmt.Sprintf("marshalling a pod template: %v", err))
	}
	_, _ = h.Write(data)
	if collisionCount != nil {
		buf := make([]byte, 8)
		binary.LittleEndian.PutUint32(buf, uint32(*collisionCount))
		_, _ = h.Write(buf)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// StepsHash identifies a list of canary steps, for status.currentStepHash:
// when the steps change, the rollout starts them over.
func StepsHash(steps []rolloutsv1alpha1.CanaryStep) string {
	h := fnv.New32a()
	data, err := json.Marshal(steps)
	if err != nil {
		panic(fmt.Sprintf("marshalling canary steps: %v", err))
	}
	_, _ = h.Write(data)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}
