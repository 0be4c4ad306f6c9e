package metrics

import (
	"net/url"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

// The Application families, Sluice's own.
var (
	applicationInfo = Family{Name: "sluice_application_info", Type: Gauge,
		Labels: []string{"namespace", "name", "repo", "dest_namespace", "revision", "sync_status", "health_status", "autosync"},
		Help:   "1 for each Application, labelled with its repository, destination namespace, synced revision, sync and health status, and whether it syncs automatically."}
	applicationSyncs = Family{Name: "sluice_application_sync_total", Type: Counter,
		Labels: []string{"namespace", "name", "phase"},
		Help:   "Syncs an Application recorded in its status.history, by result (Succeeded, Failed)."}
	applicationSyncFailures = Family{Name: "sluice_application_sync_failures_total", Type: Counter,
		Labels: []string{"namespace", "name", "reason"},
		Help:   "Failed sync attempts of an Application, retries included, by reason (FetchFailed, RenderFailed, ApplyFailed...)."}
	applicationReconcile = Family{Name: "sluice_application_reconcile", Type: Histogram, Labels: namespaceName,
		Help: "How long a reconcile of an Application takes, fetch, render and apply included, in seconds."}
)

// applicationBuckets span a reconcile that finds nothing to do (a few
// milliseconds) to a sync that fetches, renders and waits on a large
// repository (minutes).
var applicationBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// ApplicationInfo is an Application's series of sluice_application_info:
// its labels after namespace and name.
type ApplicationInfo struct {
	Repo, DestNamespace, Revision, SyncStatus, HealthStatus, AutoSync string
}

// InfoOf labels an Application. A repository URL loses any user and
// password in it, which have no place in a metric; a sync or health status
// not reported yet is Unknown.
func InfoOf(app *gitopsv1alpha1.Application) ApplicationInfo {
	info := ApplicationInfo{
		Repo:          withoutUserInfo(app.Spec.Source.RepoURL),
		DestNamespace: app.Spec.Destination.Namespace,
		Revision:      app.Status.Sync.Revision,
		SyncStatus:    string(app.Status.Sync.Status),
		HealthStatus:  string(app.Status.Health.Status),
		AutoSync:      strconv.FormatBool(app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil),
	}
	if info.SyncStatus == "" {
		info.SyncStatus = string(gitopsv1alpha1.SyncStatusUnknown)
	}
	if info.HealthStatus == "" {
		info.HealthStatus = string(gitopsv1alpha1.HealthUnknown)
	}
	return info
}

func withoutUserInfo(repoURL string) string {
	u, err := url.Parse(repoURL)
	if err != nil || u.User == nil {
		// Not a URL with a user (such as git@host:org/repo, whose user
		// names no secret).
		return repoURL
	}
	u.User = nil
	return u.String()
}

// ApplicationMetrics are the families the Application controller serves.
type ApplicationMetrics struct {
	reconciles
	syncs, failures *prometheus.CounterVec
	info            *prometheus.Desc
	cache           cache
}

// Applications are the Application families.
var Applications = newApplicationMetrics()

func newApplicationMetrics() *ApplicationMetrics {
	m := &ApplicationMetrics{
		reconciles: reconciles{duration: applicationReconcile.histogramVec(applicationBuckets)},
		syncs:      applicationSyncs.counterVec(),
		failures:   applicationSyncFailures.counterVec(),
		info:       applicationInfo.desc(),
	}
	m.others = []*prometheus.CounterVec{m.syncs, m.failures}
	return m
}

// Register serves the Application families, reading Applications from
// reader (the manager's cache) at scrape time once elected is closed (the
// manager leads). The Application controller, which watches them, calls it
// from its Setup.
func (m *ApplicationMetrics) Register(reader client.Reader, elected <-chan struct{}) {
	m.cache.set(reader, elected)
	register(m.collectors()...)
}

func (m *ApplicationMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.duration, m.syncs, m.failures, (*applicationCollector)(m)}
}

// Recorded counts the sync a reconcile recorded in the Application's
// history, if it recorded one: before is the Application as the reconcile
// read it, after as it writes it.
func (m *ApplicationMetrics) Recorded(before, after *gitopsv1alpha1.Application) {
	history := after.Status.History
	if len(history) == 0 {
		return
	}
	if old := before.Status.History; len(old) > 0 && old[0].Revision == history[0].Revision &&
		old[0].DeployedAt.Equal(&history[0].DeployedAt) && old[0].Result == history[0].Result {
		return
	}
	m.syncs.WithLabelValues(after.Namespace, after.Name, history[0].Result).Inc()
}

// SyncFailed counts a failed sync attempt, by the reason of the Ready
// condition it sets.
func (m *ApplicationMetrics) SyncFailed(app *gitopsv1alpha1.Application, reason string) {
	m.failures.WithLabelValues(app.Namespace, app.Name, reason).Inc()
}

type applicationCollector ApplicationMetrics

func (c *applicationCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.info }

func (c *applicationCollector) Collect(ch chan<- prometheus.Metric) {
	var apps gitopsv1alpha1.ApplicationList
	if !c.cache.list("Application", &apps) {
		return
	}
	for i := range apps.Items {
		app := &apps.Items[i]
		info := InfoOf(app)
		ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, app.Namespace, app.Name,
			info.Repo, info.DestNamespace, info.Revision, info.SyncStatus, info.HealthStatus, info.AutoSync)
	}
}
