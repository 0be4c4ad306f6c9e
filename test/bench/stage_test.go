package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestStageCopiesABinaryUnderItsName(t *testing.T) {
	src := filepath.Join(t.TempDir(), "argo-rollouts")
	content := bytes.Repeat([]byte("\x7fELF binary "), 50_000)
	if err := os.WriteFile(src, content, 0o755); err != nil {
		t.Fatal(err)
	}
	staged, err := Stage(src, filepath.Join(t.TempDir(), "bin"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(staged)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(staged)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(staged) != "argo-rollouts" || !bytes.Equal(got, content) || info.Mode().Perm()&0o100 == 0 {
		t.Errorf("staged %s (%d bytes, mode %v): want argo-rollouts, the same %d bytes, executable",
			staged, len(got), info.Mode(), len(content))
	}
}

func TestStageNamesAMissingBinary(t *testing.T) {
	if _, err := Stage(filepath.Join(t.TempDir(), "absent"), t.TempDir()); err == nil {
		t.Error("staging a missing binary succeeded")
	}
}
