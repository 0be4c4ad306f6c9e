package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeLayout writes img as the one image of an OCI image layout at dir,
// replacing whatever was there: `crane push DIR REF` wants exactly one.
// Its index entry names the tag (org.opencontainers.image.ref.name, what
// skopeo's oci:DIR:TAG looks for) and the whole reference (what containerd
// names an imported image after).
func writeLayout(dir string, tag name.Tag, img v1.Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
		"io.containerd.image.name":          tag.Name(),
	}))
}

// writeTarball writes img as a tarball `docker load` and `crane push` read,
// tagged with tag.
func writeTarball(path string, tag name.Tag, img v1.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return tarball.WriteToFile(path, tag, img)
}

// report prints the image's digest and sizes: per layer, what a pull
// downloads (compressed) and what it unpacks to.
func report(out io.Writer, tag name.Tag, img v1.Image, o options) error {
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "image   %s@%s\n", tag.Name(), digest)
	fmt.Fprintf(out, "        %s/%s, created %s\n", cfg.OS, cfg.Architecture, cfg.Created.UTC().Format("2006-01-02T15:04:05Z"))
	var compressed, uncompressed int64
	for i, l := range layers {
		size, err := l.Size()
		if err != nil {
			return err
		}
		full, err := partial.UncompressedSize(l)
		if err != nil {
			return err
		}
		compressed += size
		uncompressed += full
		what := ""
		if i < len(cfg.History) {
			what = ": " + cfg.History[i].Comment
		}
		fmt.Fprintf(out, "layer %d %s compressed, %s uncompressed%s\n", i+1, mib(size), mib(full), what)
	}
	fmt.Fprintf(out, "total   %s compressed, %s uncompressed\n", mib(compressed), mib(uncompressed))
	info, err := os.Stat(o.tarball)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote   %s (OCI layout)\n        %s (%s, for docker load)\n", o.ociDir, o.tarball, mib(info.Size()))
	return nil
}

func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
