package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/gitops/decrypt"
	"github.com/sluicehq/sluice/gitops/decrypt/sopstest"
)

const encryptedSecret = `apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: hunter2-plaintext
`

func TestRenderDecrypts(t *testing.T) {
	recipient, identity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherIdentity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := sopstest.Encrypt([]byte(encryptedSecret), sopstest.Options{Age: []string{recipient}})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := sopstest.Encrypt([]byte(encryptedSecret), sopstest.Options{Age: []string{recipient}, EncryptedRegex: "."})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := decrypt.KeysFromSecret("sops-keys", map[string][]byte{"a.agekey": identity})
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := decrypt.KeysFromSecret("sops-keys", map[string][]byte{"a.agekey": otherIdentity})
	if err != nil {
		t.Fatal(err)
	}
	kustomization := "resources:\n- secret.enc.yaml\n- cm.yaml\n"
	tests := []struct {
		reason string
		files  map[string]string
		keys   *decrypt.Keys
		// want is each object's kind/name and its stringData.password.
		want    []string
		wantErr string
	}{
		{
			reason: "a plain directory with an encrypted file and a plain one: the first decrypted, the second untouched",
			files:  map[string]string{"app/secret.enc.yaml": string(enc), "app/cm.yaml": configMap("settings")},
			keys:   keys,
			want:   []string{"ConfigMap/settings ", "Secret/db hunter2-plaintext"},
		},
		{
			reason: "one file of a plain document and an encrypted one",
			files:  map[string]string{"app/all.yaml": configMap("settings") + "---\n" + string(enc)},
			keys:   keys,
			want:   []string{"ConfigMap/settings ", "Secret/db hunter2-plaintext"},
		},
		{
			reason: "a kustomization's encrypted resource is decrypted from its output",
			files: map[string]string{"app/kustomization.yaml": kustomization, "app/secret.enc.yaml": string(enc),
				"app/cm.yaml": configMap("settings")},
			keys: keys,
			want: []string{"Secret/db hunter2-plaintext", "ConfigMap/settings "},
		},
		{
			reason: "a document encrypted whole, kind and name too, decrypts in a plain directory",
			files:  map[string]string{"app/secret.enc.yaml": string(whole)},
			keys:   keys,
			want:   []string{"Secret/db hunter2-plaintext"},
		},
		{
			reason:  "a document encrypted whole that does not decrypt is named by its file",
			files:   map[string]string{"app/secret.enc.yaml": string(whole)},
			keys:    wrong,
			wantErr: "secret.enc.yaml: an object whose kind or name is encrypted cannot be decrypted",
		},
		{
			reason: "nothing encrypted: objects pass through untouched without keys",
			files:  map[string]string{"app/cm.yaml": configMap("settings")},
			want:   []string{"ConfigMap/settings "},
		},
		{
			reason:  "an encrypted file without spec.decryption fails the render, naming the file",
			files:   map[string]string{"app/secret.enc.yaml": string(enc)},
			wantErr: "secret.enc.yaml: Secret db is encrypted with SOPS, and spec.decryption is not set",
		},
		{
			reason:  "a wrong key fails the render, naming the file and the object",
			files:   map[string]string{"app/secret.enc.yaml": string(enc), "app/cm.yaml": configMap("settings")},
			keys:    wrong,
			wantErr: "secret.enc.yaml: Secret db cannot be decrypted: no key of the Secret opens it",
		},
		{
			reason:  "a wrong key fails a kustomization's render, naming the kustomization and the object",
			files:   map[string]string{"app/kustomization.yaml": kustomization, "app/secret.enc.yaml": string(enc), "app/cm.yaml": configMap("settings")},
			keys:    wrong,
			wantErr: "kustomization.yaml: Secret db cannot be decrypted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			opts := Options{}
			if tt.keys != nil {
				opts.Decrypt = tt.keys.Document
			}
			objects, err := Render(tree(t, tt.files), "app", opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("the error holds the plaintext: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			var got []string
			for _, o := range objects {
				if _, ok := o.Object[decrypt.MetadataKey]; ok {
					t.Errorf("%s %s keeps its sops metadata", o.GetKind(), o.GetName())
				}
				password, _, _ := unstructuredString(o.Object, "stringData", "password")
				got = append(got, o.GetKind()+"/"+o.GetName()+" "+password)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[f]
	}
	s, ok := cur.(string)
	return s, ok, nil
}
