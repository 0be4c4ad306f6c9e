package plugin

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/internal/rolloutmeta"
	"github.com/sluicehq/sluice/test/builders"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestRenderPausedCanary(t *testing.T) {
	ro := builders.Rollout("web").Namespace("shop").Replicas(5).Canary(
		builders.SetWeight(20), builders.Pause(), builders.SetWeight(100)).Obj()
	ro.Status = rolloutsv1alpha1.RolloutStatus{
		Phase: rolloutsv1alpha1.RolloutPhasePaused, Message: "CanaryPauseStep",
		CurrentStepIndex: ptr.To[int32](1), CurrentPodHash: "bbb", StableRS: "aaa",
		Replicas: 6, UpdatedReplicas: 1, ReadyReplicas: 6, AvailableReplicas: 6,
		Canary: rolloutsv1alpha1.CanaryStatus{Weights: &rolloutsv1alpha1.TrafficWeights{
			Canary: rolloutsv1alpha1.WeightDestination{Weight: 20}, Stable: rolloutsv1alpha1.WeightDestination{Weight: 80},
			Verified: ptr.To(true)}},
	}
	run := &rolloutsv1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "web-bbb-2-1",
		Annotations: map[string]string{rolloutmeta.RevisionAnnotation: "2"}}}
	run.Status.Phase = rolloutsv1alpha1.AnalysisPhaseSuccessful
	run.Status.MetricResults = []rolloutsv1alpha1.MetricResult{{Name: "error-rate", Phase: rolloutsv1alpha1.AnalysisPhaseSuccessful, Successful: 2}}
	golden(t, "paused-canary.txt", RenderRollout(RolloutView{
		Rollout:      ro,
		ReplicaSets:  []*appsv1.ReplicaSet{rs("aaa", "1", "app:v1", 5), rs("bbb", "2", "app:v2", 1), rs("zzz", "0", "app:v0", 0)},
		AnalysisRuns: []*rolloutsv1alpha1.AnalysisRun{run},
	}))
}

func TestRenderExperimentTraffic(t *testing.T) {
	ro := builders.Rollout("web").Namespace("shop").Replicas(5).Canary(builders.SetWeight(0),
		rolloutsv1alpha1.CanaryStep{Experiment: &rolloutsv1alpha1.RolloutExperimentStep{}}).Obj()
	ro.Status.CurrentStepIndex = ptr.To[int32](1)
	ro.Status.Canary.Weights = &rolloutsv1alpha1.TrafficWeights{
		Canary: rolloutsv1alpha1.WeightDestination{Weight: 0}, Stable: rolloutsv1alpha1.WeightDestination{Weight: 80},
		Additional: []rolloutsv1alpha1.WeightDestination{
			{ServiceName: "web-bbb-2-1-baseline", Weight: 10}, {ServiceName: "web-bbb-2-1-canary", Weight: 10},
		},
		Verified: ptr.To(true),
	}
	got := RenderRollout(RolloutView{Rollout: ro})
	want := "canary 0 / stable 80 / web-bbb-2-1-baseline 10 / web-bbb-2-1-canary 10 (verified)"
	if !strings.Contains(got, want) {
		t.Errorf("the traffic line lacks the experiment's Services; want %q in:\n%s", want, got)
	}
}

func TestRenderPausedBlueGreen(t *testing.T) {
	ro := builders.Rollout("web").Namespace("shop").Replicas(3).BlueGreen("web", "web-preview").Obj()
	ro.Status = rolloutsv1alpha1.RolloutStatus{
		Phase: rolloutsv1alpha1.RolloutPhasePaused, Message: "BlueGreenPause",
		CurrentPodHash: "bbb", StableRS: "aaa",
		Replicas: 6, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3,
		BlueGreen: rolloutsv1alpha1.BlueGreenStatus{ActiveSelector: "aaa", PreviewSelector: "bbb"},
	}
	golden(t, "paused-bluegreen.txt", RenderRollout(RolloutView{
		Rollout:     ro,
		ReplicaSets: []*appsv1.ReplicaSet{rs("aaa", "1", "app:v1", 3), rs("bbb", "2", "app:v2", 3)},
	}))
}

// rs is a ReplicaSet of Rollout web with all its pods ready.
func rs(hash, revision, image string, replicas int32) *appsv1.ReplicaSet {
	r := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash,
		Labels: map[string]string{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: hash}, Annotations: map[string]string{rolloutmeta.RevisionAnnotation: revision}}}
	r.Spec.Replicas = ptr.To(replicas)
	r.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: image}}
	r.Status.Replicas, r.Status.ReadyReplicas = replicas, replicas
	return r
}

func TestRenderApplication(t *testing.T) {
	written := metav1.NewTime(time.Date(2026, 5, 1, 13, 4, 5, 0, time.FixedZone("CEST", 2*60*60)))
	tests := []struct {
		name, golden string
		commit       *gitopsv1alpha1.CommitInfo
	}{
		{name: "a commit not known yet: no Commit line", golden: "application.txt"},
		{name: "a known commit: its subject, author and date, in UTC", golden: "application-commit.txt",
			commit: &gitopsv1alpha1.CommitInfo{Subject: "Scale my-app to 5 replicas", Author: "Ana Lima", Date: written}},
		{name: "only a subject: no empty parentheses", golden: "application-subject.txt",
			commit: &gitopsv1alpha1.CommitInfo{Subject: "Scale my-app to 5 replicas"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "my-app"}}
			app.Spec.Source = gitopsv1alpha1.ApplicationSource{RepoURL: "https://github.com/org/gitops-repo", TargetRevision: "main", Path: "apps/my-app"}
			app.Status.Sync = gitopsv1alpha1.SyncStatus{Status: gitopsv1alpha1.SyncStatusSynced, Revision: "0d0a3c8e6f2b4c559a528f1f7ab0e2d1aa5b6c7d",
				Commit: tt.commit}
			app.Status.Health = gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthSuspended, Message: "Rollout my-app: CanaryPauseStep"}
			app.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Synced", Message: "revision 0d0a3c8e6f2b applied"}}
			suspended := gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthSuspended}
			app.Status.Resources = []gitopsv1alpha1.ResourceStatus{
				{ObjectRef: gitopsv1alpha1.ObjectRef{Version: "v1", Kind: "Service", Namespace: "demo", Name: "my-app"}, Status: gitopsv1alpha1.SyncStatusSynced},
				{ObjectRef: gitopsv1alpha1.ObjectRef{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Namespace: "demo", Name: "my-app"},
					Status: gitopsv1alpha1.SyncStatusSynced, Health: &suspended},
			}
			golden(t, tt.golden, RenderApplication(app))
		})
	}
}
