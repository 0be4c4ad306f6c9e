package main

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// In the image.
const (
	binaryPath = "/sluice"
	caFilePath = "/etc/ssl/certs/ca-certificates.crt"
	// nonRootID is the user and group the manager runs as: numeric, so a
	// kubelet can check runAsNonRoot without reading /etc/passwd.
	nonRootID = 65532
)

// sourceURL is the image's org.opencontainers.image.source label.
const sourceURL = "https://github.com/sluicehq/sluice"

// build assembles the image: the base layer with caBundle (PEM), the
// binary's layer, and a config that runs the binary as the non-root user.
// It uses Docker's media types because a docker tarball can record no
// others: read back, the tarball and the OCI layout then hold the very same
// manifest, one digest.
func build(o options, caBundle []byte) (v1.Image, error) {
	platform, err := platformOfBinary(o.binary)
	if err != nil {
		return nil, err
	}
	binary, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, err
	}

	base, err := layerOf(baseFiles(caBundle), o.created)
	if err != nil {
		return nil, err
	}
	app, err := layerOf(binaryFiles(binary), o.created)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: o.created}
	img, err := mutate.Append(empty.Image,
		mutate.Addendum{Layer: base, History: v1.History{Created: created, CreatedBy: "hack/image", Comment: baseComment}},
		mutate.Addendum{Layer: app, History: v1.History{Created: created, CreatedBy: "hack/image", Comment: binaryComment}},
	)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Created = created
	cfg.OS = platform.OS
	cfg.Architecture = platform.Architecture
	cfg.Variant = platform.Variant
	cfg.Config = v1.Config{
		Entrypoint: []string{binaryPath},
		User:       fmt.Sprintf("%d:%d", nonRootID, nonRootID),
		WorkingDir: "/",
		// Go reads its roots from here first anyway; naming the file keeps
		// it so for any other TLS code in the binary.
		Env:    []string{"SSL_CERT_FILE=" + caFilePath},
		Labels: labels(o.version, o.commit),
	}
	return mutate.ConfigFile(img, cfg)
}

// labels are the OCI annotations of the image's config. There is no
// org.opencontainers.image.licenses: the repository has no licence file yet.
func labels(version, commit string) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":    "sluice",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": commit,
		"org.opencontainers.image.source":   sourceURL,
	}
}

// platformOfBinary reads the platform a Go binary was built for.
func platformOfBinary(path string) (v1.Platform, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("%s is not a Go binary with build information: %w", path, err)
	}
	p, err := platformOf(info.Settings)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// platformOf is the image platform of a binary with these build settings,
// or an error when the binary cannot run on the empty base: the base has
// no C library, so the binary must be a linux one built without cgo.
func platformOf(settings []debug.BuildSetting) (v1.Platform, error) {
	s := map[string]string{}
	for _, kv := range settings {
		s[kv.Key] = kv.Value
	}
	if s["GOOS"] != "linux" {
		return v1.Platform{}, fmt.Errorf("built for GOOS=%q: the image runs linux, build with GOOS=linux", s["GOOS"])
	}
	if s["CGO_ENABLED"] != "0" {
		return v1.Platform{}, fmt.Errorf("built with cgo (CGO_ENABLED=%q): the image has no C library, build with CGO_ENABLED=0", s["CGO_ENABLED"])
	}
	if s["GOARCH"] == "" {
		return v1.Platform{}, errors.New("no GOARCH in the build information")
	}
	p := v1.Platform{OS: "linux", Architecture: s["GOARCH"]}
	if p.Architecture == "arm" {
		// GOARM=7 or, since Go 1.22, 7,softfloat: the variant is v7.
		p.Variant = "v" + strings.SplitN(s["GOARM"], ",", 2)[0]
	}
	return p, nil
}

// createdFrom reads SOURCE_DATE_EPOCH (reproducible-builds.org): seconds
// since the Unix epoch, or Unix 0 when unset.
func createdFrom(sourceDateEpoch string) (time.Time, error) {
	if sourceDateEpoch == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	seconds, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
	if err != nil || seconds < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a count of seconds since 1970", sourceDateEpoch)
	}
	return time.Unix(seconds, 0).UTC(), nil
}
