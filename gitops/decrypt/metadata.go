package decrypt

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// metadata is the part of a document's sops entry that decryption reads.
//
// Reference: https://github.com/getsops/sops, stores/stores.go.
type metadata struct {
	// Keys are the master keys of a document with a single key group,
	// which sops writes at the top level.
	Keys            keyGroup   `yaml:",inline"`
	KeyGroups       []keyGroup `yaml:"key_groups"`
	ShamirThreshold int        `yaml:"shamir_threshold"`

	LastModified string `yaml:"lastmodified"`
	MAC          string `yaml:"mac"`

	UnencryptedSuffix       string `yaml:"unencrypted_suffix"`
	EncryptedSuffix         string `yaml:"encrypted_suffix"`
	UnencryptedRegex        string `yaml:"unencrypted_regex"`
	EncryptedRegex          string `yaml:"encrypted_regex"`
	UnencryptedCommentRegex string `yaml:"unencrypted_comment_regex"`
	EncryptedCommentRegex   string `yaml:"encrypted_comment_regex"`
	MACOnlyEncrypted        bool   `yaml:"mac_only_encrypted"`
}

// keyGroup is one group of master keys, each holding the data key (or,
// with several groups, a Shamir share of it) encrypted for one key.
type keyGroup struct {
	PGP []pgpKey `yaml:"pgp"`
	Age []ageKey `yaml:"age"`
	// Master keys of cloud and Vault key services are only counted: this
	// package never calls one.
	KMS      []any `yaml:"kms"`
	GCPKMS   []any `yaml:"gcp_kms"`
	AzureKV  []any `yaml:"azure_kv"`
	HCVault  []any `yaml:"hc_vault"`
	HuaweiKM []any `yaml:"hckms"`
}

type pgpKey struct {
	Fingerprint string `yaml:"fp"`
	Encrypted   string `yaml:"enc"`
}

type ageKey struct {
	Recipient string `yaml:"recipient"`
	Encrypted string `yaml:"enc"`
}

func (g keyGroup) empty() bool {
	return len(g.PGP)+len(g.Age)+len(g.KMS)+len(g.GCPKMS)+len(g.AzureKV)+len(g.HCVault)+len(g.HuaweiKM) == 0
}

// types names the kinds of the group's master keys as the metadata does.
func (g keyGroup) types() []string {
	var out []string
	for _, kind := range []struct {
		name string
		n    int
	}{
		{"age", len(g.Age)}, {"azure_kv", len(g.AzureKV)}, {"gcp_kms", len(g.GCPKMS)}, {"hc_vault", len(g.HCVault)},
		{"hckms", len(g.HuaweiKM)}, {"kms", len(g.KMS)}, {"pgp", len(g.PGP)},
	} {
		if kind.n > 0 {
			out = append(out, kind.name)
		}
	}
	return out
}

// document is a parsed encrypted document: its content and its metadata.
type document struct {
	content      mapping
	groups       []keyGroup
	threshold    int
	lastModified time.Time
	mac          string
	rules        rules
}

// parseDocument reads an encrypted YAML or JSON document and takes its
// sops entry out of it.
func parseDocument(doc []byte) (*document, error) {
	content, count, err := parseDocuments(doc)
	if err != nil {
		return nil, fmt.Errorf("its SOPS metadata does not parse: %s", yamlErrorReason(err))
	}
	var metaNode *yaml.Node
	kept := content[:0]
	for _, it := range content {
		if it.key == MetadataKey {
			metaNode = it.node
			continue
		}
		kept = append(kept, it)
	}
	content = kept
	if metaNode == nil {
		return nil, errors.New("its SOPS metadata does not parse: it has no sops entry")
	}
	if count != 1 {
		return nil, fmt.Errorf("it holds %d documents under one SOPS metadata; encrypt one object per document", count)
	}
	for metaNode.Kind == yaml.AliasNode {
		metaNode = metaNode.Alias
	}
	if metaNode.Kind != yaml.MappingNode {
		return nil, errors.New("its SOPS metadata does not parse: the sops entry is not a mapping")
	}
	var meta metadata
	if err := metaNode.Decode(&meta); err != nil {
		return nil, fmt.Errorf("its SOPS metadata does not parse: %s", yamlErrorReason(err))
	}
	d := &document{content: content, threshold: meta.ShamirThreshold, mac: meta.MAC}
	if d.lastModified, err = time.Parse(time.RFC3339, meta.LastModified); err != nil {
		return nil, errors.New("its SOPS metadata does not parse: lastmodified is not an RFC 3339 time")
	}
	switch {
	case !meta.Keys.empty():
		d.groups = []keyGroup{meta.Keys}
	case len(meta.KeyGroups) > 0:
		d.groups = meta.KeyGroups
	default:
		return nil, errors.New("its SOPS metadata names no master key")
	}
	if d.rules, err = meta.rules(); err != nil {
		return nil, err
	}
	return d, nil
}

func (m *metadata) rules() (rules, error) {
	set := 0
	for _, rule := range []string{m.UnencryptedSuffix, m.EncryptedSuffix, m.UnencryptedRegex, m.EncryptedRegex,
		m.UnencryptedCommentRegex, m.EncryptedCommentRegex} {
		if rule != "" {
			set++
		}
	}
	if set > 1 {
		return rules{}, errors.New("its SOPS metadata sets more than one of encrypted_suffix, unencrypted_suffix, " +
			"encrypted_regex, unencrypted_regex, encrypted_comment_regex and unencrypted_comment_regex")
	}
	r := rules{
		unencryptedSuffix:    m.UnencryptedSuffix,
		encryptedSuffix:      m.EncryptedSuffix,
		unencryptedRegex:     compileRule(m.UnencryptedRegex),
		encryptedRegex:       compileRule(m.EncryptedRegex),
		unencryptedCommentRx: compileRule(m.UnencryptedCommentRegex),
		encryptedComment:     compileRule(m.EncryptedCommentRegex),
		macOnlyEncrypted:     m.MACOnlyEncrypted,
	}
	if set == 0 {
		r.unencryptedSuffix = "_unencrypted"
	}
	return r, nil
}

// quoted is a value that yaml.v3 quotes in a type error.
var quoted = regexp.MustCompile("`[^`]*` ")

// yamlErrorReason is why YAML did not decode, in one line and without the
// value that did not: "line 5: cannot unmarshal !!str into int".
func yamlErrorReason(err error) string {
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) && len(typeErr.Errors) > 0 {
		return quoted.ReplaceAllString(typeErr.Errors[0], "")
	}
	return firstLine(err)
}
