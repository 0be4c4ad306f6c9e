package render

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/gitops/decrypt"
)

// decryptRendered replaces a SOPS-encrypted object with its plaintext, in
// memory. The object is decrypted from its document as produced (a file's
// document, a kustomization's output), whose order the MAC depends on. An
// error names where the object came from and the object, and says why in
// words that hold no value of it.
func decryptRendered(r rendered, open func(doc []byte) (map[string]any, error)) error {
	if !decrypt.IsEncrypted(r.object.Object) {
		return nil
	}
	what := objectName(r.object)
	if open == nil {
		return &DecryptError{fmt.Errorf("%s: %s is encrypted with SOPS, and spec.decryption is not set", r.origin, what)}
	}
	var doc []byte
	var err error
	if r.source != nil {
		doc, err = r.source()
	} else {
		// An item of a List: in the List's order as far as it is known,
		// which sorts its keys; its MAC holds only if it was encrypted so.
		doc, err = yaml.Marshal(r.object.Object)
	}
	if err != nil {
		return &DecryptError{fmt.Errorf("%s: %s is encrypted with SOPS and cannot be read back: %w", r.origin, what, err)}
	}
	plain, err := open(doc)
	if err != nil {
		return &DecryptError{fmt.Errorf("%s: %s cannot be decrypted: %w", r.origin, what, err)}
	}
	r.object.Object = plain
	if r.object.GetAPIVersion() == "" || r.object.GetKind() == "" || r.object.GetName() == "" {
		return &DecryptError{fmt.Errorf("%s: %s decrypts to an object without apiVersion, kind or metadata.name", r.origin, what)}
	}
	return nil
}

// objectName is kind namespace/name, or kind name, of a rendered object;
// one whose kind or name is encrypted too is named for what it is.
func objectName(u *unstructured.Unstructured) string {
	if strings.HasPrefix(u.GetKind(), "ENC[") || strings.HasPrefix(u.GetName(), "ENC[") {
		return "an object whose kind or name is encrypted"
	}
	if ns := u.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", u.GetKind(), ns, u.GetName())
	}
	return fmt.Sprintf("%s %s", u.GetKind(), u.GetName())
}

// DecryptError is an encrypted object that could not be decrypted.
type DecryptError struct{ Err error }

func (e *DecryptError) Error() string { return e.Err.Error() }
func (e *DecryptError) Unwrap() error { return e.Err }

// documentOfResource is a kustomization's output object as YAML in its
// fields' order: kustomize's own AsYAML goes through JSON, which sorts
// them, and a SOPS MAC is computed in the order the file has.
func documentOfResource(res *resource.Resource) func() ([]byte, error) {
	return func() ([]byte, error) {
		s, err := res.RNode.String()
		return []byte(s), err
	}
}
