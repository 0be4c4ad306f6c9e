package application

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application/plan"
	"github.com/sluicehq/sluice/gitops/decrypt"
)

// decryptionKeys reads the keys of spec.decryption's Secret as who the
// Application acts as (see identity), as its Git credentials are read: a
// tenant who may not read a Secret cannot have the manager decrypt with
// it. Nil without spec.decryption. The keys stay in memory for this
// render only.
func (r *Reconciler) decryptionKeys(ctx context.Context, app *gitopsv1alpha1.Application,
	identity func() (string, error)) (*decrypt.Keys, *plan.Failure) {
	d := app.Spec.Decryption
	if d == nil {
		return nil, nil
	}
	if d.Provider != decrypt.Provider {
		return nil, &plan.Failure{Reason: "InvalidSpec", Message: fmt.Sprintf(
			"spec.decryption.provider %q is not supported: the only provider is %s", d.Provider, decrypt.Provider)}
	}
	if d.SecretRef == nil || d.SecretRef.Name == "" {
		return nil, &plan.Failure{Reason: "InvalidSpec", Message: "spec.decryption.secretRef.name is required: " +
			"SOPS documents are decrypted with the age and PGP keys of that Secret only"}
	}
	who, err := identity()
	if err != nil {
		return nil, &plan.Failure{Reason: "ServiceAccountRefused", Message: err.Error()}
	}
	reader := r.APIReader
	if who != "" {
		c, err := r.clientAs(who)
		if err != nil {
			return nil, &plan.Failure{Reason: "DecryptionFailed", Message: err.Error()}
		}
		reader = c
	}
	var secret corev1.Secret
	if err := reader.Get(ctx, types.NamespacedName{Namespace: app.Namespace, Name: d.SecretRef.Name}, &secret); err != nil {
		return nil, &plan.Failure{Reason: "DecryptionFailed",
			Message: fmt.Sprintf("spec.decryption.secretRef: reading Secret %s: %v", d.SecretRef.Name, err)}
	}
	keys, err := decrypt.KeysFromSecret(d.SecretRef.Name, secret.Data)
	if err != nil {
		return nil, &plan.Failure{Reason: "DecryptionFailed", Message: "spec.decryption.secretRef: " + err.Error()}
	}
	return keys, nil
}
