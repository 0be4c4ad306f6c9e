// Command image builds the Sluice manager's container image from a static
// binary, with no Docker daemon and no network: an empty base, one layer of
// CA certificates, users and /tmp, one layer holding the binary.
//
// It writes the image twice, as an OCI image layout (a directory `crane
// push` takes) and as a tarball `docker load` takes, and prints its digest
// and sizes. `make image` builds the binary and runs it:
//
//	go run ./hack/image --binary bin/image/sluice --version v0.1.0 --commit 1a2b3c... \
//	    --oci bin/image/oci --tarball bin/image/sluice.tar
//
// The image is reproducible: every file time and the image's created time
// are SOURCE_DATE_EPOCH (Unix 0 when unset; `make image` sets it to the
// commit's time), so one binary built into an image twice gives one digest.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// defaultRepository is where released images are pushed.
const defaultRepository = "ghcr.io/sluicehq/sluice"

// options is what one build needs.
type options struct {
	// binary is the path of a static linux manager binary.
	binary string
	// version and commit are what the binary was stamped with; the image's
	// labels say the same.
	version, commit string
	// reference names the image: the tarball's tag, the layout's ref.name.
	reference string
	// caBundle is a PEM file of CA certificates; empty: the build machine's.
	caBundle string
	// created is every file's time and the image's created time.
	created time.Time
	// ociDir and tarball are where the image is written.
	ociDir, tarball string
}

func main() {
	opts, err := parseFlags(flag.CommandLine, os.Args[1:], os.Getenv("SOURCE_DATE_EPOCH"))
	if err == nil {
		err = run(opts, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func parseFlags(fs *flag.FlagSet, args []string, sourceDateEpoch string) (options, error) {
	var o options
	fs.StringVar(&o.binary, "binary", "", "Path of the static linux manager binary (CGO_ENABLED=0 GOOS=linux).")
	fs.StringVar(&o.version, "version", "", "Version the binary was stamped with.")
	fs.StringVar(&o.commit, "commit", "", "Commit the binary was built from.")
	fs.StringVar(&o.reference, "image", "", "Image reference, the tarball's tag (default "+defaultRepository+":<version>).")
	fs.StringVar(&o.caBundle, "ca-bundle", "", "PEM file of CA certificates to put in the image (default: the build machine's bundle).")
	fs.StringVar(&o.ociDir, "oci", "bin/image/oci", "Directory to write the OCI image layout to; replaced if it exists.")
	fs.StringVar(&o.tarball, "tarball", "bin/image/sluice.tar", "File to write the docker-loadable tarball to.")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.binary == "" || o.version == "" || o.commit == "" {
		return o, errors.New("--binary, --version and --commit are required")
	}
	if o.reference == "" {
		o.reference = defaultRepository + ":" + o.version
	}
	created, err := createdFrom(sourceDateEpoch)
	o.created = created
	return o, err
}

// run builds the image, writes it to both outputs and says what it wrote.
func run(o options, out io.Writer) error {
	tag, err := name.NewTag(o.reference)
	if err != nil {
		return fmt.Errorf("--image %q is not an image reference with a tag: %w", o.reference, err)
	}
	caPath, err := findCABundle(o.caBundle, caBundlePaths)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return err
	}
	certificates, err := countCertificates(ca)
	if err != nil {
		return fmt.Errorf("%s: %w", caPath, err)
	}
	img, err := build(o, ca)
	if err != nil {
		return err
	}
	if err := writeLayout(o.ociDir, tag, img); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	if err := writeTarball(o.tarball, tag, img); err != nil {
		return fmt.Errorf("writing the tarball: %w", err)
	}
	if err := report(out, tag, img, o); err != nil {
		return err
	}
	fmt.Fprintf(out, "CAs     %d certificates from %s\n", certificates, caPath)
	return nil
}
