// Package cmdutil is what kubectl sluice's commands share: the connection
// (kubectl's flags to a client and a namespace), printing (cli-runtime's
// printers, the redraw of a watch), waiting on API watches, --dry-run, and
// how an error becomes an exit code.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/scheme"
)

// Scheme knows every kind the plugin reads: Argo Rollouts', Sluice's
// GitOps kinds and the core ones.
var Scheme = scheme.New()

// Connection is a client of the cluster kubectl's flags reach and the
// namespace they name (-n, or the kubeconfig context's).
type Connection struct {
	Client    client.WithWatch
	Namespace string
}

// Connect turns kubectl's connection flags into a Connection.
func Connect(flags *genericclioptions.ConfigFlags) (Connection, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return Connection{}, err
	}
	namespace, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return Connection{}, err
	}
	cl, err := client.NewWithWatch(cfg, client.Options{Scheme: Scheme})
	return Connection{Client: cl, Namespace: namespace}, err
}

// Get reads the named object of the namespace into obj, with an error
// that names kind, as `kubectl sluice` has always named what it could not
// read.
func (c Connection) Get(ctx context.Context, kind, name string, obj client.Object) error {
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, obj); err != nil {
		return fmt.Errorf("reading %s %s in namespace %s: %w", kind, name, c.Namespace, err)
	}
	return nil
}

// ListScope is where a list command looks: the namespace, or with
// --all-namespaces every namespace.
func (c Connection) ListScope(allNamespaces bool) []client.ListOption {
	if allNamespaces {
		return nil
	}
	return []client.ListOption{client.InNamespace(c.Namespace)}
}

// quietError is an error whose command has already said all there is to
// say: it only sets the exit code.
type quietError struct{ error }

// Quiet marks err as said already: the plugin exits 1 without printing it,
// as `kubectl diff` exits 1 after printing a difference.
func Quiet(err error) error { return quietError{err} }

// ExitCode is the plugin's exit code for what its command returned, having
// printed the error to errOut unless it was Quiet.
func ExitCode(err error, errOut io.Writer) int {
	if err == nil {
		return 0
	}
	var quiet quietError
	if !errors.As(err, &quiet) {
		fmt.Fprintln(errOut, "error:", err)
	}
	return 1
}

// SetKind sets obj's apiVersion and kind from the Scheme, and those of
// every item when obj is a list: typed clients leave them empty, and
// `-o json|yaml|name` print them.
func SetKind(obj runtime.Object) error {
	if err := setKind(obj); err != nil {
		return err
	}
	items, err := extractList(obj)
	if err != nil || items == nil {
		return err
	}
	for _, item := range items {
		if err := setKind(item); err != nil {
			return err
		}
	}
	return nil
}
