package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// A phase begins at the end of the audit log's last whole line: a line
// the API server is midway through belongs to what comes after.
func TestLogSize(t *testing.T) {
	cases := []struct {
		name    string
		content *string
		want    int64
	}{
		{"no log yet", nil, 0},
		{"an empty log", ptr(""), 0},
		{"whole lines", ptr("{\"a\":1}\n{\"b\":2}\n"), 16},
		{"a line being written", ptr("{\"a\":1}\n{\"b\":"), 8},
		{"a first line being written", ptr("{\"a\":"), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			if c.content != nil {
				if err := os.WriteFile(path, []byte(*c.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := LogSize(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("LogSize = %d, want %d", got, c.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }
