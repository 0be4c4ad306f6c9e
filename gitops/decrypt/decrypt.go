// Package decrypt opens SOPS-encrypted manifests with keys held in memory:
// age identities and armored PGP private keys that an Application's
// decryption Secret holds. Nothing is written to disk, no key is taken from
// the manager's environment or home directory, no gpg binary runs, and no
// KMS, Vault or cloud key service is called.
//
// The SOPS format (https://github.com/getsops/sops) is read here rather
// than with sops' Go packages, which link the client of every key service
// sops supports into the manager: a document's YAML is read into sops'
// tree (tree.go), its metadata says which values are encrypted and for
// whom (metadata.go), the data key is recovered from an age or PGP master
// key, or from Shamir shares of several key groups (datakey.go,
// shamir.go), and every encrypted value is opened with AES-256-GCM and
// the document's MAC checked (values.go), exactly as `sops --decrypt`
// does.
package decrypt

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	"sigs.k8s.io/yaml"
)

// Provider is the one decryption provider: spec.decryption.provider.
const Provider = "sops"

// The suffixes of a decryption Secret's keys, as Flux names them: an age
// identity file (one or more AGE-SECRET-KEY lines) and an armored PGP
// private key.
const (
	AgeKeySuffix = ".agekey"
	PGPKeySuffix = ".asc"
)

// MetadataKey is the top-level key of a document's SOPS metadata.
const MetadataKey = "sops"

// Keys are the private keys of one decryption Secret.
type Keys struct {
	age []age.Identity
	pgp openpgp.EntityList
}

// KeysFromSecret reads the keys of a decryption Secret: every entry whose
// key ends in .agekey holds age identities, every one ending in .asc an
// armored PGP private key; other entries are left alone. An error names
// the Secret and the entry, never its content.
func KeysFromSecret(secret string, data map[string][]byte) (*Keys, error) {
	names := make([]string, 0, len(data))
	for name := range data {
		names = append(names, name)
	}
	sort.Strings(names)
	k := &Keys{}
	for _, name := range names {
		switch path.Ext(name) {
		case AgeKeySuffix:
			ids, err := age.ParseIdentities(bytes.NewReader(data[name]))
			if err != nil {
				return nil, fmt.Errorf("the Secret %s: %s holds no age identity: %s", secret, name, ageParseReason(err))
			}
			k.age = append(k.age, ids...)
		case PGPKeySuffix:
			entities, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data[name]))
			if err != nil {
				return nil, fmt.Errorf("the Secret %s: %s is not an armored PGP key: %w", secret, name, err)
			}
			for _, e := range entities {
				if e.PrivateKey == nil {
					return nil, fmt.Errorf("the Secret %s: %s holds the public PGP key %X, not its private key",
						secret, name, e.PrimaryKey.Fingerprint)
				}
				if e.PrivateKey.Encrypted {
					return nil, fmt.Errorf("the Secret %s: %s holds the PGP key %X protected by a passphrase; "+
						"store it without one", secret, name, e.PrimaryKey.Fingerprint)
				}
			}
			k.pgp = append(k.pgp, entities...)
		}
	}
	if len(k.age) == 0 && len(k.pgp) == 0 {
		return nil, fmt.Errorf("the Secret %s holds no key ending in %s or %s", secret, AgeKeySuffix, PGPKeySuffix)
	}
	return k, nil
}

// ageParseReason is why age identities did not parse, without the line
// that did not: age's error quotes it, and the line may be a key.
func ageParseReason(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "no secret keys") {
		return "no AGE-SECRET-KEY line"
	}
	return "a line is neither a comment nor an AGE-SECRET-KEY"
}

// IsEncrypted reports whether an object carries SOPS metadata: a
// top-level sops map with a mac or lastmodified entry.
func IsEncrypted(object map[string]any) bool {
	meta, ok := object[MetadataKey].(map[string]any)
	if !ok {
		return false
	}
	_, mac := meta["mac"]
	_, modified := meta["lastmodified"]
	return mac || modified
}

// Document decrypts one SOPS-encrypted YAML or JSON document (one object,
// encrypted on its own) and returns the object without its metadata. The
// document is read in the order it was written, which the MAC depends on.
// An error says why in words of the document's metadata (recipients,
// fingerprints, key types), never with a value of it.
func (k *Keys) Document(doc []byte) (map[string]any, error) {
	d, err := parseDocument(doc)
	if err != nil {
		return nil, err
	}
	dataKey, err := k.dataKey(d.groups, d.threshold)
	if err != nil {
		return nil, err
	}
	dec := newDecrypter(d.rules, dataKey)
	content, err := dec.mapping(d.content, nil, nil)
	if err != nil {
		return nil, err
	}
	stored, err := decryptValue(d.mac, dataKey, d.lastModified.Format(time.RFC3339))
	if err != nil {
		return nil, errors.New("its MAC does not decrypt with the data key: the MAC or lastmodified was changed")
	}
	switch {
	case stored == "":
		return nil, errors.New("it has no MAC")
	case stored != dec.sum():
		return nil, errors.New("MAC mismatch: the document was changed after it was encrypted " +
			"(a value added, removed, reordered or edited; a kustomization that changes an encrypted " +
			"object needs it encrypted with --mac-only-encrypted)")
	}
	plain, err := plainYAML(content)
	if err != nil {
		return nil, fmt.Errorf("the decrypted document cannot be written as YAML: %w", err)
	}
	object := map[string]any{}
	if err := yaml.Unmarshal(plain, &object); err != nil {
		return nil, errors.New("the decrypted document is not an object")
	}
	return object, nil
}

// firstLine is an error's first line: a YAML parser's message names the
// line of the document, and no more of it is needed.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
