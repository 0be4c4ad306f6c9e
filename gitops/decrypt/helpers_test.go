package decrypt_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"sigs.k8s.io/yaml"
)

type openpgpEntity = openpgp.Entity

var (
	encValue = regexp.MustCompile(`ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),`)
	macLine  = regexp.MustCompile(`mac: ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),`)
)

// flip changes the first character of base64 data to another one.
func flip(data string) string {
	if data[0] == 'A' {
		return "B" + data[1:]
	}
	return "A" + data[1:]
}

// tamperValue changes the ciphertext of the first encrypted value.
func tamperValue(t *testing.T, doc string) string {
	t.Helper()
	m := encValue.FindStringSubmatchIndex(doc)
	if m == nil {
		t.Fatal("no encrypted value")
	}
	return doc[:m[2]] + flip(doc[m[2]:m[3]]) + doc[m[3]:]
}

// tamperMAC changes the ciphertext of the MAC.
func tamperMAC(t *testing.T, doc string) string {
	t.Helper()
	m := macLine.FindStringSubmatchIndex(doc)
	if m == nil {
		t.Fatal("no MAC")
	}
	return doc[:m[2]] + flip(doc[m[2]:m[3]]) + doc[m[3]:]
}

func decodeYAML(t *testing.T, doc string) map[string]any {
	t.Helper()
	out := map[string]any{}
	if err := yaml.Unmarshal([]byte(doc), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func armoredPublic(t *testing.T, e *openpgp.Entity) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return []byte(strings.TrimSpace(out.String()) + "\n")
}
