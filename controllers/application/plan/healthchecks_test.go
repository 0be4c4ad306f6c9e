package plan

import (
	"testing"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// checks sets the health of spec.healthChecks' objects as read.
func checks(cs ...Check) modifier { return func(o *Observation) { o.Checks = cs } }

func check(kind, name string, status gitopsv1alpha1.HealthStatusCode, message string) Check {
	return Check{Ref: gitopsv1alpha1.ObjectRef{Group: "apps", Version: "v1", Kind: kind, Namespace: "shared", Name: name},
		Health: gitopsv1alpha1.HealthStatus{Status: status, Message: message}}
}

func TestPlanHealthChecks(t *testing.T) {
	healthy := &gitopsv1alpha1.HealthStatus{Status: gitopsv1alpha1.HealthHealthy}
	synced := func() appBuilder {
		return newApp().automated().synced(revNew, web.Ref).resources(
			gitopsv1alpha1.ResourceStatus{ObjectRef: web.Ref, Status: gitopsv1alpha1.SyncStatusSynced, Health: healthy})
	}
	wantHealth := func(status gitopsv1alpha1.HealthStatusCode, message string) func(*testing.T, Decision) {
		return func(t *testing.T, d Decision) {
			t.Helper()
			if d.Status.Health.Status != status || d.Status.Health.Message != message {
				t.Errorf("the Application's health = %+v; want %s %q", d.Status.Health, status, message)
			}
			for _, r := range d.Status.Resources {
				if r.Kind == "StatefulSet" {
					t.Errorf("a health check is listed among the Application's resources: %+v", r)
				}
			}
		}
	}
	runPlanCases(t, []planCase{
		{
			name:   "a missing health check",
			reason: "an object of healthChecks that does not exist makes the Application Missing; without wait it is still Ready",
			o:      with(observe(synced(), web), unchanged(), checks(check("StatefulSet", "db", gitopsv1alpha1.HealthMissing, ""))),
			want:   summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval},
			check:  wantHealth(gitopsv1alpha1.HealthMissing, "health check StatefulSet db is Missing"),
		},
		{
			name:   "healthy health checks",
			reason: "health checks that are Healthy leave the Application's health to its objects",
			o: with(observe(synced(), web.health(gitopsv1alpha1.HealthProgressing, "rolling out")), unchanged(),
				checks(check("StatefulSet", "db", gitopsv1alpha1.HealthHealthy, ""))),
			want:  summary{Ready: "True Synced", Op: "Succeeded", Sync: "Synced new", Requeue: interval},
			check: wantHealth(gitopsv1alpha1.HealthProgressing, "Deployment web: rolling out"),
		},
		{
			name:   "a degraded health check with wait",
			reason: "with wait, a health check counts as the objects do: one Degraded past the timeout fails the health check, naming it",
			o: with(observe(synced().wait(), web), unchanged(),
				checks(check("StatefulSet", "db", gitopsv1alpha1.HealthDegraded, "pods crash"))),
			want: summary{Ready: "False HealthCheckFailed", Op: "Succeeded", Sync: "Synced new", Requeue: interval,
				Events: []string{"Warning HealthCheckFailed"}},
			message: "health check StatefulSet db: pods crash",
		},
		{
			name:   "a new revision waits for a health check",
			reason: "a sync with wait is not Ready while a health check is Progressing, and looks again soon",
			o: with(observe(newApp().automated().wait().synced(revOld, cmA.Ref), cmA.drifted()),
				checks(check("StatefulSet", "db", gitopsv1alpha1.HealthProgressing, "1 of 3 ready"))),
			want: summary{Actions: []string{"Apply ConfigMap/a"}, Ready: "False Progressing", Op: "Succeeded",
				Sync: "Synced new", Requeue: recheck, Finishes: true},
			message: "waiting for health: health check StatefulSet db: 1 of 3 ready",
		},
	})
}
