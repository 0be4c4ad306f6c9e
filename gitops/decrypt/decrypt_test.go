package decrypt_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/gitops/decrypt"
	"github.com/sluicehq/sluice/gitops/decrypt/sopstest"
)

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
type: Opaque
stringData:
  password: hunter2-plaintext
data:
  token: c2VjcmV0LXRva2Vu
`

// plainSecret is secretYAML as an object.
var plainSecret = map[string]any{
	"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
	"metadata":   map[string]any{"name": "db", "namespace": "shop"},
	"stringData": map[string]any{"password": "hunter2-plaintext"},
	"data":       map[string]any{"token": "c2VjcmV0LXRva2Vu"},
}

func mustEncrypt(t *testing.T, plain string, o sopstest.Options) string {
	t.Helper()
	out, err := sopstest.Encrypt([]byte(plain), o)
	if err != nil {
		t.Fatalf("encrypting the fixture: %v", err)
	}
	if strings.Contains(string(out), "hunter2-plaintext") {
		t.Fatal("the fixture was not encrypted")
	}
	return string(out)
}

func TestDocument(t *testing.T) {
	ageRecipient, ageIdentity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	otherRecipient, otherIdentity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	_ = otherRecipient
	pgpEntity, pgpKey, err := sopstest.PGPKey("shop")
	if err != nil {
		t.Fatal(err)
	}
	byAge := mustEncrypt(t, secretYAML, sopstest.Options{Age: []string{ageRecipient}})
	macOnly := mustEncrypt(t, secretYAML, sopstest.Options{Age: []string{ageRecipient}, MACOnlyEncrypted: true})
	renamed := strings.Replace(secretYAML, "name: db", "name: prefix-db", 1)

	tests := []struct {
		reason string
		secret map[string][]byte
		doc    string
		want   map[string]any
		// wantErr is a part of the error's message.
		wantErr string
	}{
		{
			reason: "an age-encrypted Secret decrypts with the age identity",
			secret: map[string][]byte{"identity.agekey": ageIdentity},
			doc:    byAge,
			want:   plainSecret,
		},
		{
			reason: "a PGP-encrypted Secret decrypts with the armored private key",
			secret: map[string][]byte{"shop.asc": pgpKey},
			doc:    mustEncrypt(t, secretYAML, sopstest.Options{PGP: []*openpgpEntity{pgpEntity}}),
			want:   plainSecret,
		},
		{
			reason: "a document encrypted for age and PGP decrypts with the PGP key alone",
			secret: map[string][]byte{"shop.asc": pgpKey},
			doc:    mustEncrypt(t, secretYAML, sopstest.Options{Age: []string{ageRecipient}, PGP: []*openpgpEntity{pgpEntity}}),
			want:   plainSecret,
		},
		{
			reason: "a document encrypted for KMS and age decrypts with age, calling no KMS",
			secret: map[string][]byte{"identity.agekey": ageIdentity},
			doc: mustEncrypt(t, secretYAML, sopstest.Options{Age: []string{ageRecipient},
				KMS: []string{"arn:aws:kms:eu-west-1:000000000000:key/shop"}}),
			want: plainSecret,
		},
		{
			reason:  "another age identity does not open the data key, and the error names the recipient",
			secret:  map[string][]byte{"other.agekey": otherIdentity},
			doc:     byAge,
			wantErr: "no key of the Secret opens it (it is encrypted for age " + ageRecipient + ")",
		},
		{
			reason:  "a Secret with a PGP key only has no key for an age document",
			secret:  map[string][]byte{"shop.asc": pgpKey},
			doc:     byAge,
			wantErr: "no key of the Secret opens it",
		},
		{
			reason:  "an encrypted value changed in Git fails its authentication",
			secret:  map[string][]byte{"identity.agekey": ageIdentity},
			doc:     tamperValue(t, byAge),
			wantErr: "a value does not decrypt with the data key",
		},
		{
			reason:  "a MAC changed in Git does not decrypt",
			secret:  map[string][]byte{"identity.agekey": ageIdentity},
			doc:     tamperMAC(t, byAge),
			wantErr: "its MAC does not decrypt",
		},
		{
			reason:  "an unencrypted value changed after encryption breaks the MAC",
			secret:  map[string][]byte{"identity.agekey": ageIdentity},
			doc:     strings.Replace(byAge, "name: db", "name: prefix-db", 1),
			wantErr: "MAC mismatch",
		},
		{
			reason: "with --mac-only-encrypted, an unencrypted value may change (a kustomization's namePrefix)",
			secret: map[string][]byte{"identity.agekey": ageIdentity},
			doc:    strings.Replace(macOnly, "name: db", "name: prefix-db", 1),
			want:   decodeYAML(t, renamed),
		},
		{
			reason:  "a document whose only master keys are KMS is refused, naming their kind",
			secret:  map[string][]byte{"identity.agekey": ageIdentity},
			doc:     mustEncrypt(t, secretYAML, sopstest.Options{KMS: []string{"arn:aws:kms:eu-west-1:000000000000:key/shop"}}),
			wantErr: "its only master keys are kms, which are not supported",
		},
		{
			reason:  "sops metadata that does not parse is an error",
			secret:  map[string][]byte{"identity.agekey": ageIdentity},
			doc:     "apiVersion: v1\nkind: Secret\nsops:\n  mac: [1, 2]\n",
			wantErr: "SOPS metadata does not parse",
		},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			keys, err := decrypt.KeysFromSecret("sops-keys", tt.secret)
			if err != nil {
				t.Fatalf("KeysFromSecret: %v", err)
			}
			got, err := keys.Document([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "AGE-SECRET-KEY") {
					t.Fatalf("the error holds secret material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Document: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decrypted object (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeysFromSecret(t *testing.T) {
	_, ageIdentity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	pgpEntity, _, err := sopstest.PGPKey("shop")
	if err != nil {
		t.Fatal(err)
	}
	public := armoredPublic(t, pgpEntity)
	tests := []struct {
		reason  string
		data    map[string][]byte
		wantErr string
	}{
		{reason: "an age identity file is a key", data: map[string][]byte{"a.agekey": ageIdentity}},
		{reason: "entries of other suffixes are left alone", data: map[string][]byte{"a.agekey": ageIdentity, "sops.vault-token": []byte("x")}},
		{reason: "a Secret without .agekey or .asc entries holds no key", data: map[string][]byte{"identity": ageIdentity},
			wantErr: "the Secret sops-keys holds no key ending in .agekey or .asc"},
		{reason: "a .agekey entry that is not an identity is named, not quoted", data: map[string][]byte{"a.agekey": []byte("AGE-SECRET-KEY-1NOTAKEY")},
			wantErr: "a.agekey holds no age identity"},
		{reason: "a public PGP key cannot decrypt", data: map[string][]byte{"pub.asc": public},
			wantErr: "pub.asc holds the public PGP key"},
		{reason: "a .asc entry that is not armored is named", data: map[string][]byte{"bad.asc": []byte("nonsense")},
			wantErr: "bad.asc is not an armored PGP key"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			_, err := decrypt.KeysFromSecret("sops-keys", tt.data)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("KeysFromSecret: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "NOTAKEY"):
				t.Fatalf("the error quotes the entry: %v", err)
			}
		})
	}
}

func TestIsEncrypted(t *testing.T) {
	tests := []struct {
		reason string
		object map[string]any
		want   bool
	}{
		{"a plain object", map[string]any{"kind": "ConfigMap"}, false},
		{"sops metadata with a mac", map[string]any{"sops": map[string]any{"mac": "ENC[...]"}}, true},
		{"sops metadata with lastmodified only", map[string]any{"sops": map[string]any{"lastmodified": "2026-01-01T00:00:00Z"}}, true},
		{"a field named sops that is not metadata", map[string]any{"sops": "enabled"}, false},
		{"a sops map without mac or lastmodified", map[string]any{"sops": map[string]any{"version": "3"}}, false},
	}
	for _, tt := range tests {
		if got := decrypt.IsEncrypted(tt.object); got != tt.want {
			t.Errorf("%s: IsEncrypted = %v, want %v", tt.reason, got, tt.want)
		}
	}
}

// BenchmarkDocument is the cost of decrypting one age-encrypted Secret:
// the age unwrap (an X25519 exchange) dominates.
func BenchmarkDocument(b *testing.B) {
	recipient, identity, err := sopstest.AgeKey()
	if err != nil {
		b.Fatal(err)
	}
	doc, err := sopstest.Encrypt([]byte(secretYAML), sopstest.Options{Age: []string{recipient}})
	if err != nil {
		b.Fatal(err)
	}
	keys, err := decrypt.KeysFromSecret("sops-keys", map[string][]byte{"a.agekey": identity})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := keys.Document(doc); err != nil {
			b.Fatal(err)
		}
	}
}
