package decrypt_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/gitops/decrypt"
	"github.com/sluicehq/sluice/gitops/decrypt/sopstest"
)

// TestDocumentShapes decrypts documents shaped like the ones Flux users
// keep in Git, each encrypted by the sops library, and compares the
// object with the plaintext's and with what the sops library decrypts.
func TestDocumentShapes(t *testing.T) {
	recipient, identity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := decrypt.KeysFromSecret("sops-keys", map[string][]byte{"a.agekey": identity})
	if err != nil {
		t.Fatal(err)
	}
	age := []string{recipient}
	tests := []struct {
		reason string
		plain  string
		opts   sopstest.Options
		// edit changes the encrypted document before it is decrypted.
		edit func(string) string
		// want is the plaintext the object must equal; plain if empty.
		want string
	}{
		{
			reason: "a Secret with data and stringData, encrypted as Flux documents it",
			plain:  secretYAML,
			opts:   sopstest.Options{Age: age},
		},
		{
			reason: "a ConfigMap whose keys ending in _secret are chosen by encrypted_regex",
			plain: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n" +
				"  db_secret: hunter2-plaintext\n  log_level: debug\n",
			opts: sopstest.Options{Age: age, EncryptedRegex: "_secret$"},
		},
		{
			reason: "nested mappings and lists, every value encrypted (no rule)",
			plain: "spec:\n  servers:\n  - name: a\n    ports: [80, 443]\n  - name: b\n    tags:\n    - tag-x\n    - tag-y\n" +
				"  nested:\n    deeper:\n      deepest: hunter2-plaintext\n",
			opts: sopstest.Options{Age: age, Rule: sopstest.Rule{Name: "none"}},
		},
		{
			reason: "typed values keep their type: int, float, bool, null",
			plain: "data:\n  replicas: 3\n  ratio: 0.25\n  big: 1e300\n  negative: -7\n  enabled: true\n" +
				"  disabled: false\n  nothing: null\n  quoted: \"3\"\n  word: \"yes\"\n",
			opts: sopstest.Options{Age: age},
		},
		{
			reason: "comments, encrypted with their values, do not reach the object",
			plain: "# a head comment\nkind: Secret # an inline comment\nstringData:\n  # above a value\n" +
				"  password: hunter2-plaintext # beside it\n  list:\n  # in a list\n  - a # after an item\n  - b\n# at the end\n",
			opts: sopstest.Options{Age: age, Rule: sopstest.Rule{Name: "none"}},
		},
		{
			reason: "encrypted_comment_regex: only values under a matching comment are encrypted",
			plain:  "data:\n  # sops:enc\n  password: hunter2-plaintext\n  user: admin\n",
			opts:   sopstest.Options{Age: age, Rule: sopstest.Rule{Name: "encrypted_comment_regex", Value: "sops:enc"}},
		},
		{
			reason: "unencrypted_comment_regex: values under a matching comment stay plain",
			plain:  "data:\n  # sops:plain\n  user: admin\n  password: hunter2-plaintext\n",
			opts:   sopstest.Options{Age: age, Rule: sopstest.Rule{Name: "unencrypted_comment_regex", Value: "sops:plain"}},
		},
		{
			reason: "encrypted_suffix, unencrypted_suffix and unencrypted_regex choose by key",
			plain:  "password_enc: hunter2-plaintext\nuser: admin\n",
			opts:   sopstest.Options{Age: age, Rule: sopstest.Rule{Name: "encrypted_suffix", Value: "_enc"}},
		},
		{
			reason: "unencrypted_suffix keeps a key's whole subtree plain",
			plain:  "meta_plain:\n  name: a\n  list: [1, 2]\npassword: hunter2-plaintext\n",
			opts:   sopstest.Options{Age: age, Rule: sopstest.Rule{Name: "unencrypted_suffix", Value: "_plain"}},
		},
		{
			reason: "unencrypted_regex keeps matching keys plain",
			plain:  "metadata:\n  name: a\npassword: hunter2-plaintext\n",
			opts:   sopstest.Options{Age: age, Rule: sopstest.Rule{Name: "unencrypted_regex", Value: "^metadata$"}},
		},
		{
			reason: "mac_only_encrypted: an unencrypted value edited after encryption (a kustomize namePrefix)",
			plain:  secretYAML,
			opts:   sopstest.Options{Age: age, MACOnlyEncrypted: true},
			edit:   func(doc string) string { return strings.Replace(doc, "name: db", "name: prefix-db", 1) },
			want:   strings.Replace(secretYAML, "name: db", "name: prefix-db", 1),
		},
		{
			reason: "unicode keys and values",
			plain:  "data:\n  pässwörd: \"hunter2-plaintext ✓ 日本語\"\n  ключ: значение\n  emoji: 🔐\n",
			opts:   sopstest.Options{Age: age},
		},
		{
			reason: "an empty string, which sops leaves unencrypted, stays an empty string",
			plain:  "stringData:\n  empty: \"\"\n  password: hunter2-plaintext\n",
			opts:   sopstest.Options{Age: age},
		},
		{
			reason: "a multi-line value",
			plain:  "stringData:\n  key.pem: |\n    -----BEGIN KEY-----\n    hunter2-plaintext\n    -----END KEY-----\n",
			opts:   sopstest.Options{Age: age},
		},
		{
			reason: "a JSON document",
			plain:  `{"kind": "Secret", "stringData": {"password": "hunter2-plaintext", "n": 1}}`,
			opts:   sopstest.Options{Age: age},
		},
		{
			reason: "two of three Shamir key groups open the data key",
			plain:  secretYAML,
			opts:   sopstest.Options{AgeGroups: [][]string{{recipient}, {mustAgeRecipient(t)}, {recipient}}, ShamirThreshold: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			doc := mustEncrypt(t, tt.plain, tt.opts)
			if tt.edit != nil {
				doc = tt.edit(doc)
			}
			got, err := keys.Document([]byte(doc))
			if err != nil {
				t.Fatalf("Document: %v", err)
			}
			want := tt.want
			if want == "" {
				want = tt.plain
			}
			if diff := cmp.Diff(decodeYAML(t, want), got); diff != "" {
				t.Errorf("decrypted object (-plaintext +got):\n%s", diff)
			}
			reference, err := sopstest.Decrypt([]byte(doc), identity)
			if err != nil {
				t.Fatalf("the sops library does not decrypt it: %v", err)
			}
			if diff := cmp.Diff(reference, got); diff != "" {
				t.Errorf("decrypted object (-sops +got):\n%s", diff)
			}
		})
	}
}

func mustAgeRecipient(t *testing.T) string {
	t.Helper()
	r, _, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDocumentTampered changes an encrypted document the ways Git can and
// expects each change refused, saying why without a value.
func TestDocumentTampered(t *testing.T) {
	recipient, identity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherIdentity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	plain := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n" +
		"  password: hunter2-plaintext\n  user: hunter2-user\n"
	doc := mustEncrypt(t, plain, sopstest.Options{Age: []string{recipient}})
	lines := strings.Split(doc, "\n")
	line := func(prefix string) int {
		t.Helper()
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i
			}
		}
		t.Fatalf("no line %q in\n%s", prefix, doc)
		return 0
	}
	without := func(i int) string {
		return strings.Join(append(append([]string{}, lines[:i]...), lines[i+1:]...), "\n")
	}
	swapped := func(i, j int) string {
		l := append([]string{}, lines...)
		l[i], l[j] = l[j], l[i]
		return strings.Join(l, "\n")
	}
	lastModified := regexp.MustCompile(`lastmodified: "[^"]+"`)
	shamirDoc := mustEncrypt(t, plain, sopstest.Options{AgeGroups: [][]string{{recipient}, {mustAgeRecipient(t)}, {mustAgeRecipient(t)}}, ShamirThreshold: 2})

	tests := []struct {
		reason  string
		doc     string
		key     []byte
		wantErr string
	}{
		{reason: "a changed ciphertext fails its tag", doc: tamperValue(t, doc), wantErr: "a value does not decrypt with the data key"},
		{
			reason:  "a value moved to another key fails its tag: a value's path is its additional data",
			doc:     strings.Replace(strings.Replace(doc, "  password: ENC", "  passwxrd: ENC", 1), "  user: ENC", "  password: ENC", 1),
			wantErr: "a value does not decrypt with the data key",
		},
		{reason: "two keys swapped break the MAC, which follows the order", doc: swapped(line("    password:"), line("    user:")), wantErr: "MAC mismatch"},
		{reason: "an unencrypted key moved breaks the MAC", doc: swapped(line("apiVersion:"), line("kind:")), wantErr: "MAC mismatch"},
		{reason: "a removed encrypted value breaks the MAC", doc: without(line("    user:")), wantErr: "MAC mismatch"},
		{reason: "a removed unencrypted value breaks the MAC", doc: without(line("kind:")), wantErr: "MAC mismatch"},
		{reason: "an added value breaks the MAC", doc: strings.Replace(doc, "kind: Secret\n", "kind: Secret\ntype: Opaque\n", 1), wantErr: "MAC mismatch"},
		{
			reason:  "a changed lastmodified is the MAC's additional data",
			doc:     lastModified.ReplaceAllString(doc, `lastmodified: "2020-01-01T00:00:00Z"`),
			wantErr: "its MAC does not decrypt",
		},
		{reason: "a lastmodified that is no time", doc: lastModified.ReplaceAllString(doc, `lastmodified: "yesterday"`), wantErr: "lastmodified is not an RFC 3339 time"},
		{reason: "a removed MAC", doc: without(line("    mac:")), wantErr: "it has no MAC"},
		{reason: "the wrong age key names the recipient", doc: doc, key: otherIdentity, wantErr: "no key of the Secret opens it (it is encrypted for age " + recipient + ")"},
		{reason: "one Shamir group of the two needed", doc: shamirDoc, wantErr: "1 of 3 key groups open, 2 needed: key group 2: no key of the Secret opens it"},
		{reason: "a document without sops metadata", doc: plain, wantErr: "its SOPS metadata does not parse: it has no sops entry"},
		{reason: "two documents under one metadata", doc: doc + "---\nkind: Other\n", wantErr: "it holds 2 documents"},
		{reason: "a key twice", doc: "kind: A\nkind: B\n" + doc[strings.LastIndex(doc, "\nsops:")+1:], wantErr: `mapping key "kind" already defined`},
		{reason: "two rules", doc: strings.Replace(doc, "    version:", "    encrypted_suffix: _x\n    version:", 1), wantErr: "sets more than one of"},
		{
			reason:  "metadata of the wrong type names the line, not the value",
			doc:     strings.Replace(doc, "    version:", "    shamir_threshold: hunter2-plaintext\n    version:", 1),
			wantErr: "cannot unmarshal !!str into int",
		},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			key := tt.key
			if key == nil {
				key = identity
			}
			keys, err := decrypt.KeysFromSecret("sops-keys", map[string][]byte{"a.agekey": key})
			if err != nil {
				t.Fatal(err)
			}
			_, err = keys.Document([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one with %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error quotes a value: %v", err)
			}
			if _, err := sopstest.Decrypt([]byte(tt.doc), key); err == nil {
				t.Errorf("the sops library decrypts what was refused")
			}
		})
	}
}

// TestDocumentAliasCycle reads a document with an alias inside the
// mapping it names: an error, where the sops library recurses until the
// stack overflows and ends the process.
func TestDocumentAliasCycle(t *testing.T) {
	recipient, identity, err := sopstest.AgeKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := decrypt.KeysFromSecret("sops-keys", map[string][]byte{"a.agekey": identity})
	if err != nil {
		t.Fatal(err)
	}
	doc := mustEncrypt(t, secretYAML, sopstest.Options{Age: []string{recipient}})
	for _, cycle := range []string{
		// yaml.v3 finds these when it decodes into a Go value.
		"a: &b\n  c:\n    <<: *b\n",
		"a: &b\n  - x\n  - *b\n",
		// Not this one, which a merge key's mapping hides from it.
		"A: &b\n B:\n  <<: *b\n  B: B\n",
	} {
		_, err := keys.Document([]byte(cycle + doc))
		if err == nil || !strings.Contains(err.Error(), "contains it") {
			t.Errorf("%q: error %v, want one about the alias", cycle, err)
		}
	}
}
