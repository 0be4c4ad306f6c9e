package decrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Values are decrypted and the MAC computed as sops does.
//
// Reference: https://github.com/getsops/sops, sops.go (Tree.Decrypt,
// shouldBeEncrypted, ToBytes) and aes/cipher.go.

// macOnlyEncryptedInit starts the MAC of a document encrypted with
// mac_only_encrypted, so that its MAC never equals one over all values:
// sha256("sops").
var macOnlyEncryptedInit = []byte{
	0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
	0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
}

// encryptedValue is an encrypted value as sops writes it; sops does not
// anchor the end.
var encryptedValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// errValue is why a value did not decrypt, in words that quote nothing of
// it.
var errValue = errors.New("a value does not decrypt with the data key: the document was changed after it was encrypted")

// decryptValue opens one ENC[AES256_GCM,...] value, whose additional data
// is its path. The empty string stands for itself: sops does not encrypt it.
func decryptValue(value string, key []byte, additionalData string) (any, error) {
	if value == "" {
		return "", nil
	}
	m := encryptedValue.FindStringSubmatch(value)
	if m == nil {
		return nil, errors.New("not an ENC[AES256_GCM,...] value")
	}
	var parts [3][]byte
	for i := range parts {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return nil, errors.New("not base64")
		}
		parts[i] = b
	}
	data, iv, tag := parts[0], parts[1], parts[2]
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// sops writes 32-byte IVs; it reads any length but none.
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, iv, append(data, tag...), []byte(additionalData))
	if err != nil {
		return nil, err
	}
	switch typ := m[4]; typ {
	case "str":
		return string(plain), nil
	case "int":
		return strconv.Atoi(string(plain))
	case "float":
		return strconv.ParseFloat(string(plain), 64)
	case "bool":
		return strconv.ParseBool(string(plain))
	case "bytes":
		return plain, nil
	case "time":
		var t time.Time
		err := t.UnmarshalText(plain)
		return t, err
	case "comment":
		return comment{text: string(plain)}, nil
	default:
		return nil, fmt.Errorf("unknown type %q", typ)
	}
}

// macBytes is what a value adds to the MAC; sops writes booleans as
// Python did.
func macBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case int:
		return []byte(strconv.Itoa(v)), nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case bool:
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case []byte:
		return v, nil
	case time.Time:
		return v.MarshalText()
	default:
		return nil, fmt.Errorf("a value of type %T has no MAC form", v)
	}
}

// rules say which values of a document are encrypted: at most one of
// them is set (sops refuses more), and with none, every value whose
// path has no key ending in _unencrypted.
type rules struct {
	unencryptedSuffix, encryptedSuffix     string
	unencryptedRegex, encryptedRegex       *regexp.Regexp
	unencryptedCommentRx, encryptedComment *regexp.Regexp
	macOnlyEncrypted                       bool
}

// compileRule compiles a rule's regular expression; one that does not
// compile matches nothing, as in sops.
func compileRule(expr string) *regexp.Regexp {
	if expr == "" {
		return nil
	}
	rx, err := regexp.Compile(expr)
	if err != nil {
		return regexp.MustCompile(`[^\x00-\x{10FFFF}]`)
	}
	return rx
}

// encrypted reports whether the value at path is encrypted, given the
// comments above it in each enclosing mapping or list (innermost last);
// a comment's own line does not count for encrypted_comment_regex.
func (r *rules) encrypted(path []string, comments [][]string, isComment bool) bool {
	encrypted := r.unencryptedSuffix == "" || !anyKey(path, func(k string) bool { return strings.HasSuffix(k, r.unencryptedSuffix) })
	if r.encryptedSuffix != "" {
		encrypted = anyKey(path, func(k string) bool { return strings.HasSuffix(k, r.encryptedSuffix) })
	}
	if r.unencryptedRegex != nil && anyKey(path, r.unencryptedRegex.MatchString) {
		encrypted = false
	}
	if r.encryptedRegex != nil {
		encrypted = anyKey(path, r.encryptedRegex.MatchString)
	}
	if r.unencryptedCommentRx != nil {
		for _, level := range comments {
			if anyKey(level, r.unencryptedCommentRx.MatchString) {
				encrypted = false
				break
			}
		}
	}
	if r.encryptedComment != nil {
		encrypted = false
		last := len(comments) - 1
	levels:
		for i, level := range comments {
			for j, c := range level {
				if isComment && i == last && j == len(level)-1 {
					continue
				}
				if r.encryptedComment.MatchString(c) {
					encrypted = true
					break levels
				}
			}
		}
	}
	return encrypted
}

func anyKey(keys []string, match func(string) bool) bool {
	for _, k := range keys {
		if match(k) {
			return true
		}
	}
	return false
}

// decrypter decrypts a document's values in order and computes its MAC.
type decrypter struct {
	rules
	key []byte
	mac hash.Hash
}

func newDecrypter(r rules, key []byte) *decrypter {
	d := &decrypter{rules: r, key: key, mac: sha512.New()}
	if r.macOnlyEncrypted {
		d.mac.Write(macOnlyEncryptedInit)
	}
	return d
}

// sum is the MAC of the values seen: upper-case hex of SHA-512.
func (d *decrypter) sum() string {
	return fmt.Sprintf("%X", d.mac.Sum(nil))
}

func (d *decrypter) value(v any, path []string, comments [][]string) (any, error) {
	switch v := v.(type) {
	case mapping:
		return d.mapping(v, path, comments)
	case []any:
		return d.list(v, path, comments)
	case nil:
		return nil, nil
	case string, []byte, int, bool, float64, time.Time, comment:
		return d.leaf(v, path, comments)
	default:
		// An integer past int64, say.
		return nil, fmt.Errorf("a value of type %T is not one SOPS encrypts", v)
	}
}

func (d *decrypter) mapping(m mapping, path []string, comments [][]string) (mapping, error) {
	comments = append(comments, []string{})
	top := len(comments) - 1
	for i, it := range m {
		if c, ok := it.key.(comment); ok {
			comments[top] = append(comments[top], c.text)
			out, err := d.leaf(c, path, comments)
			if err != nil {
				return nil, err
			}
			switch out := out.(type) {
			case comment:
				m[i].key = out
			case string:
				m[i].key = comment{text: out}
			default:
				return nil, errors.New("a comment decrypts to a value")
			}
			continue
		}
		c, valueIsComment := it.value.(comment)
		if valueIsComment {
			comments[top] = append(comments[top], c.text)
		}
		key, ok := it.key.(string)
		if !ok {
			return nil, fmt.Errorf("a key is a %s, not a string", yamlKind(it.key))
		}
		out, err := d.value(it.value, append(path[:len(path):len(path)], key), comments)
		if err != nil {
			return nil, err
		}
		m[i].value = out
		if !valueIsComment {
			comments[top] = []string{}
		}
	}
	return m, nil
}

func (d *decrypter) list(l []any, path []string, comments [][]string) ([]any, error) {
	comments = append(comments, []string{})
	top := len(comments) - 1
	for i, v := range l {
		c, isComment := v.(comment)
		if isComment {
			comments[top] = append(comments[top], c.text)
		}
		out, err := d.value(v, path, comments)
		if err != nil {
			return nil, err
		}
		l[i] = out
		if !isComment {
			comments[top] = []string{}
		}
	}
	return l, nil
}

// leaf decrypts one value if the rules say it is encrypted, and adds it
// to the MAC unless it is a comment or mac_only_encrypted leaves it out.
func (d *decrypter) leaf(in any, path []string, comments [][]string) (any, error) {
	c, isComment := in.(comment)
	encrypted := d.encrypted(path, comments, isComment)
	out := in
	if encrypted {
		additionalData := strings.Join(path, ":") + ":"
		switch in := in.(type) {
		case comment:
			// A comment that does not decrypt was written by an older
			// sops, which did not encrypt comments.
			if plain, err := decryptValue(c.text, d.key, additionalData); err == nil {
				out = plain
			}
		case string:
			plain, err := decryptValue(in, d.key, additionalData)
			if err != nil {
				return nil, errValue
			}
			out = plain
		default:
			return nil, fmt.Errorf("a value at an encrypted path is a %s, not encrypted", yamlKind(in))
		}
	}
	if !d.macOnlyEncrypted || encrypted {
		if _, isComment := out.(comment); !isComment {
			b, err := macBytes(out)
			if err != nil {
				return nil, err
			}
			d.mac.Write(b)
		}
	}
	return out, nil
}

// yamlKind names the kind of a decoded YAML value without quoting it.
func yamlKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int, int64, uint64, float64:
		return "number"
	case time.Time:
		return "timestamp"
	case []any:
		return "list"
	case map[string]any, mapping:
		return "mapping"
	default:
		return fmt.Sprintf("%T", v)
	}
}
