package metrics

import (
	"encoding/json"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sluicehq/sluice/test/framework"
)

// dashboardPath is Sluice's Grafana dashboard, shipped with the Helm chart.
const dashboardPath = "../../charts/sluice/dashboards/sluice.json"

// serves reports whether a metric name is one of Families', or a series of
// one of its histograms.
func serves(name string) bool {
	for _, f := range Families() {
		if f.Name == name {
			return true
		}
		if f.Type == Histogram {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if name == f.Name+suffix {
					return true
				}
			}
		}
	}
	return false
}

var _ = Describe("Sluice's dashboard", func() {
	It("queries only metrics Sluice serves", func() {
		names, err := framework.DashboardMetrics(dashboardPath)
		Expect(err).NotTo(HaveOccurred())
		Expect(names).To(ContainElements("rollout_info", "rollout_reconcile_bucket", "analysis_run_metric_phase",
			"controller_clientset_k8s_request_total", "sluice_application_info", "sluice_application_sync_total"))
		for _, name := range names {
			Expect(serves(name)).To(BeTrue(), "the dashboard queries %s, which Sluice does not serve", name)
		}
	})

	It("has a data source variable and a namespace variable, and every query uses them", func() {
		data, err := os.ReadFile(dashboardPath)
		Expect(err).NotTo(HaveOccurred())
		var dashboard struct {
			Panels []struct {
				Type       string
				Title      string
				Datasource struct{ UID string }
				Targets    []struct {
					Expr       string
					Datasource struct{ UID string }
				}
			}
			Templating struct {
				List []struct {
					Name, Type string
				}
			}
		}
		Expect(json.Unmarshal(data, &dashboard)).To(Succeed())
		variables := map[string]string{}
		for _, v := range dashboard.Templating.List {
			variables[v.Name] = v.Type
		}
		Expect(variables).To(Equal(map[string]string{"datasource": "datasource", "namespace": "query"}))
		for _, p := range dashboard.Panels {
			if p.Type == "row" {
				continue
			}
			Expect(p.Datasource.UID).To(Equal("${datasource}"), p.Title)
			Expect(p.Targets).NotTo(BeEmpty(), p.Title)
			for _, t := range p.Targets {
				Expect(t.Datasource.UID).To(Equal("${datasource}"), p.Title)
				if !strings.Contains(t.Expr, "controller_clientset_k8s_request_total") {
					// Requests to cluster-scoped resources have no namespace.
					Expect(t.Expr).To(ContainSubstring(`namespace=~"$namespace"`), p.Title)
				}
			}
		}
	})
})

var _ = Describe("Argo Rollouts' published dashboard", func() {
	It("queries only metrics Sluice serves, or that controller-runtime serves for every manager", func() {
		path, err := framework.ArgoDashboard()
		Expect(err).NotTo(HaveOccurred())
		names, err := framework.DashboardMetrics(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(names).To(ContainElement("rollout_info"))
		for _, name := range names {
			if name == "process_start_time_seconds" || name == "go_memstats_heap_alloc_bytes" {
				continue // the process and Go collectors of controller-runtime's registry
			}
			Expect(serves(name)).To(BeTrue(), "Argo's dashboard queries %s", name)
		}
	})
})
