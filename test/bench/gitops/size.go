package gitops

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	appplan "github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/internal/instance"
	"github.com/sluicehq/sluice/test/bench"
)

// sizeScenario is apps Applications of mix each, in one repository.
type sizeScenario struct {
	// name keys the repository, namespaces, users and the manager's
	// instance id; label names the scenario in the report, such as
	// "100×50".
	name, label string
	apps        int
	mix         Mix
}

func (s sizeScenario) title() string {
	if s.apps == 1 {
		return fmt.Sprintf("1 Application of %s objects", thousands(s.mix.Objects()))
	}
	return fmt.Sprintf("%d Applications of %s objects", s.apps, thousands(s.mix.Objects()))
}

// The phase kubectl and Sluice are compared in: for kubectl its apply
// --server-side, for Sluice until every Application is Synced.
const firstSync = "first sync"

// result is a phase of the scenario measured for controller.
func (s sizeScenario) result(controller string, p bench.Phase) bench.Result {
	objects := s.apps * s.mix.Objects()
	return bench.Result{Controller: controller, Scenario: s.label, Size: objects, Units: objects, Phase: p}
}

// The namespace the measured Applications live in.
const appNamespace = "bench-apps"

// sizeInterval is the measured Applications' polling interval: short, so
// the steady phase sees several looks at Git and the cluster.
const sizeInterval = 10 * time.Second

// phaseTimeout bounds each phase's wait.
const phaseTimeout = 20 * time.Minute

// dirOf is the directory of the scenario's i-th Application.
func (s sizeScenario) dirOf(i int) string {
	if s.apps == 1 {
		return "app"
	}
	return fmt.Sprintf("apps/app-%03d", i)
}

// size measures kubectl's first apply of the scenario's files, then
// Sluice's first sync, settling and steady phases of the same files.
func (r *runner) size(ctx context.Context, s sizeScenario) ([]bench.Result, error) {
	r.logf("== %s", s.title())
	files := map[string]string{}
	for i := range s.apps {
		maps.Copy(files, Files(s.dirOf(i), s.mix))
	}
	repo, err := r.git.Create("size-" + s.name)
	if err != nil {
		return nil, err
	}
	if err := repo.Write(files); err != nil {
		return nil, err
	}
	commit, err := repo.Commit("main", s.title())
	if err != nil {
		return nil, err
	}

	var results []bench.Result
	kubectlPhase, err := r.kubectlFirstApply(ctx, s, files)
	if err != nil {
		return nil, err
	}
	results = append(results, s.result(kubectlApply, kubectlPhase))

	m, err := r.startManager(ctx, "sluice-"+s.name, s.name)
	if err != nil {
		return results, err
	}
	defer func() { _ = m.stop() }()
	if err := r.ensureNamespace(ctx, appNamespace); err != nil {
		return results, err
	}
	selector := client.MatchingLabels{instance.Label: s.name}
	phases := []struct {
		name string
		work func() error
	}{
		{firstSync, func() error {
			for i := range s.apps {
				if err := r.admin.Create(ctx, sizeApplication(s, i, repo.URL)); err != nil {
					return err
				}
			}
			return r.waitApplications(ctx, selector, s.apps, "Synced at "+commit[:7], synced(commit))
		}},
		{"settling", func() error {
			return r.waitApplications(ctx, selector, s.apps, "Healthy", healthy(commit))
		}},
		{fmt.Sprintf("steady (%s)", r.env.Steady), func() error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(r.env.Steady):
				return nil
			}
		}},
	}
	for _, p := range phases {
		r.logf("   Sluice: %s", p.name)
		phase, err := m.meter.Measure(p.name, p.work)
		if err != nil {
			return results, err
		}
		results = append(results, s.result(bench.Subject, phase))
		r.logf("   %s", summary(phase))
	}
	return results, m.stop()
}

// kubectlFirstApply writes the scenario's files where kubectl reads them
// and applies each Application's directory into a fresh namespace of its
// own. It then waits, unmeasured, until kubectl's Deployments are
// available, so their pods do not load the cluster while Sluice is
// measured.
func (r *runner) kubectlFirstApply(ctx context.Context, s sizeScenario, files map[string]string) (bench.Phase, error) {
	root := filepath.Join(r.env.WorkDir, "kubectl-"+s.name)
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return bench.Phase{}, err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return bench.Phase{}, err
		}
	}
	k, err := r.kubectl()
	if err != nil {
		return bench.Phase{}, err
	}
	var dirs, namespaces []string
	for i := range s.apps {
		ns := fmt.Sprintf("kubectl-%s-%03d", s.name, i)
		if err := r.ensureNamespace(ctx, ns); err != nil {
			return bench.Phase{}, err
		}
		dirs = append(dirs, filepath.Join(root, s.dirOf(i)))
		namespaces = append(namespaces, ns)
	}
	r.logf("   kubectl apply --server-side: %d director%s", len(dirs), map[bool]string{true: "y", false: "ies"}[len(dirs) == 1])
	phase, err := k.applyAll(ctx, firstSync, filepath.Join(root, ".kube-cache"), dirs, namespaces)
	if err != nil {
		return phase, err
	}
	r.logf("   %s", summary(phase))
	r.logf("   waiting for kubectl's Deployments to be available (not measured)")
	return phase, r.waitDeploymentsAvailable(ctx, namespaces, s.mix.Deployments)
}

func (r *runner) ensureNamespace(ctx context.Context, name string) error {
	err := r.admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// sizeApplication is the scenario's i-th Application: its directory into a
// namespace of its own, automated, with prune and self-heal, labelled for
// the scenario's manager.
func sizeApplication(s sizeScenario, i int, repoURL string) *gitopsv1alpha1.Application {
	return &gitopsv1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: appNamespace, Name: fmt.Sprintf("%s-%03d", s.name, i),
			Labels: map[string]string{instance.Label: s.name},
		},
		Spec: gitopsv1alpha1.ApplicationSpec{
			Source:      gitopsv1alpha1.ApplicationSource{RepoURL: repoURL, TargetRevision: "main", Path: s.dirOf(i)},
			Destination: gitopsv1alpha1.ApplicationDestination{Namespace: fmt.Sprintf("sluice-%s-%03d", s.name, i)},
			SyncPolicy: &gitopsv1alpha1.SyncPolicy{
				Automated:   &gitopsv1alpha1.AutomatedSyncPolicy{Prune: true, SelfHeal: true},
				SyncOptions: []string{"CreateNamespace=true"},
			},
			Interval: metav1.Duration{Duration: sizeInterval},
		},
	}
}

// errNotYet is an Application's answer while it is on its way.
var errNotYet = errors.New("not yet")

// synced holds when an Application reports Synced at commit and Ready;
// it fails on a sync that stalled.
func synced(commit string) func(*gitopsv1alpha1.Application) error {
	return func(app *gitopsv1alpha1.Application) error {
		if stalled := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionStalled); stalled != nil && stalled.Status == metav1.ConditionTrue {
			return fmt.Errorf("%s/%s stalled: %s", app.Namespace, app.Name, stalled.Message)
		}
		ready := meta.FindStatusCondition(app.Status.Conditions, appplan.ConditionReady)
		if ready == nil || ready.Status != metav1.ConditionTrue || app.Status.Sync.Status != gitopsv1alpha1.SyncStatusSynced ||
			app.Status.Sync.Revision != commit {
			return errNotYet
		}
		return nil
	}
}

// healthy holds when an Application is synced at commit and Healthy.
func healthy(commit string) func(*gitopsv1alpha1.Application) error {
	return func(app *gitopsv1alpha1.Application) error {
		if err := synced(commit)(app); err != nil {
			return err
		}
		if app.Status.Health.Status != gitopsv1alpha1.HealthHealthy {
			return errNotYet
		}
		return nil
	}
}

// waitApplications lists the selected Applications every 100 ms until
// there are want of them and done holds for each.
func (r *runner) waitApplications(ctx context.Context, selector client.MatchingLabels, want int, what string,
	done func(*gitopsv1alpha1.Application) error) error {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	var waiting string
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var list gitopsv1alpha1.ApplicationList
		if err := r.admin.List(ctx, &list, client.InNamespace(appNamespace), selector); err != nil {
			return false, err
		}
		if len(list.Items) < want {
			waiting = fmt.Sprintf("%d of %d Applications exist", len(list.Items), want)
			return false, nil
		}
		pending := 0
		for i := range list.Items {
			app := &list.Items[i]
			switch err := done(app); {
			case errors.Is(err, errNotYet):
				pending++
				waiting = fmt.Sprintf("%s: sync %s at %.7s, health %s", app.Name, app.Status.Sync.Status,
					app.Status.Sync.Revision, app.Status.Health.Status)
			case err != nil:
				return false, err
			}
		}
		if pending > 0 {
			waiting = fmt.Sprintf("%d Applications not %s yet (%s)", pending, what, waiting)
		}
		return pending == 0, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w: %s", err, waiting)
	}
	return err
}

// waitDeploymentsAvailable waits until each namespace holds want
// Deployments with every replica available.
func (r *runner) waitDeploymentsAvailable(ctx context.Context, namespaces []string, want int) error {
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout)
	defer cancel()
	var waiting string
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		for _, ns := range namespaces {
			var list appsv1.DeploymentList
			if err := r.admin.List(ctx, &list, client.InNamespace(ns)); err != nil {
				return false, err
			}
			available := 0
			for _, d := range list.Items {
				if d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == *d.Spec.Replicas {
					available++
				}
			}
			if available < want {
				waiting = fmt.Sprintf("%s: %d of %d Deployments available", ns, available, want)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w: %s", err, waiting)
	}
	return err
}
