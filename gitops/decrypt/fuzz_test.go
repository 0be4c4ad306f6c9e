package decrypt_test

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/gitops/decrypt"
	"github.com/sluicehq/sluice/gitops/decrypt/sopstest"
)

// FuzzDocument feeds a tenant's document to the SOPS parser and decryptor:
// an error or an object, never a panic; an error never quotes the plaintext
// of the seed's secret value.
func FuzzDocument(f *testing.F) {
	recipient, identity, err := sopstest.AgeKey()
	if err != nil {
		f.Fatal(err)
	}
	keys, err := decrypt.KeysFromSecret("sops-keys", map[string][]byte{"a.agekey": identity})
	if err != nil {
		f.Fatal(err)
	}
	enc, err := sopstest.Encrypt([]byte(secretYAML), sopstest.Options{Age: []string{recipient}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add([]byte(strings.Replace(string(enc), "name: db", "name: other", 1)))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nsops:\n  mac: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n  lastmodified: x\n"))
	f.Add([]byte("sops:\n  age:\n  - recipient: age1x\n    enc: |\n      -----BEGIN AGE ENCRYPTED FILE-----\n      -----END AGE ENCRYPTED FILE-----\n"))
	f.Add([]byte("a: 1\n---\nb: 2\n"))
	f.Add([]byte(`{"sops": {"shamir_threshold": 3, "key_groups": [{"age": []}, {}]}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		object, err := keys.Document(doc)
		if err != nil {
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error quotes the plaintext: %v", err)
			}
			return
		}
		if _, ok := object[decrypt.MetadataKey]; ok {
			t.Fatalf("a decrypted object keeps its sops metadata")
		}
	})
}
