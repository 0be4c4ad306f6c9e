package notifications

import "testing"

func TestRedact(t *testing.T) {
	cases := []struct {
		name, text, want string
		data             map[string][]byte
	}{
		{"a value anywhere is masked", "GET https://hooks.example.com/?key=abcd1234 failed",
			"GET https://hooks.example.com/?key=****** failed", map[string][]byte{"key": []byte("abcd1234")}},
		{"a value containing another is masked whole", "token xoxb-1-secret",
			"token ******", map[string][]byte{"a": []byte("xoxb-1-secret"), "b": []byte("secret")}},
		{"surrounding whitespace of a value does not keep it", "Bearer abcdef",
			"Bearer ******", map[string][]byte{"a": []byte("abcdef\n")}},
		{"values too short to mean anything are left", "the cat sat",
			"the cat sat", map[string][]byte{"a": []byte("cat")}},
		{"no Secret, nothing masked", "plain", "plain", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Redact(tc.text, tc.data); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}
