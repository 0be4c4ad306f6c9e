package simcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicehq/sluice/internal/repo"
)

// DefaultBinDir is $SLUICE_BIN_DIR, or bin/ in the checkout, where
// `make tools` links the binaries it builds.
func DefaultBinDir() (string, error) {
	if dir := os.Getenv("SLUICE_BIN_DIR"); dir != "" {
		return dir, nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin"), nil
}

// DefaultCRDPaths are Sluice's generated CRDs, the Gateway API
// standard-channel CRDs of the gateway-api module the project builds with,
// and, last, Flux's two kinds and Argo CD's Application (config/crd/flux,
// config/crd/argocd), which the manager serves on a cluster without them.
func DefaultCRDPaths() ([]string, error) {
	root, err := repo.Root()
	if err != nil {
		return nil, err
	}
	gatewayAPI, err := repo.ModuleDir("sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	return []string{
		filepath.Join(root, "config", "crd", "bases"),
		filepath.Join(gatewayAPI, "config", "crd", "standard"),
		// Flux's GitRepository and Kustomization, served by Sluice on a
		// cluster without Flux, as the chart's flux.crds.install installs them.
		filepath.Join(root, "config", "crd", "flux"),
		// Argo CD's Application kind, served by Sluice on a cluster without
		// Argo CD, as the chart's crds.argoCDApplications installs it.
		filepath.Join(root, "config", "crd", "argocd"),
	}, nil
}

// healthClient probes the components' self-signed HTTPS health endpoints on
// loopback; there is no CA to verify them against.
var healthClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback, self-signed
}

func checkHealth(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return nil
}
