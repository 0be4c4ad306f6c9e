package application

import (
	"context"
	"errors"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sluicehq/sluice/gitops/webhook"
)

// webhookServer serves the push-event receiver at POST /hooks/git for as
// long as the manager runs. It runs on every replica, not only the leader:
// the annotation it writes reaches the leader through its watch.
func webhookServer(address string, receiver webhook.Receiver) manager.Runnable {
	return serverRunnable{address: address, receiver: receiver}
}

type serverRunnable struct {
	address  string
	receiver webhook.Receiver
}

func (s serverRunnable) NeedLeaderElection() bool { return false }

func (s serverRunnable) Start(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("/hooks/git", s.receiver)
	server := &http.Server{Addr: s.address, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
