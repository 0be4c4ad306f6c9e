// Package decrypt opens SOPS-encrypted manifests with keys held in memory:
// age identities and armored PGP private keys that an Application's
// decryption Secret holds. Nothing is written to disk, no key is taken from
// the manager's environment or home directory, no gpg binary runs, and no
// KMS, Vault or cloud key service is called.
//
// A document is decrypted as sops itself does (the sops Go packages parse
// it, check each value's authentication tag and the document's MAC); only
// the data key is recovered here, from the age or PGP master keys of the
// document's metadata, because sops' own key sources look for keys outside
// the process: its PGP source runs gpg or reads a GnuPG home directory, and
// its age source falls back to files and environment variables.
package decrypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	agearmor "filippo.io/age/armor"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/logging"
	sopspgp "github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/shamir"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/sirupsen/logrus"
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

func init() {
	// sops logs through its own loggers; a warning of its can quote a
	// document's comment. Nothing of a tenant's document goes to the
	// manager's output.
	logging.SetLevel(logrus.PanicLevel)
}

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
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{})
	tree, err := store.LoadEncryptedFile(doc)
	if err != nil {
		return nil, fmt.Errorf("its SOPS metadata does not parse: %s", firstLine(err))
	}
	if len(tree.Branches) != 1 {
		return nil, fmt.Errorf("it holds %d documents under one SOPS metadata; encrypt one object per document", len(tree.Branches))
	}
	dataKey, err := k.dataKey(tree.Metadata)
	if err != nil {
		return nil, err
	}
	// A cipher of its own: sops' cipher remembers what it decrypted.
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		// sops' message can quote a decrypted value that is not of its
		// declared type: say what happened without it.
		return nil, errors.New("a value does not decrypt with the data key: the document was changed after it was encrypted")
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey,
		tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, errors.New("its MAC does not decrypt with the data key: the MAC or lastmodified was changed")
	}
	switch {
	case stored == "":
		return nil, errors.New("it has no MAC")
	case stored != mac:
		return nil, errors.New("MAC mismatch: the document was changed after it was encrypted " +
			"(a value added, removed, reordered or edited; a kustomization that changes an encrypted " +
			"object needs it encrypted with --mac-only-encrypted)")
	}
	plain, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, errors.New("the decrypted document cannot be written as YAML")
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

// dataKey recovers the document's data key with the age and PGP master
// keys of its key groups; with more than one group, from the Shamir
// shares of as many groups as the threshold asks.
func (k *Keys) dataKey(meta sops.Metadata) ([]byte, error) {
	if len(meta.KeyGroups) == 0 {
		return nil, errors.New("its SOPS metadata names no master key")
	}
	if !hasLocalKey(meta.KeyGroups) {
		return nil, fmt.Errorf("its only master keys are %s, which are not supported: "+
			"encrypt it for an age or PGP key as well", strings.Join(keyTypes(meta.KeyGroups), ", "))
	}
	var parts [][]byte
	var failures []string
	for i, group := range meta.KeyGroups {
		part, err := k.groupPart(group)
		if err != nil {
			failures = append(failures, fmt.Sprintf("key group %d: %v", i+1, err))
			continue
		}
		parts = append(parts, part)
	}
	if len(meta.KeyGroups) == 1 {
		if len(parts) == 0 {
			return nil, errors.New(strings.TrimPrefix(failures[0], "key group 1: "))
		}
		return parts[0], nil
	}
	threshold := meta.ShamirThreshold
	if threshold == 0 {
		threshold = len(meta.KeyGroups)
	}
	if len(parts) < threshold {
		return nil, fmt.Errorf("%d of %d key groups open, %d needed: %s", len(parts), len(meta.KeyGroups), threshold,
			strings.Join(failures, "; "))
	}
	key, err := shamir.Combine(parts)
	if err != nil {
		return nil, errors.New("the key groups' shares do not combine into a data key")
	}
	return key, nil
}

// groupPart decrypts what one key group holds with the first of its age
// or PGP master keys that a key of the Secret opens.
func (k *Keys) groupPart(group sops.KeyGroup) ([]byte, error) {
	var tried []string
	for _, key := range group {
		switch key := key.(type) {
		case *sopsage.MasterKey:
			if part, err := k.openAge(key.EncryptedKey); err == nil {
				return part, nil
			}
			tried = append(tried, "age "+key.Recipient)
		case *sopspgp.MasterKey:
			if part, err := k.openPGP(key.EncryptedKey); err == nil {
				return part, nil
			}
			tried = append(tried, "PGP "+key.Fingerprint)
		}
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("its only master keys are %s, which are not supported", strings.Join(keyTypes([]sops.KeyGroup{group}), ", "))
	}
	return nil, fmt.Errorf("no key of the Secret opens it (it is encrypted for %s)", strings.Join(tried, ", "))
}

func (k *Keys) openAge(encrypted string) ([]byte, error) {
	if len(k.age) == 0 {
		return nil, errors.New("no age identity")
	}
	r, err := age.Decrypt(agearmor.NewReader(strings.NewReader(encrypted)), k.age...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, 1<<10))
}

func (k *Keys) openPGP(encrypted string) ([]byte, error) {
	if len(k.pgp) == 0 {
		return nil, errors.New("no PGP key")
	}
	var body io.Reader = strings.NewReader(encrypted)
	if block, err := pgparmor.Decode(strings.NewReader(encrypted)); err == nil {
		body = block.Body
	}
	md, err := openpgp.ReadMessage(body, k.pgp, nil, nil)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(md.UnverifiedBody, 1<<10))
}

// hasLocalKey reports whether some key group holds an age or PGP key.
func hasLocalKey(groups []sops.KeyGroup) bool {
	for _, group := range groups {
		for _, key := range group {
			switch key.(type) {
			case *sopsage.MasterKey, *sopspgp.MasterKey:
				return true
			}
		}
	}
	return false
}

// keyTypes names the kinds of master keys of groups, as sops' metadata
// names them (kms, gcp_kms, azure_kv, hc_vault, ...).
func keyTypes(groups []sops.KeyGroup) []string {
	seen := map[string]bool{}
	var out []string
	for _, group := range groups {
		for _, key := range group {
			t := key.TypeToIdentifier()
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out
}
