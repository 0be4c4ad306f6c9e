package sopstest

import (
	"errors"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	agearmor "filippo.io/age/armor"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/logging"
	"github.com/getsops/sops/v3/shamir"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/sirupsen/logrus"
	"sigs.k8s.io/yaml"
)

func init() {
	// sops warns of comments that do not decrypt; a fuzzer makes many.
	logging.SetLevel(logrus.PanicLevel)
}

// Decrypt decrypts an age-encrypted document with the sops library, the
// reference a decryption is compared with: sops parses the document,
// decrypts its values and computes the MAC; the data key (or the Shamir
// shares of it) is opened with the age identities given; and the object
// is what sops writes, read with sigs.k8s.io/yaml.
func Decrypt(doc []byte, identities []byte) (map[string]any, error) {
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{})
	tree, err := store.LoadEncryptedFile(doc)
	if err != nil {
		return nil, err
	}
	if len(tree.Branches) != 1 {
		return nil, errors.New("more than one document")
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(identities)))
	if err != nil {
		return nil, err
	}
	var parts [][]byte
	for _, group := range tree.Metadata.KeyGroups {
		for _, key := range group {
			key, ok := key.(*sopsage.MasterKey)
			if !ok {
				continue
			}
			r, err := age.Decrypt(agearmor.NewReader(strings.NewReader(key.EncryptedKey)), ids...)
			if err != nil {
				continue
			}
			part, err := io.ReadAll(r)
			if err != nil {
				continue
			}
			parts = append(parts, part)
			break
		}
	}
	var dataKey []byte
	switch threshold := tree.Metadata.ShamirThreshold; {
	case len(tree.Metadata.KeyGroups) == 1 && len(parts) == 1:
		dataKey = parts[0]
	case len(tree.Metadata.KeyGroups) > 1:
		if threshold == 0 {
			threshold = len(tree.Metadata.KeyGroups)
		}
		if len(parts) < threshold {
			return nil, errors.New("too few key groups open")
		}
		if dataKey, err = shamir.Combine(parts); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("no key opens the data key")
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		return nil, err
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey,
		tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, err
	}
	if stored == "" || stored != mac {
		return nil, errors.New("MAC mismatch")
	}
	plain, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, err
	}
	object := map[string]any{}
	if err := yaml.Unmarshal(plain, &object); err != nil {
		return nil, err
	}
	return object, nil
}
