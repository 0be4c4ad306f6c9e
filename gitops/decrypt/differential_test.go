package decrypt_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/sluicehq/sluice/gitops/decrypt"
	"github.com/sluicehq/sluice/gitops/decrypt/sopstest"
)

// rules are the encryption rules the differential fuzz target encrypts
// with, chosen by a fuzzed byte.
var rules = []sopstest.Rule{
	{}, // encrypted_regex ^(data|stringData)$, as Flux documents Secrets
	{Name: "none"},
	{Name: "encrypted_suffix", Value: "_enc"},
	{Name: "unencrypted_suffix", Value: "_plain"},
	{Name: "unencrypted_regex", Value: "^(meta|kind)"},
	{Name: "encrypted_comment_regex", Value: "enc"},
	{Name: "unencrypted_comment_regex", Value: "plain"},
}

// FuzzDocumentMatchesSops encrypts a fuzzed plaintext with the sops
// library, optionally changes one byte of the encrypted document, and
// decrypts it both with this package and with the sops library: the same
// object, or an error from both.
func FuzzDocumentMatchesSops(f *testing.F) {
	recipient, identity, err := sopstest.AgeKey()
	if err != nil {
		f.Fatal(err)
	}
	keys, err := decrypt.KeysFromSecret("sops-keys", map[string][]byte{"a.agekey": identity})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		secretYAML,
		"data:\n  replicas: 3\n  ratio: 0.25\n  enabled: true\n  nothing: null\n  word: \"yes\"\n  y: y\n",
		"# head\nkind: Secret # inline\nstringData:\n  # enc above\n  password: x # beside\n  list:\n  # plain in a list\n  - a # after\n  -\n  #\n  - b\n# end\n",
		"base: &b\n  k: v\nderived:\n  <<: *b\n  other: 1\nalias: *b\n",
		"data:\n  when: 2026-01-01\n  at: !!timestamp 2026-01-01T10:00:00Z\n  big: 9223372036854775807\n  huge: 1e400\n  bin: !!binary aGVsbG8=\n",
		"meta_plain:\n  name: a\nkind_x: [1, 2.5, false]\npassword_enc: p\nnested:\n  - - deep\n    - {a: b}\n",
		`{"kind": "Secret", "stringData": {"password": "p", "n": 1, "f": 1.0, "e": ""}}`,
		"data:\n  text: |\n    line one\n    line two\n  folded: >\n    a\n    b\n  unicode: \"日本語 ✓\"\n",
	} {
		for rule := range rules {
			f.Add([]byte(seed), byte(rule), rule%2 == 0, uint16(0), byte(0))
		}
	}
	f.Fuzz(func(t *testing.T, plain []byte, rule byte, macOnly bool, editAt uint16, edit byte) {
		if aliasCycle(plain) {
			return // the sops library recurses until the stack overflows
		}
		doc, err := sopstest.Encrypt(plain, sopstest.Options{Age: []string{recipient},
			Rule: rules[int(rule)%len(rules)], MACOnlyEncrypted: macOnly})
		if err != nil {
			return // not a document sops encrypts
		}
		if editAt > 0 && int(editAt) <= len(doc) {
			doc[editAt-1] = edit
		}
		want, wantErr := sopstest.Decrypt(doc, identity)
		got, err := keys.Document(doc)
		switch {
		case wantErr != nil && err != nil:
		case wantErr != nil:
			t.Fatalf("decrypted what sops refuses (%v):\n%s", wantErr, doc)
		case err != nil:
			t.Fatalf("refused what sops decrypts: %v\n%s", err, doc)
		default:
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("decrypted object (-sops +got):\n%s\n%s", diff, doc)
			}
		}
	})
}

// aliasCycle reports whether a YAML stream has an alias inside the node
// it refers to.
func aliasCycle(stream []byte) bool {
	d := yaml.NewDecoder(bytes.NewReader(stream))
	for {
		var doc yaml.Node
		if d.Decode(&doc) != nil {
			return false
		}
		if cycleFrom(&doc, map[*yaml.Node]bool{}) {
			return true
		}
	}
}

func cycleFrom(n *yaml.Node, open map[*yaml.Node]bool) bool {
	if open[n] {
		return true
	}
	if n.Kind == yaml.AliasNode {
		return n.Alias != nil && cycleFrom(n.Alias, open)
	}
	open[n] = true
	defer delete(open, n)
	for _, child := range n.Content {
		if cycleFrom(child, open) {
			return true
		}
	}
	return false
}
