// Package repo locates the Sluice checkout and the module-cache copies of its
// dependencies, for tests and development commands that read files from
// them (CRDs, reference manifests).
package repo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModulePath is the Sluice module's import path.
const ModulePath = "github.com/sluicehq/sluice"

// Root finds the root of the Sluice checkout by walking up from the working
// directory, so tests in any package agree on it.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module "+ModulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the Sluice checkout (no go.mod of " + ModulePath + " above the working directory)")
		}
		dir = parent
	}
}

// ModuleDir is the module-cache directory of a dependency, at the version
// the Sluice go.mod selects. It downloads the module if it is missing.
func ModuleDir(module string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	dir, err := goList(root, module)
	if err != nil || dir != "" {
		return dir, err
	}
	dl := exec.Command("go", "mod", "download", module)
	dl.Dir = root
	if out, err := dl.CombinedOutput(); err != nil {
		return "", fmt.Errorf("downloading %s: %w: %s", module, err, out)
	}
	return goList(root, module)
}

func goList(root, module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating %s: %w: %s", module, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}
