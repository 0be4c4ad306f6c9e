package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sluicehq/sluice/internal/apiwait"
)

// crdPollInterval is how often a manager waiting for its CRDs looks again.
const crdPollInterval = 2 * time.Second

// waitForResources returns once the API server serves every required
// resource. Meanwhile it answers the probes itself: alive, and not ready
// with the names of the CRDs it waits for, so `kubectl describe pod` says
// what is missing and a rollout of the manager does not go ahead.
func waitForResources(ctx context.Context, cfg *rest.Config, probeAddr string, required []schema.GroupVersionResource) error {
	log := ctrl.Log.WithName("setup")
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("making a discovery client: %w", err)
	}
	missing, err := apiwait.Missing(disco, required)
	if err == nil && len(missing) == 0 {
		return nil
	}

	var notReady atomic.Value
	notReady.Store("waiting for the API server")
	stop, err := serveProbesWhileWaiting(probeAddr, &notReady)
	if err != nil {
		return err
	}
	defer stop()

	return apiwait.Until(ctx, disco, required, crdPollInterval,
		func(missing []schema.GroupVersionResource) {
			if len(missing) == 0 {
				log.Info("the CRDs are served; starting")
				return
			}
			notReady.Store("waiting for CRDs: " + apiwait.Describe(missing))
			log.Info("waiting for CRDs to be established", "missing", apiwait.Describe(missing))
		},
		func(err error) {
			notReady.Store("waiting for the API server")
			log.Error(err, "looking for CRDs; retrying")
		})
}

// serveProbesWhileWaiting serves /healthz (ok) and /readyz (503 with the
// reason) on the manager's probe address until stop is called, when the
// manager's own probe server takes the address over.
func serveProbesWhileWaiting(addr string, notReady *atomic.Value) (stop func(), err error) {
	if addr == "" || addr == "0" {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, notReady.Load().(string), http.StatusServiceUnavailable)
	})
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on the probe address %s: %w", addr, err)
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ctrl.Log.WithName("setup").Error(err, "serving probes while waiting for CRDs")
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}, nil
}
