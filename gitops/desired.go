package gitops

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/decrypt"
	"github.com/sluicehq/sluice/gitops/render"
	"github.com/sluicehq/sluice/gitops/source"
	"github.com/sluicehq/sluice/internal/instance/inherit"
)

// The labels that name an applied object's Application (Sluice's own;
// other doors have their own Owner).
const (
	OwnerNameLabel      = OwnerGroup + "/name"
	OwnerNamespaceLabel = OwnerGroup + "/namespace"
)

// DesiredInput is what an Application's desired objects are made from.
type DesiredInput struct {
	Fetcher *source.Fetcher
	// Mapper tells namespaced kinds from cluster-scoped ones.
	Mapper meta.RESTMapper
	App    *gitopsv1alpha1.Application
	// Owner is the pair of labels the objects get: the door's the
	// Application came in by.
	Owner Owner
	// Revision is the commit to render, as Fetcher.Resolve named it.
	Revision source.Revision
	Auth     transport.AuthMethod
	// Namespace is where namespaced objects that name none go: the
	// destination's, as tenancy allows it.
	Namespace string
	// AllowRemoteBases is the operator's choice, never the tenant's.
	AllowRemoteBases bool
	// Variables are spec.postBuild's, as ReadPostBuild read them; nil
	// without postBuild.
	Variables *render.Variables
	// Keys decrypt SOPS-encrypted objects: spec.decryption's Secret's.
	// Nil, an encrypted object fails the render.
	Keys *decrypt.Keys
}

// Desired is what a revision of an Application asks the cluster to hold:
// its source checked out and rendered, namespaced objects placed in the
// destination, every object labelled as the Application's. The controller
// syncs it and `kubectl sluice app diff` compares it, so both see the same
// objects.
func Desired(ctx context.Context, in DesiredInput) ([]*unstructured.Unstructured, error) {
	objects, _, err := DesiredAt(ctx, in)
	return objects, err
}

// DesiredAt is Desired, with what the revision's commit records (its
// message, author and date), which the Application's status shows.
func DesiredAt(ctx context.Context, in DesiredInput) ([]*unstructured.Unstructured, source.CommitInfo, error) {
	src := in.App.Spec.Source
	checkout, err := in.Fetcher.Checkout(ctx, src.RepoURL, in.Revision, in.Auth)
	if err != nil {
		return nil, source.CommitInfo{}, &SourceError{Reason: "FetchFailed", Err: err}
	}
	objects, err := desiredIn(checkout.Dir, in)
	checkout.Release() // the objects are in memory
	return objects, checkout.Commit, err
}

// desiredIn renders the checkout in dir.
func desiredIn(dir string, in DesiredInput) ([]*unstructured.Unstructured, error) {
	src := in.App.Spec.Source
	opts := ApplicationRenderOptions(in.App, in.Namespace, in.AllowRemoteBases)
	if in.Keys != nil {
		opts.Decrypt = in.Keys.Document
	}
	objects, err := render.Render(dir, src.Path, opts)
	var undecrypted *render.DecryptError
	if errors.As(err, &undecrypted) {
		return nil, &SourceError{Reason: "DecryptionFailed", Err: fmt.Errorf("revision %s: %w", Short(in.Revision.Commit), err)}
	}
	if err != nil {
		return nil, &SourceError{Reason: "RenderFailed", Err: fmt.Errorf("revision %s: %w", Short(in.Revision.Commit), err)}
	}
	if in.Variables != nil {
		if objects, err = render.Substitute(objects, *in.Variables); err != nil {
			return nil, &SourceError{Reason: "SubstituteFailed", Err: fmt.Errorf("revision %s: %w", Short(in.Revision.Commit), err)}
		}
	}
	if err := PlaceInNamespace(objects, in.Namespace, in.Mapper); err != nil {
		return nil, &SourceError{Reason: "RenderFailed", Err: fmt.Errorf("revision %s: %w", Short(in.Revision.Commit), err)}
	}
	in.Owner.Label(objects, types.NamespacedName{Namespace: in.App.Namespace, Name: in.App.Name})
	// What an Application in a shard applies is in its shard: a Rollout
	// it applies is run by the same manager, which watches only its
	// shard's objects. The label is part of what is desired, so it is no
	// drift. An Application in no shard adds nothing.
	for _, obj := range objects {
		obj.SetLabels(inherit.ShardAdded(in.App.Labels, obj.GetLabels()))
	}
	return objects, nil
}

// SourceError is a revision that could not be fetched or rendered; Reason
// is the condition reason a person sees (FetchFailed, RenderFailed).
type SourceError struct {
	Reason string
	Err    error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Short is a commit as people read it.
func Short(commit string) string { return commit[:min(len(commit), 12)] }
