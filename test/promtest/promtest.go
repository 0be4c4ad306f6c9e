// Package promtest runs a real Prometheus for tests and the demo, scraping
// an exporter whose values the caller sets: the stand-in for an application
// whose error rate a canary analysis reads.
package promtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/sluicehq/sluice/test/simcluster"
)

// Exporter serves gauges in Prometheus' text format on loopback.
type Exporter struct {
	mu     sync.Mutex
	gauges map[string]float64 // series ("name{labels}") -> value
	server *http.Server
	// Addr is host:port of its /metrics endpoint.
	Addr string
}

// StartExporter serves /metrics on a free loopback port until Stop.
func StartExporter() (*Exporter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &Exporter{gauges: map[string]float64{}, Addr: l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", e.serve)
	e.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.server.Serve(l) }()
	return e, nil
}

// Set sets a gauge, such as Set(`demo_error_rate{app="web"}`, 0.01).
func (e *Exporter) Set(series string, value float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gauges[series] = value
}

func (e *Exporter) serve(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	series := make([]string, 0, len(e.gauges))
	for s := range e.gauges {
		series = append(series, s)
	}
	sort.Strings(series)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	seen := map[string]bool{}
	for _, s := range series {
		name := s
		if i := strings.IndexByte(s, '{'); i >= 0 {
			name = s[:i]
		}
		if !seen[name] {
			fmt.Fprintf(w, "# TYPE %s gauge\n", name)
			seen[name] = true
		}
		fmt.Fprintf(w, "%s %g\n", s, e.gauges[s])
	}
}

// Stop stops serving.
func (e *Exporter) Stop() error { return e.server.Close() }

// Prometheus is a running Prometheus server.
type Prometheus struct {
	// URL is its HTTP API's base URL.
	URL     string
	process *simcluster.Process
}

// Start runs bin/prometheus (see `make tools`) on a free loopback port,
// scraping the targets every second, with its data and log in dir. It
// returns once the server answers.
func Start(ctx context.Context, dir string, targets ...string) (*Prometheus, error) {
	binDir, err := simcluster.DefaultBinDir()
	if err != nil {
		return nil, err
	}
	binary := filepath.Join(binDir, "prometheus")
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("%s not found; run `make tools`", binary)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	quoted := make([]string, len(targets))
	for i, t := range targets {
		quoted[i] = fmt.Sprintf("%q", t)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: app
  static_configs:
  - targets: [%s]
`, strings.Join(quoted, ", "))
	// A fresh database every time: series an earlier run's exporter left
	// stay current for minutes and would answer this run's queries.
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	process, err := simcluster.StartLogged("prometheus", binary, dir,
		"--config.file="+configPath,
		"--web.listen-address="+addr,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
	)
	if err != nil {
		return nil, err
	}
	p := &Prometheus{URL: "http://" + addr, process: process}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if !process.Running() {
			return false, process.ExitError()
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		_ = process.Stop()
		return nil, fmt.Errorf("prometheus did not become ready: %w", err)
	}
	return p, nil
}

// Stop stops the server.
func (p *Prometheus) Stop() error { return p.process.Stop() }
