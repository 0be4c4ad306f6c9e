package decrypt

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"filippo.io/age"
	agearmor "filippo.io/age/armor"
	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
)

// dataKey recovers the document's data key with the age and PGP master
// keys of its key groups; with more than one group, from the Shamir
// shares of as many groups as the threshold asks.
func (k *Keys) dataKey(groups []keyGroup, threshold int) ([]byte, error) {
	if len(groups) == 0 {
		return nil, errors.New("its SOPS metadata names no master key")
	}
	if !hasLocalKey(groups) {
		return nil, fmt.Errorf("its only master keys are %s, which are not supported: "+
			"encrypt it for an age or PGP key as well", strings.Join(keyTypes(groups), ", "))
	}
	var parts [][]byte
	var failures []string
	for i, group := range groups {
		part, err := k.groupPart(group)
		if err != nil {
			failures = append(failures, fmt.Sprintf("key group %d: %v", i+1, err))
			continue
		}
		parts = append(parts, part)
	}
	if len(groups) == 1 {
		if len(parts) == 0 {
			return nil, errors.New(strings.TrimPrefix(failures[0], "key group 1: "))
		}
		return parts[0], nil
	}
	if threshold == 0 {
		threshold = len(groups)
	}
	if len(parts) < threshold {
		return nil, fmt.Errorf("%d of %d key groups open, %d needed: %s", len(parts), len(groups), threshold,
			strings.Join(failures, "; "))
	}
	key, err := combineShares(parts)
	if err != nil {
		return nil, fmt.Errorf("the key groups' shares do not combine into a data key: %w", err)
	}
	return key, nil
}

// groupPart decrypts what one key group holds with the first of its PGP
// or age master keys that a key of the Secret opens.
func (k *Keys) groupPart(group keyGroup) ([]byte, error) {
	var tried []string
	for _, key := range group.PGP {
		if part, err := k.openPGP(key.Encrypted); err == nil {
			return part, nil
		}
		tried = append(tried, "PGP "+key.Fingerprint)
	}
	for _, key := range group.Age {
		if part, err := k.openAge(key.Encrypted); err == nil {
			return part, nil
		}
		tried = append(tried, "age "+key.Recipient)
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("its only master keys are %s, which are not supported", strings.Join(group.types(), ", "))
	}
	return nil, fmt.Errorf("no key of the Secret opens it (it is encrypted for %s)", strings.Join(tried, ", "))
}

func (k *Keys) openAge(encrypted string) ([]byte, error) {
	if len(k.age) == 0 {
		return nil, errors.New("no age identity")
	}
	r, err := age.Decrypt(agearmor.NewReader(strings.NewReader(encrypted)), k.age...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, 1<<10))
}

func (k *Keys) openPGP(encrypted string) ([]byte, error) {
	if len(k.pgp) == 0 {
		return nil, errors.New("no PGP key")
	}
	var body io.Reader = strings.NewReader(encrypted)
	if block, err := pgparmor.Decode(strings.NewReader(encrypted)); err == nil {
		body = block.Body
	}
	md, err := openpgp.ReadMessage(body, k.pgp, nil, nil)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(md.UnverifiedBody, 1<<10))
}

// hasLocalKey reports whether some key group holds an age or PGP key.
func hasLocalKey(groups []keyGroup) bool {
	for _, g := range groups {
		if len(g.Age)+len(g.PGP) > 0 {
			return true
		}
	}
	return false
}

// keyTypes names the kinds of master keys of groups, as sops' metadata
// names them (kms, gcp_kms, azure_kv, hc_vault, ...).
func keyTypes(groups []keyGroup) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range groups {
		for _, t := range g.types() {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out
}
