package dashboard

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/test/builders"
)

func TestFirstNumber(t *testing.T) {
	tests := map[string]*float64{
		"0.97":        ptr.To(0.97),
		"[0.97]":      ptr.To(0.97),
		"[1e+03 2]":   ptr.To(1000.0),
		"-3":          ptr.To(-3.0),
		"[]":          nil,
		"NaN":         nil,
		"":            nil,
		"map[a:0.5]":  ptr.To(0.5),
		"[.5, 0.25]":  ptr.To(0.5),
		"12.5 errors": ptr.To(12.5),
	}
	for value, want := range tests {
		if got := FirstNumber(value); !cmp.Equal(got, want) {
			t.Errorf("FirstNumber(%q) = %v, want %v", value, deref(got), deref(want))
		}
	}
}

func TestThresholdOf(t *testing.T) {
	tests := map[string]*float64{
		"result[0] >= 0.95":                  ptr.To(0.95),
		"result < 500":                       ptr.To(500.0),
		" asFloat(result) > 1e2 ":            ptr.To(100.0),
		"result[0] == 1":                     ptr.To(1.0),
		"result[0] >= 0.95 && result[1] < 2": nil,
		"len(result) > 0":                    nil,
		"":                                   nil,
		"result[1] > 3":                      nil,
	}
	for condition, want := range tests {
		if got := ThresholdOf(condition); !cmp.Equal(got, want) {
			t.Errorf("ThresholdOf(%q) = %v, want %v", condition, deref(got), deref(want))
		}
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// A canary paused at its second step, half its traffic on the new
// revision, one analysis measured twice.
func TestDescribeRollout(t *testing.T) {
	ro := builders.Rollout("shop").Namespace("ns").Replicas(4).Image("app:v2").Canary(
		builders.SetWeight(50), builders.Pause(), builders.SetWeight(100)).Obj()
	ro.UID = "rollout-uid"
	ro.Status.Phase = rolloutsv1alpha1.RolloutPhasePaused
	ro.Status.CurrentStepIndex = ptr.To[int32](1)
	ro.Status.StableRS, ro.Status.CurrentPodHash = "old", "new"
	ro.Status.Canary.Weights = &rolloutsv1alpha1.TrafficWeights{Canary: rolloutsv1alpha1.WeightDestination{Weight: 50}}
	ro.Status.PauseConditions = []rolloutsv1alpha1.PauseCondition{{Reason: rolloutsv1alpha1.PauseReasonCanaryPauseStep}}

	controlledBy := func(kind, name string, uid types.UID) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: kind, Name: name, UID: uid, Controller: ptr.To(true)}}
	}
	replicaSet := func(name, hash, revision string, ready int32) appsv1.ReplicaSet {
		return appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name),
				Labels:          map[string]string{rolloutsv1alpha1.DefaultRolloutUniqueLabelKey: hash},
				Annotations:     map[string]string{"rollout.argoproj.io/revision": revision},
				OwnerReferences: controlledBy("Rollout", "shop", ro.UID)},
			Spec:   appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(2))},
			Status: appsv1.ReplicaSetStatus{ReadyReplicas: ready},
		}
	}
	newPod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-new-a", Namespace: "ns", OwnerReferences: controlledBy("ReplicaSet", "shop-new", "shop-new")},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 2}}},
	}
	strangerPod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns"}}
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "shop", "namespace": "ns"},
		"spec": map[string]any{"rules": []any{map[string]any{"backendRefs": []any{
			map[string]any{"name": "shop-stable", "weight": int64(50)},
			map[string]any{"name": "shop-canary", "weight": int64(50)},
			map[string]any{"name": "unweighted"},
		}}, map[string]any{"filters": []any{map[string]any{"type": "RequestRedirect"}}}}},
	}}
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := rolloutsv1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-run", Namespace: "ns", CreationTimestamp: metav1.NewTime(start),
			OwnerReferences: controlledBy("Rollout", "shop", ro.UID)},
		Spec: rolloutsv1alpha1.AnalysisRunSpec{Metrics: []rolloutsv1alpha1.Metric{{Name: "success-rate", SuccessCondition: "result[0] >= 0.95"}}},
		Status: rolloutsv1alpha1.AnalysisRunStatus{Phase: rolloutsv1alpha1.AnalysisPhaseRunning, MetricResults: []rolloutsv1alpha1.MetricResult{{
			Name: "success-rate", Phase: rolloutsv1alpha1.AnalysisPhaseRunning, Successful: 1, Failed: 1,
			Measurements: []rolloutsv1alpha1.Measurement{
				{Phase: rolloutsv1alpha1.AnalysisPhaseSuccessful, Value: "[0.99]", FinishedAt: ptr.To(metav1.NewTime(start.Add(time.Minute)))},
				{Phase: rolloutsv1alpha1.AnalysisPhaseFailed, Value: "[0.5]", StartedAt: ptr.To(metav1.NewTime(start.Add(2 * time.Minute)))},
			},
		}}},
	}

	got := DescribeRollout(RolloutObjects{
		Rollout:      ro,
		ReplicaSets:  []appsv1.ReplicaSet{replicaSet("shop-old", "old", "1", 2), replicaSet("shop-new", "new", "2", 1)},
		Pods:         []corev1.Pod{newPod, strangerPod},
		AnalysisRuns: []rolloutsv1alpha1.AnalysisRun{run, {ObjectMeta: metav1.ObjectMeta{Name: "another-rollouts-run", Namespace: "ns"}}},
		Routes:       []*unstructured.Unstructured{route},
		RouteErrors:  map[string]string{"HTTPRoute ns/gone": "not found"},
	})

	if got.Phase != "Paused" || got.Step != "2/3" || got.CurrentStep != 1 || !got.Paused || *got.Weight != 50 {
		t.Errorf("summary = phase %s step %s (index %d) paused %t weight %v, want Paused 2/3 (1) true 50",
			got.Phase, got.Step, got.CurrentStep, got.Paused, deref32(got.Weight))
	}
	if want := []Step{{"setWeight: 50"}, {"pause"}, {"setWeight: 100"}}; !cmp.Equal(got.Steps, want) {
		t.Errorf("steps: %s", cmp.Diff(want, got.Steps))
	}
	wantRevisions := []RevisionView{
		{Revision: "2", Name: "shop-new", Roles: []string{"canary"}, Images: []string{}, Desired: 2, Ready: 1,
			Pods: []PodView{{Name: "shop-new-a", Phase: "Running", Ready: true, Restarts: 2}}},
		{Revision: "1", Name: "shop-old", Roles: []string{"stable"}, Images: []string{}, Desired: 2, Ready: 2},
	}
	if !cmp.Equal(got.Revisions, wantRevisions) {
		t.Errorf("revisions: %s", cmp.Diff(wantRevisions, got.Revisions))
	}
	wantRoutes := []RouteView{
		{Kind: "HTTPRoute", Namespace: "ns", Name: "shop", Rules: []RuleView{{Backends: []Backend{
			{Service: "shop-stable", Weight: 50}, {Service: "shop-canary", Weight: 50}, {Service: "unweighted", Weight: 1}}},
			{Backends: []Backend{}}}}, // a redirect rule: no backends, drawn empty
		{Kind: "HTTPRoute", Namespace: "ns", Name: "gone", Error: "not found"},
	}
	if !cmp.Equal(got.Routes, wantRoutes) {
		t.Errorf("routes: %s", cmp.Diff(wantRoutes, got.Routes))
	}
	if len(got.Analysis) != 1 || got.Analysis[0].Name != "shop-run" {
		t.Errorf("analysis runs %+v, want the Rollout's own shop-run alone", got.Analysis)
	}
}

func deref32(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestRunsOf(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := func(name string, created time.Time) rolloutsv1alpha1.AnalysisRun {
		return rolloutsv1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
			Spec:       rolloutsv1alpha1.AnalysisRunSpec{Metrics: []rolloutsv1alpha1.Metric{{Name: "latency", SuccessCondition: "result < 300", FailureCondition: "result > 900"}}},
			Status: rolloutsv1alpha1.AnalysisRunStatus{MetricResults: []rolloutsv1alpha1.MetricResult{{
				Name: "latency", Phase: rolloutsv1alpha1.AnalysisPhaseSuccessful, Successful: 1,
				Measurements: []rolloutsv1alpha1.Measurement{
					{Phase: rolloutsv1alpha1.AnalysisPhaseSuccessful, Value: "250", FinishedAt: ptr.To(metav1.NewTime(created.Add(time.Minute)))},
					{Phase: rolloutsv1alpha1.AnalysisPhaseError, Message: "connection refused", StartedAt: ptr.To(metav1.NewTime(created.Add(2 * time.Minute)))},
				},
			}}},
		}
	}
	older, newer := run("older", start), run("newer", start.Add(time.Hour))
	got := runsOf([]*rolloutsv1alpha1.AnalysisRun{&older, &newer})
	if len(got) != 2 || got[0].Name != "newer" || got[1].Name != "older" {
		t.Fatalf("runs %+v, want newer then older", got)
	}
	want := MetricView{Name: "latency", Phase: "Successful", SuccessCondition: "result < 300", FailureCondition: "result > 900",
		Threshold: ptr.To(300.0), Successful: 1, Measurements: []MeasurementView{
			{At: start.Add(time.Minute), Phase: "Successful", Raw: "250", Value: ptr.To(250.0)},
			{At: start.Add(2 * time.Minute), Phase: "Error", Message: "connection refused"},
		}}
	if got[1].Phase != "Pending" || !cmp.Equal(got[1].Metrics, []MetricView{want}) {
		t.Errorf("older run: phase %s, metrics %s", got[1].Phase, cmp.Diff([]MetricView{want}, got[1].Metrics))
	}
}

// An Application's tree: the Application, what Git holds, and under its
// Rollout the ReplicaSets it controls and their pods, not another
// workload's.
func TestTreeOf(t *testing.T) {
	app := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "apps"}}
	app.Status.Sync.Status = gitopsv1alpha1.SyncStatusCode("OutOfSync")
	app.Status.Resources = []gitopsv1alpha1.ResourceStatus{
		{ObjectRef: gitopsv1alpha1.ObjectRef{Kind: "Rollout", Namespace: "web", Name: "shop"}, Status: "Synced",
			Health: &gitopsv1alpha1.HealthStatus{Status: "Healthy"}},
		{ObjectRef: gitopsv1alpha1.ObjectRef{Kind: "Service", Namespace: "web", Name: "shop"}, Status: "OutOfSync"},
	}
	rollout := rolloutsv1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "web", UID: "ro"}}
	owner := func(kind, name string, uid types.UID) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: kind, Name: name, UID: uid, Controller: ptr.To(true)}}
	}
	rs := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "shop-1", Namespace: "web", UID: "rs", OwnerReferences: owner("Rollout", "shop", "ro")},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(1))}, Status: appsv1.ReplicaSetStatus{ReadyReplicas: 0}}
	other := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "else-1", Namespace: "web", UID: "else", OwnerReferences: owner("Rollout", "else", "else-ro")}}
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-1-a", Namespace: "web", OwnerReferences: owner("ReplicaSet", "shop-1", "rs")},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}

	got := treeOf(ApplicationObjects{Application: app, Rollouts: []rolloutsv1alpha1.Rollout{rollout},
		ReplicaSets: []appsv1.ReplicaSet{rs, other}, Pods: []corev1.Pod{pod}})
	want := []TreeNode{
		{ID: "Application/apps/shop", Kind: "Application", Namespace: "apps", Name: "shop", Sync: "OutOfSync", Health: "Unknown"},
		{ID: "Rollout/web/shop", Parent: "Application/apps/shop", Kind: "Rollout", Namespace: "web", Name: "shop", Sync: "Synced", Health: "Healthy"},
		{ID: "ReplicaSet/web/shop-1", Parent: "Rollout/web/shop", Kind: "ReplicaSet", Namespace: "web", Name: "shop-1", Info: "0/1 ready"},
		{ID: "Pod/web/shop-1-a", Parent: "ReplicaSet/web/shop-1", Kind: "Pod", Namespace: "web", Name: "shop-1-a", Info: "Running, not ready"},
		{ID: "Service/web/shop", Parent: "Application/apps/shop", Kind: "Service", Namespace: "web", Name: "shop", Sync: "OutOfSync"},
	}
	if !cmp.Equal(got, want) {
		t.Errorf("tree: %s", cmp.Diff(want, got))
	}
}

// The guard answers only its own host names, only with the token, and
// changes only with the dashboard's header: no other site, and no other
// user of the machine, can read or act through it.
func TestGuard(t *testing.T) {
	s := New(nil, "default", "secret-token")
	s.AllowHosts(LoopbackHosts(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3100})...)
	handler := s.Handler()
	cookie := &http.Cookie{Name: s.cookieName(), Value: "secret-token"}
	tests := []struct {
		name, method, host, path string
		cookie                   *http.Cookie
		header                   bool
		want                     int
	}{
		{"the page", "GET", "127.0.0.1:3100", "/", cookie, false, http.StatusOK},
		{"the page by name", "GET", "localhost:3100", "/app.js", cookie, false, http.StatusOK},
		{"no token", "GET", "127.0.0.1:3100", "/api/config", nil, false, http.StatusUnauthorized},
		{"another token", "GET", "127.0.0.1:3100", "/api/config", &http.Cookie{Name: s.cookieName(), Value: "guess"}, false, http.StatusUnauthorized},
		{"the printed address", "GET", "127.0.0.1:3100", "/?token=secret-token", nil, false, http.StatusSeeOther},
		{"a wrong address", "GET", "127.0.0.1:3100", "/?token=guess", nil, false, http.StatusUnauthorized},
		{"a rebound name", "GET", "evil.example:3100", "/", cookie, false, http.StatusMisdirectedRequest},
		{"another port", "GET", "localhost:8080", "/api/config", cookie, false, http.StatusMisdirectedRequest},
		{"an action without the header", "POST", "127.0.0.1:3100", "/api/namespaces/ns/rollouts/shop/abort", cookie, false, http.StatusForbidden},
		{"an action without the token", "POST", "127.0.0.1:3100", "/api/namespaces/ns/rollouts/shop/abort", nil, true, http.StatusUnauthorized},
		{"an action from a rebound name", "POST", "evil.example:3100", "/api/namespaces/ns/rollouts/shop/abort", cookie, true, http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://"+tt.host+tt.path, nil)
			if tt.header {
				req.Header.Set(actionHeader, "1")
			}
			if tt.cookie != nil {
				req.AddCookie(tt.cookie)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("%s %s for host %s: %d, want %d", tt.method, tt.path, tt.host, rec.Code, tt.want)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); rec.Code == http.StatusOK && csp == "" {
				t.Error("no content security policy")
			}
		})
	}
}

// The printed address sets the token's cookie, for this server alone, and
// sends the browser on without the token in the address.
func TestTokenAddress(t *testing.T) {
	s := New(nil, "default", "secret-token")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:3100/?token=secret-token", nil))
	if got := rec.Header().Get("Location"); got != "/" {
		t.Errorf("sent on to %q, want /", got)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != s.cookieName() || cookies[0].Value != "secret-token" ||
		!cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("cookies %+v, want the token, HttpOnly and SameSite=Strict", cookies)
	}
	if other := New(nil, "default", "another-token"); other.cookieName() == s.cookieName() {
		t.Error("two servers share a cookie name: two dashboards in one browser would log each other out")
	}
}

func TestLoopbackHosts(t *testing.T) {
	if got := LoopbackHosts(&net.TCPAddr{IP: net.IPv4(192, 168, 1, 2), Port: 3100}); got != nil {
		t.Errorf("a server on the network answers only %v: it should answer any host", got)
	}
	got := LoopbackHosts(&net.TCPAddr{IP: net.IPv6loopback, Port: 80})
	want := []string{"localhost:80", "localhost", "127.0.0.1:80", "127.0.0.1", "[::1]:80", "[::1]", "[::1]:80", "[::1]"}
	if !cmp.Equal(got, want) {
		t.Errorf("hosts: %s", cmp.Diff(want, got))
	}
}

func TestSummarizeApplication(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	app := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "apps"}}
	app.Spec.Source = gitopsv1alpha1.ApplicationSource{RepoURL: "http://git.example/shop.git", Path: "deploy", TargetRevision: "main"}
	app.Spec.Destination = gitopsv1alpha1.ApplicationDestination{Namespace: "web"}
	app.Status.Sync = gitopsv1alpha1.SyncStatus{Status: "Synced", Revision: "0123abc",
		Commit: &gitopsv1alpha1.CommitInfo{Subject: "Shop 1.3: faster checkout", Author: "Ana Lima", Date: metav1.NewTime(at)}}
	got := SummarizeApplication(app)
	want := ApplicationSummary{Name: "shop", Namespace: "apps", Sync: "Synced", Health: "Unknown", Revision: "0123abc",
		CommitSubject: "Shop 1.3: faster checkout", CommitAuthor: "Ana Lima", CommitDate: at,
		RepoURL: "http://git.example/shop.git", Path: "deploy", TargetRevision: "main", Destination: "in-cluster/web"}
	if !cmp.Equal(got, want) {
		t.Errorf("summary: %s", cmp.Diff(want, got))
	}
}

func TestStepWeight(t *testing.T) {
	steps := []rolloutsv1alpha1.CanaryStep{builders.SetWeight(25), builders.Pause(), builders.SetWeight(75), builders.Pause()}
	tests := []struct {
		current int
		want    *int32
	}{
		{0, nil},                // setting the first weight
		{1, ptr.To[int32](25)},  // paused after 25
		{3, ptr.To[int32](75)},  // paused after 75
		{4, ptr.To[int32](100)}, // every step done
		{9, ptr.To[int32](100)}, // past the end, as a shortened spec leaves it
	}
	for _, tt := range tests {
		if got := stepWeight(steps, tt.current); !cmp.Equal(got, tt.want) {
			t.Errorf("stepWeight at step %d = %v, want %v", tt.current, deref32(got), deref32(tt.want))
		}
	}
	if got := stepWeight(nil, 0); got != nil {
		t.Errorf("no steps: %v, want none", *got)
	}
}
