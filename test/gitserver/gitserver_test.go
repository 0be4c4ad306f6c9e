package gitserver

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A clone of a served repository pushes back over HTTP, as the demo tells
// people to do.
func TestClonePushAndWriteTree(t *testing.T) {
	s, err := Start(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	repo, err := s.Create("app")
	if err != nil {
		t.Fatal(err)
	}
	fixture := t.TempDir()
	if err := (&Repo{work: fixture}).Write(map[string]string{"deploy/a.yaml": "url: REPO_URL\n"}); err != nil {
		t.Fatal(err)
	}
	if err := repo.WriteTree(fixture, "apps", map[string]string{"REPO_URL": repo.URL}); err != nil {
		t.Fatal(err)
	}
	first, err := repo.Commit("main", "first")
	if err != nil {
		t.Fatal(err)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t.invalid",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t.invalid")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("clone", "-q", repo.URL, clone)
	if got := run("-C", clone, "show", "HEAD:apps/deploy/a.yaml"); got != "url: "+repo.URL {
		t.Errorf("the tree's placeholder was not filled in: %q", got)
	}
	run("-C", clone, "commit", "-q", "--allow-empty", "-m", "second")
	run("-C", clone, "push", "-q", "origin", "main")
	if head := run("ls-remote", repo.URL, "refs/heads/main"); strings.HasPrefix(head, first) {
		t.Errorf("the push did not move main: %s", head)
	}
}
