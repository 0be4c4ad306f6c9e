package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// What the layers' history says of them.
const (
	baseComment   = "CA certificates, the nonroot user, /tmp"
	binaryComment = "the sluice manager"
)

// caBundlePaths are where Linux distributions keep the PEM bundle of their
// trusted CAs, in the order Go's crypto/x509 looks for it.
var caBundlePaths = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, Arch; Alpine's ca-certificates
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7+
	"/etc/ssl/cert.pem",                                 // Alpine
}

// file is one entry of a layer. Parents come before their children.
type file struct {
	// name is the path in the image, without the leading slash; a
	// directory's ends in a slash, as tar writes it.
	name     string
	mode     fs.FileMode // permission bits, with fs.ModeSticky where set
	uid, gid int
	content  []byte
}

func dir(name string, perm fs.FileMode) file { return file{name: name, mode: fs.ModeDir | perm} }

// baseFiles are the first layer: what a Go binary on an empty base still
// needs. CA certificates for TLS to Git hosts and Prometheus; a passwd and a
// group that name the user it runs as, with a home of its own; and a /tmp
// anyone may write, where the manager keeps its Git checkouts by default.
func baseFiles(caBundle []byte) []file {
	id := nonRootID
	return []file{
		dir("etc/", 0o755),
		{name: "etc/group", mode: 0o644, content: fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", id)},
		{name: "etc/passwd", mode: 0o644, content: fmt.Appendf(nil,
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", id, id)},
		dir("etc/ssl/", 0o755),
		dir("etc/ssl/certs/", 0o755),
		{name: strings.TrimPrefix(caFilePath, "/"), mode: 0o644, content: caBundle},
		dir("home/", 0o755),
		{name: "home/nonroot/", mode: fs.ModeDir | 0o700, uid: id, gid: id},
		dir("tmp/", fs.ModeSticky|0o777),
	}
}

// binaryFiles are the second layer: the manager alone, owned by root so the
// user it runs as cannot change it.
func binaryFiles(binary []byte) []file {
	return []file{{name: strings.TrimPrefix(binaryPath, "/"), mode: 0o755, content: binary}}
}

// layerOf makes a gzip-compressed layer of files, every one dated mtime.
// Nothing else of the build machine (its time, its users, the order of a
// directory listing) reaches the bytes, so the same files make the same
// layer digest.
func layerOf(files []file, mtime time.Time) (v1.Layer, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, f := range files {
		h := &tar.Header{
			Name:    f.name,
			Mode:    tarMode(f.mode),
			Uid:     f.uid,
			Gid:     f.gid,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if f.mode.IsDir() {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		if _, err := tw.Write(f.content); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}

	// Compressed once, here: the layer is read several times (its digest,
	// the layout, the tarball), and gzip's header carries no name or time.
	var compressed bytes.Buffer
	zw, err := gzip.NewWriterLevel(&compressed, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	gz := compressed.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	})
}

// tarMode is a tar header's mode: permission bits and, for the sticky bit,
// the c_ISVTX bit that fs.ModeSticky stands for.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// findCABundle is the CA bundle to put in the image: the one named, or the
// first of candidates that exists on the build machine.
func findCABundle(named string, candidates []string) (string, error) {
	if named != "" {
		return named, nil
	}
	for _, p := range candidates {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no CA certificate bundle on this machine (looked at %s): install the ca-certificates package, or name a PEM file with --ca-bundle",
		strings.Join(candidates, ", "))
}

// countCertificates counts the certificates Go can parse in a PEM bundle, and
// fails when there are none: an image that trusts no one cannot reach a Git
// host over HTTPS.
func countCertificates(bundle []byte) (int, error) {
	n := 0
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err == nil {
			n++
		}
	}
	if n == 0 {
		return 0, errors.New("no PEM certificate in the CA bundle")
	}
	return n, nil
}
