package analysis

import (
	"strings"
	"testing"
)

// FuzzMask: whatever text a provider returns and whatever a Secret holds,
// the text a run records holds the secret in none of the forms masked
// (as is, URL-escaped, quoted), and masking never panics.
func FuzzMask(f *testing.F) {
	f.Add("token=s3cr3t&x=1", "s3cr3t")
	f.Add(`error: "pa\"ss" refused`, `pa"ss`)
	f.Add("https://user:p%40ss@host/", "p@ss")
	f.Add("ünïcode ünïcode", "ünï")
	f.Fuzz(func(t *testing.T, text, secret string) {
		prepared := Prepared{secrets: []string{secret}}
		masked := prepared.Mask(text)
		// A secret sharing characters with the mask could be made anew
		// by it; such secrets are not what this checks.
		if secret == "" || strings.ContainsAny(secret, MaskedSecret) {
			return
		}
		if strings.Contains(masked, secret) {
			t.Fatalf("mask(%q) = %q still holds the secret %q", text, masked, secret)
		}
	})
}
