package source

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/sluicehq/sluice/test/gitserver"
)

// serve starts a Git server on loopback with one repository: main with two
// commits, a branch, annotated tags v1.0.0 and v1.2.0 on the first and the
// second commit. It returns the repository and the two commits.
func serve(t *testing.T, opts gitserver.Options) (repo *gitserver.Repo, first, second string) {
	t.Helper()
	server, err := gitserver.Start(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Stop)
	repo, err = server.Create("apps")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(repo.Write(map[string]string{"app/a.yaml": "first\n"}))
	first, err = repo.Commit("main", "first")
	must(err)
	must(repo.Tag("v1.0.0"))
	must(repo.Write(map[string]string{"app/a.yaml": "second\n"}))
	second, err = repo.Commit("main", "second")
	must(err)
	must(repo.Tag("v1.2.0"))
	must(repo.Write(map[string]string{"app/a.yaml": "feature\n"}))
	_, err = repo.Commit("feature", "on a branch")
	must(err)
	return repo, first, second
}

func TestResolveAndCheckout(t *testing.T) {
	repo, first, second := serve(t, gitserver.Options{})
	fetcher := &Fetcher{CacheDir: t.TempDir()}
	ctx := context.Background()
	tests := []struct {
		revision, wantCommit, wantRef, wantFile string
	}{
		{"", second, "refs/heads/main", "second"},
		{"HEAD", second, "refs/heads/main", "second"},
		{"main", second, "refs/heads/main", "second"},
		{"v1.0.0", first, "refs/tags/v1.0.0", "first"},
		{"~1.0", first, "refs/tags/v1.0.0", "first"},
		{">=1.0.0 <2.0.0", second, "refs/tags/v1.2.0", "second"},
		{first, first, "", "first"},
		{second, second, "refs/heads/main", "second"},
	}
	for _, tt := range tests {
		t.Run("revision "+tt.revision, func(t *testing.T) {
			rev, err := fetcher.Resolve(ctx, repo.URL, tt.revision, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Commit != tt.wantCommit || (tt.wantRef != "" && rev.Ref != tt.wantRef) {
				t.Fatalf("Resolve = %+v, want %s at %s", rev, tt.wantCommit, tt.wantRef)
			}
			checkout, err := fetcher.Checkout(ctx, repo.URL, rev, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer checkout.Release()
			data, err := os.ReadFile(filepath.Join(checkout.Dir, "app", "a.yaml"))
			if err != nil || strings.TrimSpace(string(data)) != tt.wantFile {
				t.Fatalf("the checkout holds %q, %v; want %q", data, err, tt.wantFile)
			}
			// serve commits each file's content as its message.
			if got := checkout.Commit; got.Subject() != tt.wantFile || got.Author != "Sluice Test" || got.Date.IsZero() {
				t.Fatalf("the commit records %+v; want the subject %q by Sluice Test, with a date", got, tt.wantFile)
			}
		})
	}

	t.Run("a commit checked out before is not fetched again", func(t *testing.T) {
		rev, _ := fetcher.Resolve(ctx, repo.URL, "main", nil)
		first, err := fetcher.Checkout(ctx, repo.URL, rev, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Release()
		marker := filepath.Join(first.Dir, ".git", "sluice-marker")
		if err := os.WriteFile(marker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := fetcher.Checkout(ctx, repo.URL, rev, nil)
		if err != nil || again.Dir != first.Dir {
			t.Fatalf("Checkout = %+v, %v; want %q", again, err, first.Dir)
		}
		defer again.Release()
		if again.Commit != first.Commit {
			t.Errorf("the commit again records %+v, first %+v", again.Commit, first.Commit)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Fatal("the checkout was fetched again")
		}
	})
}

func TestResolveErrors(t *testing.T) {
	repo, _, _ := serve(t, gitserver.Options{Username: "ci", Password: "s3cret"})
	fetcher := &Fetcher{CacheDir: t.TempDir()}
	ctx := context.Background()
	good := &http.BasicAuth{Username: "ci", Password: "s3cret"}

	if _, err := fetcher.Resolve(ctx, repo.URL, "main", good); err != nil {
		t.Fatalf("with the right credentials: %v", err)
	}
	for name, tc := range map[string]struct {
		url, revision string
		auth          *http.BasicAuth
		want          string
	}{
		"no credentials":    {repo.URL, "main", nil, "authentication required"},
		"wrong credentials": {repo.URL, "main", &http.BasicAuth{Username: "ci", Password: "nope"}, "authentication required"},
		"an unknown ref":    {repo.URL, "release-9", good, `has no branch or tag "release-9"`},
		"no tag in a range": {repo.URL, ">=3.0.0", good, `has no tag in the range ">=3.0.0"`},
		"a missing repo":    {strings.TrimSuffix(repo.URL, "apps.git") + "nope.git", "main", good, "listing the refs"},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			if tc.auth == nil {
				_, err = fetcher.Resolve(ctx, tc.url, tc.revision, nil)
			} else {
				_, err = fetcher.Resolve(ctx, tc.url, tc.revision, tc.auth)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestAuthFromSecret(t *testing.T) {
	auth, err := AuthFromSecret("https://git.example/a.git", map[string][]byte{"username": []byte("u"), "password": []byte("p")})
	if basic, ok := auth.(*http.BasicAuth); err != nil || !ok || basic.Username != "u" || basic.Password != "p" {
		t.Fatalf("basic: %#v, %v", auth, err)
	}
	auth, err = AuthFromSecret("https://git.example/a.git", map[string][]byte{"bearerToken": []byte("t")})
	if token, ok := auth.(*http.TokenAuth); err != nil || !ok || token.Token != "t" {
		t.Fatalf("token: %#v, %v", auth, err)
	}
	if auth, err := AuthFromSecret("https://git.example/a.git", nil); auth != nil || err != nil {
		t.Fatalf("none: %#v, %v", auth, err)
	}
	if _, err := AuthFromSecret("ssh://git@git.example/a.git", map[string][]byte{}); err == nil ||
		!strings.Contains(err.Error(), "identity") {
		t.Fatalf("ssh without a key: %v", err)
	}
}

// The cache keeps the checkouts in use and the most recent others, not
// every commit ever synced.
func TestCheckoutsNoOneUsesAreRemoved(t *testing.T) {
	s, err := gitserver.Start(t.TempDir(), gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	repo, err := s.Create("busy")
	if err != nil {
		t.Fatal(err)
	}
	var commits []string
	for i := range 5 {
		if err := repo.Write(map[string]string{"app/a.yaml": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		sha, err := repo.Commit("main", fmt.Sprint("commit ", i))
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, sha)
	}
	fetcher := &Fetcher{CacheDir: t.TempDir(), Keep: 2}
	ctx := context.Background()
	// The first commit is held throughout, as by a render under way.
	held, err := fetcher.Checkout(ctx, repo.URL, Revision{Commit: commits[0]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, commit := range commits[1:] {
		checkout, err := fetcher.Checkout(ctx, repo.URL, Revision{Commit: commit}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkout.Release()
		dirs = append(dirs, checkout.Dir)
	}
	exists := func(dir string) bool { _, err := os.Stat(filepath.Join(dir, ".git")); return err == nil }
	if !exists(held.Dir) {
		t.Error("a checkout in use was removed")
	}
	for i, dir := range dirs {
		if want := i >= len(dirs)-2; exists(dir) != want {
			t.Errorf("checkout of commit %d on disk: %v, want %v (the two most recent unused stay)", i+1, exists(dir), want)
		}
	}
	held.Release()
	if exists(held.Dir) {
		t.Error("the held checkout, released and least recently used, stayed")
	}
}

// A repository larger than the Fetcher allows fails, leaving nothing on
// disk, before it fills the manager's.
func TestCheckoutRefusesARepositoryOverTheLimit(t *testing.T) {
	s, err := gitserver.Start(t.TempDir(), gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	repo, err := s.Create("huge")
	if err != nil {
		t.Fatal(err)
	}
	// Random bytes: no compression brings them under the limit.
	blob := make([]byte, 1<<20)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	if err := repo.Write(map[string]string{"app/a.yaml": "x: 1\n", "assets/blob.bin": string(blob)}); err != nil {
		t.Fatal(err)
	}
	commit, err := repo.Commit("main", "a large file")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	fetcher := &Fetcher{CacheDir: cache, MaxSize: 256 << 10}
	_, err = fetcher.Checkout(context.Background(), repo.URL, Revision{Commit: commit, Ref: "refs/heads/main"}, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than the manager allows") {
		t.Fatalf("err = %v, want the size refused", err)
	}
	if size := diskSize(cache); size > 0 {
		t.Errorf("%d bytes left in the cache", size)
	}
	fetcher.MaxSize = 8 << 20
	checkout, err := fetcher.Checkout(context.Background(), repo.URL, Revision{Commit: commit, Ref: "refs/heads/main"}, nil)
	if err != nil {
		t.Fatalf("under a larger limit: %v", err)
	}
	checkout.Release()
	if _, err := os.Stat(filepath.Join(checkout.Dir, "app", "a.yaml")); err != nil {
		t.Error(err)
	}
}

func TestSubject(t *testing.T) {
	long := strings.Repeat("a", MaxSubject+10)
	// "é" (2 bytes) ends exactly at the cut, 197 bytes in.
	accented := strings.Repeat("a", 195) + "é" + "éé tail"
	// A 3-byte character across the cut: it goes whole.
	straddling := strings.Repeat("a", 196) + "€€€"
	tests := []struct {
		name, message, want string
	}{
		{"a one-line message is the subject", "Bump the web image to 1.4", "Bump the web image to 1.4"},
		{"the body is left out", "Bump the web image\n\nThe old one leaks memory.\n", "Bump the web image"},
		{"leading blank lines and trailing spaces are not the subject", "\n\n  Fix the probe  \r\nbody", "Fix the probe"},
		{"an empty message has no subject", "", ""},
		{"a line of exactly the bound stays whole", strings.Repeat("b", MaxSubject), strings.Repeat("b", MaxSubject)},
		{"a longer line is cut to the bound, ellipsis included", long, strings.Repeat("a", MaxSubject-3) + "…"},
		{"a cut on a character boundary keeps the character before it", accented, strings.Repeat("a", 195) + "é…"},
		{"a character across the cut is left out whole", straddling, strings.Repeat("a", 196) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CommitInfo{Message: tt.message}.Subject()
			if got != tt.want {
				t.Errorf("Subject() = %q, want %q", got, tt.want)
			}
			if len(got) > MaxSubject || !utf8.ValidString(got) {
				t.Errorf("Subject() is %d bytes, valid UTF-8 %v; want at most %d, valid", len(got), utf8.ValidString(got), MaxSubject)
			}
		})
	}
}
