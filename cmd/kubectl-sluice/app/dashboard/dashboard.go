// Package dashboard is `kubectl sluice dashboard`: the web dashboard,
// served on loopback with the user's own kubeconfig.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/dashboard"
	"github.com/sluicehq/sluice/internal/scheme"
)

// Options are the dashboard's flags and what Complete makes of them.
type Options struct {
	genericiooptions.IOStreams
	flags *genericclioptions.ConfigFlags

	// Address is the address to listen on: loopback unless the user asks
	// for more.
	Address string
	Port    int

	client    client.WithWatch
	namespace string
}

// NewOptions are the defaults: loopback, port 3100 (Argo Rollouts'
// dashboard's port).
func NewOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, flags: flags, Address: "127.0.0.1", Port: 3100}
}

// NewCmdDashboard is `kubectl sluice dashboard`.
func NewCmdDashboard(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewOptions(flags, streams)
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a live web dashboard of Rollouts and Applications on localhost",
		Long: `Serve a web dashboard of the Rollouts and Applications of the namespace
(-n, or the kubeconfig's), updated live from API watches, with promote,
abort, retry, pause, resume, restart and undo on Rollouts, and sync,
refresh and rollback on Applications.

Every read and action uses your kubeconfig's credentials: the page shows
and does only what kubectl would let you. It listens on 127.0.0.1 only,
unless --address says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.Address, "address", o.Address, "the address to listen on (anything but loopback lets others on the network use your credentials)")
	cmd.Flags().IntVarP(&o.Port, "port", "p", o.Port, "the port to listen on (0: any free port)")
	return cmd
}

// Complete connects with the kubeconfig.
func (o *Options) Complete() error {
	cfg, err := o.flags.ToRESTConfig()
	if err != nil {
		return err
	}
	if o.namespace, _, err = o.flags.ToRawKubeConfigLoader().Namespace(); err != nil {
		return err
	}
	o.client, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	return err
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("--port %d is not a port", o.Port)
	}
	if net.ParseIP(o.Address) == nil && o.Address != "localhost" {
		return fmt.Errorf("--address %q is not an IP address", o.Address)
	}
	return nil
}

// Run serves the dashboard until ctx ends.
func (o *Options) Run(ctx context.Context) error {
	listener, err := net.Listen("tcp", net.JoinHostPort(o.Address, strconv.Itoa(o.Port)))
	if err != nil {
		return err
	}
	token, err := dashboard.NewToken()
	if err != nil {
		return err
	}
	server := dashboard.New(o.client, o.namespace, token)
	if hosts := dashboard.LoopbackHosts(listener.Addr()); hosts != nil {
		server.AllowHosts(hosts...)
	}
	srv := &http.Server{Handler: server.Handler(), ReadHeaderTimeout: 10 * time.Second}
	// The address carries the token: it is what lets a browser in, so it is
	// printed for the user alone, as Jupyter prints its own.
	fmt.Fprintf(o.Out, "Sluice dashboard: http://%s/?token=%s\n", listener.Addr(), token)
	fmt.Fprintf(o.ErrOut, "Namespace %s; Ctrl-C to stop\n", o.namespace)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(listener) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Streams never end by themselves: close what Shutdown leaves open.
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return srv.Close()
}
