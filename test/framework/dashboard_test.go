package framework

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("MetricNames", func() {
	DescribeTable("finds the metrics a PromQL expression reads",
		func(expr string, want []string) {
			Expect(MetricNames(expr)).To(Equal(want))
		},
		Entry("a bare selector", `rollout_info`, []string{"rollout_info"}),
		Entry("label matchers and Grafana variables are no names",
			`rollout_info{namespace=~"$namespace",phase="Completed"} == 1`, []string{"rollout_info"}),
		Entry("aggregations, functions, label lists and ranges are no names",
			`histogram_quantile(0.99, sum by (le) (rate(rollout_reconcile_bucket{job="x"}[$__rate_interval])))`,
			[]string{"rollout_reconcile_bucket"}),
		Entry("a trailing by clause",
			`sum(increase(rollout_reconcile_count[10m])) by (namespace, le)`, []string{"rollout_reconcile_count"}),
		Entry("both sides of a binary operator, numbers aside",
			`time() - max(process_start_time_seconds) > 1e3 and on (job) up offset 5m`,
			[]string{"process_start_time_seconds", "up"}),
		Entry("names a __name__ matcher gives",
			`{__name__=~"rollout_info|sluice_application_info", namespace!=""}`, []string{"rollout_info", "sluice_application_info"}),
		Entry("a string holding a brace or a name is skipped whole",
			`label_replace(rollout_info, "x", "}not_a_metric", "name", "(.*)")`, []string{"rollout_info"}),
	)
})

var _ = Describe("DashboardMetrics", func() {
	It("reads the targets of panels, of panels in collapsed rows, and of query variables", func() {
		path := filepath.Join(GinkgoT().TempDir(), "dashboard.json")
		Expect(os.WriteFile(path, []byte(`{
  "panels": [
    {"type": "stat", "targets": [{"expr": "sum(rollout_info)"}]},
    {"type": "row", "panels": [{"type": "graph", "targets": [{"expr": "rate(rollout_events_total[5m])"}]}]}
  ],
  "templating": {"list": [
    {"type": "datasource", "query": "prometheus"},
    {"type": "query", "query": {"query": "label_values(analysis_run_info, namespace)"}},
    {"type": "query", "query": "label_values(sluice_application_info{namespace=\"$ns\"}, name)"}
  ]}
}`), 0o600)).To(Succeed())
		Expect(DashboardMetrics(path)).To(Equal([]string{
			"analysis_run_info", "rollout_events_total", "rollout_info", "sluice_application_info",
		}))
	})
})
