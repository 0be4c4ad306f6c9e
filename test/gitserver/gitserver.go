// Package gitserver serves Git repositories over HTTP on loopback, through
// the git binary's own http-backend, for tests and the demo: a real Git
// server, with commits made by the git command line.
package gitserver

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/cgi" //nolint:gosec // Go 1.26: the httpoxy flaw (Go < 1.6.3) does not apply; loopback tests only
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Server serves every bare repository under its root at URL/<name>.git.
type Server struct {
	// URL is http://127.0.0.1:<port>.
	URL    string
	root   string
	server *http.Server
}

// Options configure a Server.
type Options struct {
	// Username and Password, when set, are required of every request.
	Username, Password string
}

// Start serves repositories kept under root until Stop.
func Start(root string, opts Options) (*Server, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("finding git's programs: %w", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	handler := http.Handler(backend)
	if opts.Username != "" || opts.Password != "" {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, ok := r.BasicAuth()
			if !ok || user != opts.Username || pass != opts.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			backend.ServeHTTP(w, r)
		})
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + l.Addr().String(), root: root,
		server: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.server.Serve(l) }()
	return s, nil
}

// Stop stops serving.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.server.Shutdown(ctx)
}

// Repo is a served repository and a working copy to commit from.
type Repo struct {
	// URL is the repository's clone URL.
	URL  string
	work string
}

// Create makes an empty repository named name, with main as its default
// branch, that anyone may clone and push to.
func (s *Server) Create(name string) (*Repo, error) {
	bare := filepath.Join(s.root, name+".git")
	work := filepath.Join(s.root, ".work", name)
	for _, args := range [][]string{
		{"init", "--bare", "--initial-branch=main", bare},
		// Pushes over HTTP too, as the demo's hint asks people to do:
		// http-backend refuses anonymous pushes unless this is set.
		{"-C", bare, "config", "http.receivepack", "true"},
		{"init", "--initial-branch=main", work},
		{"-C", work, "remote", "add", "origin", bare},
	} {
		if err := git(args...); err != nil {
			return nil, err
		}
	}
	return &Repo{URL: s.URL + "/" + name + ".git", work: work}, nil
}

// Write writes files (path -> content) into the working copy.
func (r *Repo) Write(files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(r.work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// WriteTree copies every file under dir into the working copy's directory
// into ("" for the top), at the same path relative to dir, with each key of
// replace in its text replaced by the value: a fixture repository's
// placeholders filled in.
func (r *Repo) WriteTree(dir, into string, replace map[string]string) error {
	files := map[string]string{}
	tree := os.DirFS(dir)
	err := fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return err
		}
		text := string(data)
		for old, replacement := range replace {
			text = strings.ReplaceAll(text, old, replacement)
		}
		files[filepath.Join(into, filepath.FromSlash(p))] = text
		return nil
	})
	if err != nil {
		return err
	}
	return r.Write(files)
}

// Remove deletes paths from the working copy.
func (r *Repo) Remove(paths ...string) error {
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(r.work, p)); err != nil {
			return err
		}
	}
	return nil
}

// Commit commits everything in the working copy to branch (created from
// the current commit when new), pushes it, and returns the commit's SHA.
func (r *Repo) Commit(branch, message string) (string, error) {
	return r.CommitBy(branch, message, Author{})
}

// Author is who a commit says wrote it, and when. An empty field is the
// server's default: Sluice Test, test@sluice.invalid, now.
type Author struct {
	Name, Email string
	Date        time.Time
}

// CommitBy is Commit with the commit's author and author date set.
func (r *Repo) CommitBy(branch, message string, author Author) (string, error) {
	commit := []string{"-C", r.work, "commit", "--allow-empty", "-m", message}
	if author.Name != "" || author.Email != "" {
		name, email := cmp.Or(author.Name, "Sluice Test"), cmp.Or(author.Email, "test@sluice.invalid")
		commit = append(commit, "--author="+name+" <"+email+">")
	}
	if !author.Date.IsZero() {
		commit = append(commit, "--date="+author.Date.Format(time.RFC3339))
	}
	for _, args := range [][]string{
		{"-C", r.work, "checkout", "-B", branch},
		{"-C", r.work, "add", "-A"},
		commit,
		{"-C", r.work, "push", "-f", "origin", branch},
	} {
		if err := git(args...); err != nil {
			return "", err
		}
	}
	out, err := exec.Command("git", "-C", r.work, "rev-parse", "HEAD").Output()
	return strings.TrimSpace(string(out)), err
}

// Tag makes an annotated tag of the current commit and pushes it.
func (r *Repo) Tag(name string) error {
	if err := git("-C", r.work, "tag", "-a", name, "-m", name); err != nil {
		return err
	}
	return git("-C", r.work, "push", "origin", name)
}

func git(args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Sluice Test", "GIT_AUTHOR_EMAIL=test@sluice.invalid",
		"GIT_COMMITTER_NAME=Sluice Test", "GIT_COMMITTER_EMAIL=test@sluice.invalid", "GIT_CONFIG_NOSYSTEM=1",
		"HOME="+os.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}
