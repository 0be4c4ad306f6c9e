package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the test stamps into the manager it builds, and reads back.
const (
	testVersion = "v0.0.0-imagetest"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
)

var testCreated = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// TestImage builds the manager as `make image` does, builds its image, and
// checks what was written from the files alone.
func TestImage(t *testing.T) {
	work := t.TempDir()
	binary := buildManager(t, work)
	opts := options{
		binary:    binary,
		version:   testVersion,
		commit:    testCommit,
		reference: defaultRepository + ":" + testVersion,
		created:   testCreated,
		ociDir:    filepath.Join(work, "first", "oci"),
		tarball:   filepath.Join(work, "first", "sluice.tar"),
	}
	var out bytes.Buffer
	if err := run(opts, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())

	fromTarball, fromLayout := readBack(t, opts)
	digest, err := fromTarball.Digest()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the tarball and the OCI layout hold the same image", func(t *testing.T) {
		layoutDigest, err := fromLayout.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if digest != layoutDigest {
			t.Errorf("tarball digest %s, layout digest %s", digest, layoutDigest)
		}
		if !strings.Contains(out.String(), digest.String()) {
			t.Errorf("the output does not name the digest %s:\n%s", digest, out.String())
		}
	})

	host, err := findCABundle("", caBundlePaths)
	if err != nil {
		t.Fatal(err)
	}
	hostCA, err := os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	builtBinary, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	for _, read := range []struct {
		from string
		img  v1.Image
	}{{"tarball", fromTarball}, {"OCI layout", fromLayout}} {
		t.Run("read from the "+read.from, func(t *testing.T) {
			checkManifest(t, read.img)
			checkConfig(t, read.img)
			base, app := layerFiles(t, read.img)
			checkBase(t, base, hostCA)
			checkBinary(t, app, builtBinary)
		})
	}

	t.Run("two builds of one binary are one image, byte for byte", func(t *testing.T) {
		again := opts
		again.ociDir = filepath.Join(work, "second", "oci")
		again.tarball = filepath.Join(work, "second", "sluice.tar")
		if err := run(again, io.Discard); err != nil {
			t.Fatal(err)
		}
		second, secondLayout := readBack(t, again)
		for _, img := range []v1.Image{second, secondLayout} {
			if d, err := img.Digest(); err != nil || d != digest {
				t.Errorf("second build: digest %s (%v), first %s", d, err, digest)
			}
		}
		if a, b := fileSum(t, opts.tarball), fileSum(t, again.tarball); a != b {
			t.Errorf("the tarballs differ: sha256 %x and %x", a, b)
		}
		if a, b := fileSum(t, filepath.Join(opts.ociDir, "index.json")), fileSum(t, filepath.Join(again.ociDir, "index.json")); a != b {
			t.Errorf("the layouts' index.json differ: sha256 %x and %x", a, b)
		}
	})
}

// buildManager builds cmd/sluice as `make image` does: static, for linux,
// stamped with testVersion and testCommit. Without -trimpath: the image
// does not depend on it, and this way the build shares the cache of every
// other build of the test run (all static, CGO_ENABLED=0), which on a cold
// machine saves compiling every dependency once more.
func buildManager(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "sluice")
	const pkg = "github.com/sluicehq/sluice/internal/version"
	cmd := exec.Command("go", "build",
		"-ldflags", "-s -w -X "+pkg+".Version="+testVersion+" -X "+pkg+".Commit="+testCommit,
		"-o", out, "github.com/sluicehq/sluice/cmd/sluice")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, output)
	}
	return out
}

// readBack opens the image in the tarball, by its tag, and the one image of
// the OCI layout.
func readBack(t *testing.T, o options) (fromTarball, fromLayout v1.Image) {
	t.Helper()
	tag, err := name.NewTag(o.reference)
	if err != nil {
		t.Fatal(err)
	}
	fromTarball, err = tarball.ImageFromPath(o.tarball, &tag)
	if err != nil {
		t.Fatalf("the tarball has no image tagged %s: %v", tag, err)
	}
	index, err := layout.ImageIndexFromPath(o.ociDir)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest.Manifests) != 1 {
		t.Fatalf("the layout holds %d manifests, want 1", len(manifest.Manifests))
	}
	desc := manifest.Manifests[0]
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != testVersion {
		t.Errorf("the layout's ref.name is %q, want %q", got, testVersion)
	}
	fromLayout, err = index.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return fromTarball, fromLayout
}

func checkManifest(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.DockerManifestSchema2 || m.Config.MediaType != types.DockerConfigJSON {
		t.Errorf("media types %s, %s: want Docker's, the only ones a docker tarball records", m.MediaType, m.Config.MediaType)
	}
	for i, l := range m.Layers {
		if l.MediaType != types.DockerLayer {
			t.Errorf("layer %d is %s, want %s", i+1, l.MediaType, types.DockerLayer)
		}
	}
}

func checkConfig(t *testing.T, img v1.Image) {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cfg.OS, cfg.Architecture, runtime.GOARCH)
	}
	if !cfg.Created.Equal(testCreated) {
		t.Errorf("created %s, want %s", cfg.Created.Time, testCreated)
	}
	want := v1.Config{
		Entrypoint: []string{"/sluice"},
		User:       "65532:65532",
		WorkingDir: "/",
		Env:        []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "sluice",
			"org.opencontainers.image.version":  testVersion,
			"org.opencontainers.image.revision": testCommit,
			"org.opencontainers.image.source":   "https://github.com/sluicehq/sluice",
		},
	}
	if diff := cmp.Diff(want, cfg.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	// A kubelet enforces runAsNonRoot only on a numeric user.
	user, group, _ := strings.Cut(cfg.Config.User, ":")
	for _, id := range []string{user, group} {
		if n, err := strconv.Atoi(id); err != nil || n == 0 {
			t.Errorf("user %q: want numeric, non-root ids", cfg.Config.User)
		}
	}
	if len(cfg.History) != 2 {
		t.Errorf("%d history entries, want one per layer", len(cfg.History))
	}
}

// entry is a layer's record of one file, as read back.
type entry struct {
	Name     string
	Mode     fs.FileMode
	UID, GID int
	Size     int64
	ModTime  time.Time
}

// layerFiles reads the image's two layers: each file's entry, and contents.
func layerFiles(t *testing.T, img v1.Image) (base, app map[string]fileRead) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%d layers, want 2", len(layers))
	}
	return readLayer(t, layers[0]), readLayer(t, layers[1])
}

type fileRead struct {
	entry
	content []byte
}

func readLayer(t *testing.T, l v1.Layer) map[string]fileRead {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]fileRead{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = fileRead{entry{h.Name, h.FileInfo().Mode(), h.Uid, h.Gid, h.Size, h.ModTime.UTC()}, content}
	}
	return files
}

func entries(files map[string]fileRead) map[string]entry {
	out := map[string]entry{}
	for n, f := range files {
		out[n] = f.entry
	}
	return out
}

func checkBase(t *testing.T, files map[string]fileRead, hostCA []byte) {
	t.Helper()
	const (
		passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
		group  = "root:x:0:\nnonroot:x:65532:\n"
	)
	at := func(name string, mode fs.FileMode, id int, size int) entry {
		return entry{name, mode, id, id, int64(size), testCreated}
	}
	want := map[string]entry{
		"etc/":                              at("etc/", fs.ModeDir|0o755, 0, 0),
		"etc/group":                         at("etc/group", 0o644, 0, len(group)),
		"etc/passwd":                        at("etc/passwd", 0o644, 0, len(passwd)),
		"etc/ssl/":                          at("etc/ssl/", fs.ModeDir|0o755, 0, 0),
		"etc/ssl/certs/":                    at("etc/ssl/certs/", fs.ModeDir|0o755, 0, 0),
		"etc/ssl/certs/ca-certificates.crt": at("etc/ssl/certs/ca-certificates.crt", 0o644, 0, len(hostCA)),
		"home/":                             at("home/", fs.ModeDir|0o755, 0, 0),
		"home/nonroot/":                     at("home/nonroot/", fs.ModeDir|0o700, 65532, 0),
		"tmp/":                              at("tmp/", fs.ModeDir|fs.ModeSticky|0o777, 0, 0),
	}
	if diff := cmp.Diff(want, entries(files)); diff != "" {
		t.Errorf("base layer (-want +got):\n%s", diff)
	}
	if got := string(files["etc/passwd"].content); got != passwd {
		t.Errorf("/etc/passwd:\n%s\nwant:\n%s", got, passwd)
	}
	if got := string(files["etc/group"].content); got != group {
		t.Errorf("/etc/group:\n%s\nwant:\n%s", got, group)
	}
	ca := files["etc/ssl/certs/ca-certificates.crt"].content
	if !bytes.Equal(ca, hostCA) {
		t.Errorf("the CA bundle is not the build machine's")
	}
	if n := parsedCertificates(ca); n == 0 {
		t.Errorf("the CA bundle holds no certificate Go can parse")
	} else {
		t.Logf("CA bundle: %d certificates", n)
	}
}

func parsedCertificates(bundle []byte) int {
	n := 0
	for block, rest := pem.Decode(bundle); block != nil; block, rest = pem.Decode(rest) {
		if _, err := x509.ParseCertificate(block.Bytes); block.Type == "CERTIFICATE" && err == nil {
			n++
		}
	}
	return n
}

func checkBinary(t *testing.T, files map[string]fileRead, built []byte) {
	t.Helper()
	want := map[string]entry{"sluice": {"sluice", 0o755, 0, 0, int64(len(built)), testCreated}}
	if diff := cmp.Diff(want, entries(files)); diff != "" {
		t.Fatalf("binary layer (-want +got):\n%s", diff)
	}
	if _, shell := files["bin/sh"]; shell {
		t.Errorf("the image has a shell")
	}
	if !bytes.Equal(files["sluice"].content, built) {
		t.Fatalf("/sluice is not the binary that was built")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary runs on linux only")
	}
	// Run the copy read from the layer, with the mode the layer gives it.
	path := filepath.Join(t.TempDir(), "sluice")
	if err := os.WriteFile(path, files["sluice"].content, files["sluice"].Mode.Perm()); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("/sluice --version: %v\n%s", err, out)
	}
	if want := "sluice " + testVersion + " (commit " + testCommit + ", "; !strings.HasPrefix(string(out), want) {
		t.Errorf("/sluice --version says %q, want it to start %q", out, want)
	}
}

func fileSum(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}
