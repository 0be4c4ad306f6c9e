// Package plugin is the pure part of `kubectl sluice`: the patches each
// steering command sends, which are exactly those Argo Rollouts' kubectl
// plugin sends, so both plugins can steer the same Rollouts; and the text
// views of rollouts and applications.
package plugin

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/sluicehq/sluice/internal/rolloutmeta"
)

// Patches are the JSON merge patches of one command: Spec to the Rollout,
// Status to its status subresource. Either may be nil.
type Patches struct {
	Spec, Status []byte
}

// Promote is `promote`: past a pause, or past the current step when the
// rollout waits at no pause (an analysis, an experiment), or past an
// inconclusive analysis; with full, to the end at once.
func Promote(ro *rolloutsv1alpha1.Rollout, full bool) Patches {
	var p Patches
	if ro.Spec.Paused {
		p.Spec = []byte(`{"spec":{"paused":false}}`)
	}
	if full {
		if ro.Status.CurrentPodHash != ro.Status.StableRS {
			p.Status = []byte(`{"status":{"promoteFull":true}}`)
		}
		return p
	}
	next := func() int32 {
		index := int32(0)
		if ro.Status.CurrentStepIndex != nil {
			index = *ro.Status.CurrentStepIndex
		}
		if ro.Spec.Strategy.Canary != nil && index < int32(len(ro.Spec.Strategy.Canary.Steps)) {
			index++
		}
		return index
	}
	canary := ro.Spec.Strategy.Canary
	inconclusive := canary != nil && ro.Status.Canary.CurrentStepAnalysisRunStatus != nil &&
		ro.Status.Canary.CurrentStepAnalysisRunStatus.Status == rolloutsv1alpha1.AnalysisPhaseInconclusive
	switch {
	case inconclusive && len(ro.Status.PauseConditions) > 0 && ro.Status.ControllerPause:
		p.Status = fmt.Appendf(nil, `{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":%d}}`, next())
	case len(ro.Status.PauseConditions) > 0:
		p.Status = []byte(`{"status":{"pauseConditions":null}}`)
	case canary != nil && len(canary.Steps) > 0:
		p.Status = fmt.Appendf(nil, `{"status":{"pauseConditions":null, "currentStepIndex":%d}}`, next())
	}
	return p
}

// Steering is a command that steers a Rollout with patches alone, as
// `kubectl sluice` and the dashboard both send it: its verb, what it says
// once done ("rollout 'shop' aborted", as Argo's plugin says it), and its
// patches for the Rollout as it is, at now.
type Steering struct {
	Verb, Done string
	Patches    func(ro *rolloutsv1alpha1.Rollout, now time.Time) Patches
}

// The steering commands.
var (
	SteerPromote     = Steering{"promote", "promoted", func(ro *rolloutsv1alpha1.Rollout, _ time.Time) Patches { return Promote(ro, false) }}
	SteerPromoteFull = Steering{"promote-full", "promoted", func(ro *rolloutsv1alpha1.Rollout, _ time.Time) Patches { return Promote(ro, true) }}
	SteerAbort       = Steering{"abort", "aborted", func(*rolloutsv1alpha1.Rollout, time.Time) Patches { return Abort() }}
	SteerRetry       = Steering{"retry", "retried", func(*rolloutsv1alpha1.Rollout, time.Time) Patches { return Retry() }}
	SteerPause       = Steering{"pause", "paused", func(*rolloutsv1alpha1.Rollout, time.Time) Patches { return Pause() }}
	SteerResume      = Steering{"resume", "resumed", func(*rolloutsv1alpha1.Rollout, time.Time) Patches { return Resume() }}
	SteerRestart     = Steering{"restart", "restarts", func(_ *rolloutsv1alpha1.Rollout, now time.Time) Patches { return Restart(now) }}
)

// Steerings are the steering commands by verb.
var Steerings = map[string]Steering{}

func init() {
	for _, s := range []Steering{SteerPromote, SteerPromoteFull, SteerAbort, SteerRetry, SteerPause, SteerResume, SteerRestart} {
		Steerings[s.Verb] = s
	}
}

// Send sends the patches through patch, the status patch first, in the
// order Argo's plugin sends them; status says which of the two a call is.
func (p Patches) Send(patch func(status bool, data []byte) error) error {
	if p.Status != nil {
		if err := patch(true, p.Status); err != nil {
			return err
		}
	}
	if p.Spec != nil {
		return patch(false, p.Spec)
	}
	return nil
}

// Abort is `abort`: back to stable.
func Abort() Patches { return Patches{Status: []byte(`{"status":{"abort":true}}`)} }

// Retry is `retry`: an aborted rollout starts its steps over.
func Retry() Patches { return Patches{Status: []byte(`{"status":{"abort":false}}`)} }

// Pause is `pause`: the steps hold and the pods stay as they are.
func Pause() Patches { return Patches{Spec: []byte(`{"spec":{"paused":true}}`)} }

// Resume is `resume`: the steps go on after a pause.
func Resume() Patches { return Patches{Spec: []byte(`{"spec":{"paused":false}}`)} }

// Restart is `restart`: every pod older than at is replaced.
func Restart(at time.Time) Patches {
	return Patches{Spec: fmt.Appendf(nil, `{"spec":{"restartAt":%q}}`, at.UTC().Format(time.RFC3339))}
}

// Undo is `undo`: the Rollout's template becomes that of an earlier
// revision's ReplicaSet (the one before the current by default), without
// its pod-template-hash label, by the same JSON patch Argo's plugin sends.
// It says so when the template already is that revision's.
func Undo(ro *rolloutsv1alpha1.Rollout, replicaSets []*appsv1.ReplicaSet, toRevision int64) (patch []byte, message string, err error) {
	byRevision := map[int64]*appsv1.ReplicaSet{}
	var revisions []int64
	for _, rs := range replicaSets {
		n, err := strconv.ParseInt(rs.Annotations[rolloutmeta.RevisionAnnotation], 10, 64)
		if err != nil {
			continue
		}
		byRevision[n] = rs
		revisions = append(revisions, n)
	}
	sort.Slice(revisions, func(i, j int) bool { return revisions[i] > revisions[j] })
	if toRevision == 0 {
		if len(revisions) < 2 {
			return nil, "", fmt.Errorf("rollout %s has no revision before the current one", ro.Name)
		}
		toRevision = revisions[1]
	}
	rs, ok := byRevision[toRevision]
	if !ok {
		return nil, "", fmt.Errorf("rollout %s has no revision %d; it has %v", ro.Name, toRevision, revisions)
	}
	template := rs.Spec.Template.DeepCopy()
	delete(template.Labels, rolloutsv1alpha1.DefaultRolloutUniqueLabelKey)
	if apiequality.Semantic.DeepEqual(template, &ro.Spec.Template) {
		return nil, fmt.Sprintf("skipped rollback (current template already matches revision %d)", toRevision), nil
	}
	patch, err = json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": template}})
	return patch, fmt.Sprintf("rollout '%s' undo", ro.Name), err
}

// SetImage is `set image`: a JSON patch that sets the image of the named
// container (init, regular or ephemeral), or of every container for "*",
// touching nothing else; each write is guarded by a test of the
// container's name.
func SetImage(ro *rolloutsv1alpha1.Rollout, container, image string) ([]byte, error) {
	var ops []map[string]any
	spec := ro.Spec.Template.Spec
	lists := []struct {
		field string
		names []string
	}{{"initContainers", names(spec.InitContainers)}, {"containers", names(spec.Containers)}, {"ephemeralContainers", ephemeralNames(spec.EphemeralContainers)}}
	for _, list := range lists {
		for i, name := range list.names {
			if container != "*" && name != container {
				continue
			}
			at := fmt.Sprintf("/spec/template/spec/%s/%d", list.field, i)
			ops = append(ops, map[string]any{"op": "test", "path": at + "/name", "value": name},
				map[string]any{"op": "replace", "path": at + "/image", "value": image})
		}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("rollout %s has no container %q", ro.Name, container)
	}
	return json.Marshal(ops)
}

func names(cs []corev1.Container) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func ephemeralNames(cs []corev1.EphemeralContainer) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// Terminate is `terminate analysisrun`: the run stops measuring.
func Terminate() []byte { return []byte(`{"spec":{"terminate":true}}`) }
