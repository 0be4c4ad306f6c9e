package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestPlatformOf(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name     string
		settings []debug.BuildSetting
		want     v1.Platform
		wantErr  string
	}{
		{"a static linux binary", settings("GOOS", "linux", "GOARCH", "arm64", "CGO_ENABLED", "0"),
			v1.Platform{OS: "linux", Architecture: "arm64"}, ""},
		{"32-bit arm names its variant", settings("GOOS", "linux", "GOARCH", "arm", "GOARM", "7,softfloat", "CGO_ENABLED", "0"),
			v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, ""},
		{"cgo needs a C library the image lacks", settings("GOOS", "linux", "GOARCH", "amd64", "CGO_ENABLED", "1"),
			v1.Platform{}, "build with CGO_ENABLED=0"},
		{"no record of cgo is no promise of a static binary", settings("GOOS", "linux", "GOARCH", "amd64"),
			v1.Platform{}, "build with CGO_ENABLED=0"},
		{"a binary for another system", settings("GOOS", "darwin", "GOARCH", "arm64", "CGO_ENABLED", "0"),
			v1.Platform{}, "build with GOOS=linux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := platformOf(tt.settings)
			if !errorContains(err, tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("platform (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlatformOfBinaryRefusesWhatIsNotAGoBinary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := platformOfBinary(path); !errorContains(err, "not a Go binary") {
		t.Errorf("error %v, want one saying it is not a Go binary", err)
	}
}

func TestCreatedFrom(t *testing.T) {
	tests := []struct {
		name, sourceDateEpoch string
		want                  time.Time
		wantErr               string
	}{
		{"unset: the Unix epoch", "", time.Unix(0, 0).UTC(), ""},
		{"seconds since the epoch", "1700000000", time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC), ""},
		{"not a number", "yesterday", time.Time{}, "not a count of seconds"},
		{"before 1970", "-1", time.Time{}, "not a count of seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := createdFrom(tt.sourceDateEpoch)
			if !errorContains(err, tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if !got.Equal(tt.want) {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFindCABundle(t *testing.T) {
	dir := t.TempDir()
	debian, alpine := filepath.Join(dir, "debian.crt"), filepath.Join(dir, "alpine.pem")
	if err := os.WriteFile(alpine, []byte("pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		named      string
		candidates []string
		want       string
		wantErr    string
	}{
		{"the first that exists", "", []string{debian, alpine}, alpine, ""},
		{"one named is taken as it is", "/my/bundle.pem", []string{alpine}, "/my/bundle.pem", ""},
		{"none: say where it looked and what to do", "", []string{debian, dir}, "",
			"no CA certificate bundle on this machine (looked at " + debian + ", " + dir + "): install the ca-certificates package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findCABundle(tt.named, tt.candidates)
			if !errorContains(err, tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCountCertificatesRefusesABundleWithNone(t *testing.T) {
	for name, bundle := range map[string]string{
		"empty":          "",
		"not PEM":        "hello\n",
		"a key, no cert": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"a broken cert":  "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		if n, err := countCertificates([]byte(bundle)); err == nil {
			t.Errorf("%s: %d certificates and no error", name, n)
		}
	}
}

func TestParseFlags(t *testing.T) {
	parse := func(args ...string) (options, error) {
		fs := flag.NewFlagSet("image", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		return parseFlags(fs, args, "86400")
	}
	o, err := parse("--binary", "bin/sluice", "--version", "v0.2.0", "--commit", "1a2b3c")
	if err != nil {
		t.Fatal(err)
	}
	if o.reference != "ghcr.io/sluicehq/sluice:v0.2.0" {
		t.Errorf("default reference %q, want the version's tag in ghcr.io/sluicehq/sluice", o.reference)
	}
	if !o.created.Equal(time.Unix(86400, 0)) {
		t.Errorf("created %s, want SOURCE_DATE_EPOCH's", o.created)
	}
	if _, err := parse("--binary", "bin/sluice", "--version", "v0.2.0"); !errorContains(err, "required") {
		t.Errorf("no --commit: error %v, want one saying it is required", err)
	}
}

func errorContains(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && strings.Contains(err.Error(), want)
}
