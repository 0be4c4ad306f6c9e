package plugin

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/sluicehq/sluice/internal/rolloutmeta"
	"github.com/sluicehq/sluice/test/builders"
)

func TestPromote(t *testing.T) {
	steps := []rolloutsv1alpha1.CanaryStep{builders.SetWeight(20), builders.Pause(), builders.SetWeight(100)}
	at := func(index int32, edit func(*rolloutsv1alpha1.Rollout)) *rolloutsv1alpha1.Rollout {
		ro := builders.Rollout("web").Canary(steps...).Obj()
		ro.Status.CurrentStepIndex = ptr.To(index)
		ro.Status.CurrentPodHash, ro.Status.StableRS = "new", "old"
		if edit != nil {
			edit(ro)
		}
		return ro
	}
	blueGreen := func(edit func(*rolloutsv1alpha1.Rollout)) *rolloutsv1alpha1.Rollout {
		ro := builders.Rollout("web").BlueGreen("web", "web-preview").Obj()
		ro.Status.CurrentPodHash, ro.Status.StableRS = "new", "old"
		if edit != nil {
			edit(ro)
		}
		return ro
	}
	paused := func(ro *rolloutsv1alpha1.Rollout) {
		ro.Status.PauseConditions = []rolloutsv1alpha1.PauseCondition{{Reason: rolloutsv1alpha1.PauseReasonCanaryPauseStep}}
		ro.Status.ControllerPause = true
	}
	tests := []struct {
		name         string
		ro           *rolloutsv1alpha1.Rollout
		full         bool
		spec, status string
	}{
		{"at a pause: clear it", at(1, paused), false, "", `{"status":{"pauseConditions":null}}`},
		{"waiting at no pause: the next step", at(0, nil), false, "", `{"status":{"pauseConditions":null, "currentStepIndex":1}}`},
		{"past an inconclusive analysis", at(1, func(ro *rolloutsv1alpha1.Rollout) {
			paused(ro)
			ro.Status.Canary.CurrentStepAnalysisRunStatus = &rolloutsv1alpha1.RolloutAnalysisRunStatus{Status: rolloutsv1alpha1.AnalysisPhaseInconclusive}
		}), false, "", `{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":2}}`},
		{"paused by a person too", at(1, func(ro *rolloutsv1alpha1.Rollout) { paused(ro); ro.Spec.Paused = true }), false,
			`{"spec":{"paused":false}}`, `{"status":{"pauseConditions":null}}`},
		{"full", at(1, paused), true, "", `{"status":{"promoteFull":true}}`},
		{"full, already promoted", at(3, func(ro *rolloutsv1alpha1.Rollout) { ro.Status.StableRS = "new" }), true, "", ""},
		{"blue-green at its pause: clear it", blueGreen(func(ro *rolloutsv1alpha1.Rollout) {
			ro.Status.PauseConditions = []rolloutsv1alpha1.PauseCondition{{Reason: rolloutsv1alpha1.PauseReasonBlueGreenPause}}
			ro.Status.ControllerPause = true
		}), false, "", `{"status":{"pauseConditions":null}}`},
		{"blue-green waiting for its analysis: nothing to skip", blueGreen(nil), false, "", ""},
		{"blue-green full", blueGreen(nil), true, "", `{"status":{"promoteFull":true}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Promote(tt.ro, tt.full)
			if string(p.Spec) != tt.spec || string(p.Status) != tt.status {
				t.Errorf("Promote = spec %s, status %s; want spec %s, status %s", p.Spec, p.Status, tt.spec, tt.status)
			}
		})
	}
}

func TestSimplePatches(t *testing.T) {
	for name, tc := range map[string]struct {
		got  Patches
		want Patches
	}{
		"abort":   {Abort(), Patches{Status: []byte(`{"status":{"abort":true}}`)}},
		"retry":   {Retry(), Patches{Status: []byte(`{"status":{"abort":false}}`)}},
		"pause":   {Pause(), Patches{Spec: []byte(`{"spec":{"paused":true}}`)}},
		"resume":  {Resume(), Patches{Spec: []byte(`{"spec":{"paused":false}}`)}},
		"restart": {Restart(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)), Patches{Spec: []byte(`{"spec":{"restartAt":"2026-11-26T12:00:00Z"}}`)}},
	} {
		if string(tc.got.Spec) != string(tc.want.Spec) || string(tc.got.Status) != string(tc.want.Status) {
			t.Errorf("%s = %s / %s; want %s / %s", name, tc.got.Spec, tc.got.Status, tc.want.Spec, tc.want.Status)
		}
	}
}

func TestUndo(t *testing.T) {
	ro := builders.Rollout("web").Image("app:v3").Obj()
	rs := func(revision, image string) *appsv1.ReplicaSet {
		r := &appsv1.ReplicaSet{}
		r.Annotations = map[string]string{rolloutmeta.RevisionAnnotation: revision}
		r.Spec.Template = *ro.Spec.Template.DeepCopy()
		r.Spec.Template.Labels[rolloutsv1alpha1.DefaultRolloutUniqueLabelKey] = "h" + revision
		r.Spec.Template.Spec.Containers[0].Image = image
		return r
	}
	rss := []*appsv1.ReplicaSet{rs("1", "app:v1"), rs("3", "app:v3"), rs("2", "app:v2")}

	patch, _, err := Undo(ro, rss, 0)
	if err != nil || !strings.Contains(string(patch), `"image":"app:v2"`) || strings.Contains(string(patch), "hv2") ||
		!strings.HasPrefix(string(patch), `[{"op":"replace","path":"/spec/template","value":`) {
		t.Fatalf("to the previous revision: %s, %v", patch, err)
	}
	if patch, _, _ := Undo(ro, rss, 1); !strings.Contains(string(patch), `"image":"app:v1"`) {
		t.Fatalf("to revision 1: %s", patch)
	}
	if patch, msg, err := Undo(ro, rss, 3); patch != nil || err != nil || !strings.Contains(msg, "skipped rollback") {
		t.Fatalf("to the current revision: %s, %q, %v", patch, msg, err)
	}
	if _, _, err := Undo(ro, rss, 9); err == nil || !strings.Contains(err.Error(), "no revision 9") {
		t.Fatalf("to a revision that is not there: %v", err)
	}
}

func TestSetImage(t *testing.T) {
	ro := builders.Rollout("web").Obj()
	ro.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
	got, err := SetImage(ro, "app", "app:v9")
	want := `[{"op":"test","path":"/spec/template/spec/containers/0/name","value":"app"},{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"app:v9"}]`
	if err != nil || string(got) != want {
		t.Fatalf("SetImage = %s, %v; want %s", got, err, want)
	}
	if got, _ := SetImage(ro, "*", "x"); strings.Count(string(got), `"replace"`) != 2 {
		t.Fatalf("every container: %s", got)
	}
	if _, err := SetImage(ro, "nope", "x"); err == nil {
		t.Fatal("a container that is not there")
	}
}

// The steering commands send their status patch before their spec patch,
// as Argo's plugin does, and stop at the first refusal.
func TestPatchesSend(t *testing.T) {
	var sent []string
	record := func(status bool, data []byte) error {
		sent = append(sent, fmt.Sprintf("%t %s", status, data))
		return nil
	}
	if err := (Patches{Spec: []byte("spec"), Status: []byte("status")}).Send(record); err != nil {
		t.Fatal(err)
	}
	if want := []string{"true status", "false spec"}; !slices.Equal(sent, want) {
		t.Errorf("sent %q, want %q", sent, want)
	}
	refused := errors.New("forbidden")
	sent = nil
	err := Patches{Spec: []byte("spec"), Status: []byte("status")}.Send(func(status bool, data []byte) error {
		sent = append(sent, string(data))
		return refused
	})
	if !errors.Is(err, refused) || !slices.Equal(sent, []string{"status"}) {
		t.Errorf("after a refused status patch: err %v, sent %q; want the refusal and nothing more", err, sent)
	}
}

func TestSteerings(t *testing.T) {
	want := map[string]string{"promote": "promoted", "promote-full": "promoted", "abort": "aborted", "retry": "retried",
		"pause": "paused", "resume": "resumed", "restart": "restarts"}
	got := map[string]string{}
	for verb, s := range Steerings {
		got[verb] = s.Done
	}
	if !maps.Equal(got, want) {
		t.Errorf("steerings %v, want %v", got, want)
	}
	ro := builders.Rollout("web").Canary(builders.SetWeight(20)).Obj()
	if p := Steerings["abort"].Patches(ro, time.Now()); string(p.Status) != `{"status":{"abort":true}}` || p.Spec != nil {
		t.Errorf("abort sends %s / %s", p.Status, p.Spec)
	}
}
