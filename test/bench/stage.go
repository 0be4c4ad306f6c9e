package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Stage copies a controller's binary into dir, under its own name, and
// returns the copy's path, so every binary a suite compares is run from a
// file written the same way.
//
// Much of a Go controller's resident memory is its binary's own pages, and
// how many of them a process maps depends on how the file sits in the page
// cache, not only on what the process touches: the same bytes freshly
// written by the Go linker mapped 14 MiB more at start-up than a copy
// written with write(2) (larger page-cache folios are mapped whole). A
// manager built for the run and a baseline read from the tools cache would
// otherwise be measured under different rules.
func Stage(binary, dir string) (string, error) {
	src, err := os.Open(binary)
	if err != nil {
		return "", err
	}
	defer src.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	staged := filepath.Join(dir, filepath.Base(binary))
	dst, err := os.OpenFile(staged, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o700) //nolint:gosec // a program to run, by its owner alone
	if err != nil {
		return "", err
	}
	// Plain writes: hiding the file's ReadFrom keeps io.Copy from asking
	// the kernel to copy (copy_file_range), which may lay the copy out as
	// it likes.
	if _, err := io.Copy(struct{ io.Writer }{dst}, src); err != nil {
		_ = dst.Close()
		return "", fmt.Errorf("staging %s: %w", binary, err)
	}
	return staged, dst.Close()
}

// Staged is env with the manager and the named tools of env.BinDir staged
// (Stage) into the suite's work directory: the copy's Manager and BinDir
// name the staged files.
func (env *Env) Staged(tools ...string) (*Env, error) {
	dir := filepath.Join(env.WorkDir, "bin")
	manager, err := Stage(env.Manager, dir)
	if err != nil {
		return nil, err
	}
	for _, tool := range tools {
		if _, err := Stage(filepath.Join(env.BinDir, tool), dir); err != nil {
			return nil, err
		}
	}
	staged := *env
	staged.Manager, staged.BinDir = manager, dir
	return &staged, nil
}
