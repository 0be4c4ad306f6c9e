// Package sopstest encrypts manifests with SOPS for tests, with keys made
// by the test: no key material is checked in.
package sopstest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/kms"
	sopspgp "github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/shamir"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
)

// Options say whom a document is encrypted for, and how.
type Options struct {
	// Age are age recipients (age1...).
	Age []string
	// PGP are PGP entities; their public keys encrypt.
	PGP []*openpgp.Entity
	// KMS are AWS KMS key ARNs: the data key they hold is random bytes,
	// as no KMS is called.
	KMS []string
	// AgeGroups, if set, are key groups of age recipients instead: each
	// holds a Shamir share of the data key, ShamirThreshold of which
	// (all, if zero) recover it.
	AgeGroups       [][]string
	ShamirThreshold int
	// EncryptedRegex selects the keys whose values are encrypted;
	// empty, ^(data|stringData)$, as Kubernetes Secrets are encrypted,
	// unless Rule sets another rule.
	EncryptedRegex string
	// Rule, if set, is the one rule of the metadata instead:
	// encrypted_suffix, unencrypted_suffix, unencrypted_regex,
	// encrypted_comment_regex, unencrypted_comment_regex, or none
	// (every value encrypted but those of keys ending in _unencrypted).
	Rule Rule
	// MACOnlyEncrypted leaves unencrypted values out of the MAC.
	MACOnlyEncrypted bool
}

// Rule is one of sops' rules for which values are encrypted.
type Rule struct {
	// Name is the metadata's key: "encrypted_suffix", ...; "none" for no rule.
	Name  string
	Value string
}

func (o Options) metadata() sops.Metadata {
	m := sops.Metadata{MACOnlyEncrypted: o.MACOnlyEncrypted}
	switch o.Rule.Name {
	case "":
		m.EncryptedRegex = o.EncryptedRegex
		if m.EncryptedRegex == "" {
			m.EncryptedRegex = "^(data|stringData)$"
		}
	case "none":
		m.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	case "encrypted_suffix":
		m.EncryptedSuffix = o.Rule.Value
	case "unencrypted_suffix":
		m.UnencryptedSuffix = o.Rule.Value
	case "unencrypted_regex":
		m.UnencryptedRegex = o.Rule.Value
	case "encrypted_comment_regex":
		m.EncryptedCommentRegex = o.Rule.Value
	case "unencrypted_comment_regex":
		m.UnencryptedCommentRegex = o.Rule.Value
	}
	return m
}

// Encrypt encrypts a YAML document as `sops --encrypt` does.
func Encrypt(plain []byte, o Options) ([]byte, error) {
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{})
	branches, err := store.LoadPlainFile(plain)
	if err != nil {
		return nil, err
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, err
	}
	groups, err := o.keyGroups(dataKey)
	if err != nil {
		return nil, err
	}
	tree := sops.Tree{Branches: branches, Metadata: o.metadata()}
	tree.Metadata.KeyGroups = groups
	tree.Metadata.ShamirThreshold = o.ShamirThreshold
	tree.Metadata.Version = "3.13.3"
	tree.Metadata.LastModified = time.Now().UTC().Truncate(time.Second)
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, err
	}
	if tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey,
		tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		return nil, err
	}
	return store.EmitEncryptedFile(tree)
}

// keyGroups encrypts the data key for the options' master keys, or
// shares of it for their age groups.
func (o Options) keyGroups(dataKey []byte) ([]sops.KeyGroup, error) {
	if len(o.AgeGroups) > 0 {
		threshold := o.ShamirThreshold
		if threshold == 0 {
			threshold = len(o.AgeGroups)
		}
		shares, err := shamir.Split(dataKey, len(o.AgeGroups), threshold)
		if err != nil {
			return nil, err
		}
		groups := make([]sops.KeyGroup, len(o.AgeGroups))
		for i, recipients := range o.AgeGroups {
			for _, r := range recipients {
				key, err := sopsage.MasterKeyFromRecipient(r)
				if err != nil {
					return nil, err
				}
				if err := key.Encrypt(shares[i]); err != nil {
					return nil, err
				}
				groups[i] = append(groups[i], key)
			}
		}
		return groups, nil
	}
	var group sops.KeyGroup
	for _, r := range o.Age {
		key, err := sopsage.MasterKeyFromRecipient(r)
		if err != nil {
			return nil, err
		}
		if err := key.Encrypt(dataKey); err != nil {
			return nil, err
		}
		group = append(group, key)
	}
	for _, e := range o.PGP {
		enc, err := encryptPGP(dataKey, e)
		if err != nil {
			return nil, err
		}
		group = append(group, &sopspgp.MasterKey{Fingerprint: fmt.Sprintf("%X", e.PrimaryKey.Fingerprint),
			EncryptedKey: enc, CreationDate: time.Now().UTC()})
	}
	for _, arn := range o.KMS {
		key := kms.NewMasterKeyFromArn(arn, nil, "")
		key.EncryptedKey = base64.StdEncoding.EncodeToString(dataKey[:16])
		group = append(group, key)
	}
	return []sops.KeyGroup{group}, nil
}

func encryptPGP(data []byte, to *openpgp.Entity) (string, error) {
	var out bytes.Buffer
	w, err := armor.Encode(&out, "PGP MESSAGE", nil)
	if err != nil {
		return "", err
	}
	plain, err := openpgp.Encrypt(w, []*openpgp.Entity{to}, nil, nil, nil)
	if err != nil {
		return "", err
	}
	if _, err := plain.Write(data); err != nil {
		return "", err
	}
	if err := plain.Close(); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return out.String(), nil
}

// AgeKey makes an age identity: its recipient, and the identity file
// that a decryption Secret's .agekey entry holds.
func AgeKey() (recipient string, identity []byte, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", nil, err
	}
	return id.Recipient().String(), []byte("# made by a test\n" + id.String() + "\n"), nil
}

// PGPKey makes a PGP key: the entity, and its armored private key as a
// decryption Secret's .asc entry holds it.
func PGPKey(name string) (*openpgp.Entity, []byte, error) {
	e, err := openpgp.NewEntity(name, "test", name+"@example.com", nil)
	if err != nil {
		return nil, nil, err
	}
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		return nil, nil, err
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return e, out.Bytes(), nil
}
