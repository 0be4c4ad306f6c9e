package application

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fluxcd/pkg/ssa"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/cmd/kubectl-sluice/app/cmdutil"
	"github.com/sluicehq/sluice/gitops"
	"github.com/sluicehq/sluice/gitops/cluster"
	"github.com/sluicehq/sluice/gitops/decrypt"
	"github.com/sluicehq/sluice/gitops/hooks"
	"github.com/sluicehq/sluice/gitops/source"
)

// errDiffers is the exit of `app diff` when a sync would change something,
// as kubectl diff exits 1; the diff has said so already.
var errDiffers = cmdutil.Quiet(errors.New("a sync would change the cluster"))

// DiffOptions are `app diff`'s options.
type DiffOptions struct {
	genericiooptions.IOStreams

	Name string
	// AllowRemoteBases lets the kustomization load bases and files from
	// outside the repository.
	AllowRemoteBases bool

	flags *genericclioptions.ConfigFlags
	conn  cmdutil.Connection
}

// NewDiffOptions are `app diff`'s options, the render confined to the
// checkout.
func NewDiffOptions(streams genericiooptions.IOStreams) *DiffOptions {
	return &DiffOptions{IOStreams: streams}
}

// NewCmdDiff is `app diff APPLICATION [--allow-remote-bases]`.
func NewCmdDiff(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewDiffOptions(streams)
	o.flags = flags
	cmd := &cobra.Command{
		Use:   "diff APPLICATION",
		Short: "Show what a sync of the Application's revision would change, as a unified diff (Secrets masked); exit 1 when it would",
		Args:  cobra.ExactArgs(1),
		RunE:  cmdutil.RunE(o),
	}
	// The render is confined to the checkout here as in the manager: a
	// repository's kustomization reads nothing else of this workstation.
	cmd.Flags().BoolVar(&o.AllowRemoteBases, "allow-remote-bases", false,
		"Let the kustomization load bases and files from outside the repository, as the manager's flag of the same name")
	return cmd
}

// Complete reads APPLICATION and connects.
func (o *DiffOptions) Complete(_ *cobra.Command, args []string) error {
	o.Name = nameArg(args)
	var err error
	o.conn, err = cmdutil.Connect(o.flags)
	return err
}

// Validate checks the name.
func (o *DiffOptions) Validate() error {
	if o.Name == "" {
		return errNoName
	}
	return nil
}

// Run prints the diff, and returns errDiffers when there is one.
func (o *DiffOptions) Run(ctx context.Context) error {
	app := &gitopsv1alpha1.Application{}
	if err := o.conn.Get(ctx, "application", o.Name, app); err != nil {
		return err
	}
	text, differs, err := diffApplication(ctx, o.conn.Client, app, o.AllowRemoteBases)
	if err != nil {
		return err
	}
	fmt.Fprint(o.Out, text)
	if differs {
		return errDiffers
	}
	return nil
}

// diffApplication fetches and renders the Application's revision here, as
// the controller would, and compares it with the cluster by server-side
// dry runs.
func diffApplication(ctx context.Context, cl client.Client, app *gitopsv1alpha1.Application, allowRemote bool) (string, bool, error) {
	if d := app.Spec.Destination; !cluster.IsInCluster(d.Server, d.Name) {
		return "", false, fmt.Errorf("application %s is applied to cluster %s, and app diff compares with the cluster kubectl reaches: "+
			"not supported for another cluster yet", app.Name, cluster.Describe(d.Server, d.Name, ""))
	}
	src := app.Spec.Source
	var data map[string][]byte
	if ref := app.Spec.SecretRef; ref != nil {
		var secret corev1.Secret
		if err := cl.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: ref.Name}, &secret); err != nil {
			return "", false, fmt.Errorf("reading the Git credentials: %w", err)
		}
		data = secret.Data
	}
	auth, err := source.AuthFromSecret(src.RepoURL, data)
	if err != nil {
		return "", false, err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", false, err
	}
	fetcher := &source.Fetcher{CacheDir: filepath.Join(cache, "sluice", "kubectl-git")}
	rev, err := fetcher.Resolve(ctx, src.RepoURL, src.TargetRevision, auth)
	if err != nil {
		return "", false, err
	}
	vars, err := gitops.ReadPostBuild(ctx, cl, app)
	if err != nil {
		return "", false, err
	}
	keys, err := decryptionKeys(ctx, cl, app)
	if err != nil {
		return "", false, err
	}
	objects, err := gitops.Desired(ctx, gitops.DesiredInput{Fetcher: fetcher, Mapper: cl.RESTMapper(), App: app, Revision: rev,
		Auth: auth, Namespace: app.Spec.Destination.Namespace, AllowRemoteBases: allowRemote, Variables: vars, Keys: keys, Owner: gitops.ApplicationOwner})
	if err != nil {
		return "", false, err
	}
	if objects, err = resourcesOf(objects); err != nil {
		return "", false, err
	}
	ignore, err := gitops.CompileIgnoreDifferences(app.Spec.IgnoreDifferences)
	if err != nil {
		return "", false, err
	}
	syncer := gitops.NewSyncer(cl, gitops.ApplicationOwner)
	diffs, err := syncer.Diff(ctx, objects, ignore)
	if err != nil {
		return "", false, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "revision %s\n", rev.Commit)
	differs := false
	for _, d := range diffs {
		name := fmt.Sprintf("%s %s/%s", d.Ref.Kind, d.Ref.Namespace, d.Ref.Name)
		switch d.Action {
		case ssa.CreatedAction:
			differs = true
			fmt.Fprintf(&b, "+ %s (created)\n", name)
		case ssa.ConfiguredAction:
			differs = true
			live, desired := asYAML(d.Live), asYAML(d.Desired)
			diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
				A: difflib.SplitLines(live), B: difflib.SplitLines(desired),
				FromFile: "live " + name, ToFile: "git " + name, Context: 3,
			})
			if err != nil {
				return "", false, err
			}
			b.WriteString(diff)
		}
	}
	if pruning := app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil && app.Spec.SyncPolicy.Automated.Prune; pruning {
		for _, ref := range gitops.Stale(app.Status.Inventory, objects) {
			differs = true
			fmt.Fprintf(&b, "- %s %s/%s (pruned)\n", ref.Kind, ref.Namespace, ref.Name)
		}
	}
	if !differs {
		b.WriteString("no differences\n")
	}
	return b.String(), differs, nil
}

// decryptionKeys reads spec.decryption's keys as the person running the
// command, who must be allowed to read the Secret. The decrypted Secrets'
// values are masked in the diff, as every Secret's are.
func decryptionKeys(ctx context.Context, cl client.Client, app *gitopsv1alpha1.Application) (*decrypt.Keys, error) {
	d := app.Spec.Decryption
	if d == nil {
		return nil, nil
	}
	if d.Provider != decrypt.Provider {
		return nil, fmt.Errorf("spec.decryption.provider %q is not supported: the only provider is %s", d.Provider, decrypt.Provider)
	}
	if d.SecretRef == nil {
		return nil, errors.New("spec.decryption.secretRef.name is required")
	}
	var secret corev1.Secret
	if err := cl.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: d.SecretRef.Name}, &secret); err != nil {
		return nil, fmt.Errorf("reading the decryption keys: %w", err)
	}
	return decrypt.KeysFromSecret(d.SecretRef.Name, secret.Data)
}

// resourcesOf leaves out the hooks and skipped objects of a render: a
// sync creates hooks anew in their phases and never compares them, so a
// hook deleted once it succeeded is no difference.
func resourcesOf(objects []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, o := range objects {
		role, err := hooks.RoleOf(o.GetAnnotations())
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if role.Hook == nil && !role.Skip {
			out = append(out, o)
		}
	}
	return out, nil
}

// asYAML is an object as YAML without the fields that always differ.
func asYAML(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	u = u.DeepCopy()
	for _, f := range [][]string{{"metadata", "resourceVersion"}, {"metadata", "generation"}, {"metadata", "uid"},
		{"metadata", "creationTimestamp"}, {"metadata", "managedFields"}, {"status"}} {
		unstructured.RemoveNestedField(u.Object, f...)
	}
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		return err.Error()
	}
	return string(data)
}
