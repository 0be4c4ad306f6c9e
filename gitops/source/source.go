// Package source reads an Application's Git source: it asks the remote
// which commit a revision names (ls-remote, no fetch), and makes a commit's
// tree available on disk with a shallow fetch of one ref, reusing a commit
// fetched before, with what the commit records: its message, author and
// date.
package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Revision is a commit the remote serves, and the ref that reaches it.
type Revision struct {
	// Commit is the full SHA.
	Commit string
	// Ref is the ref to fetch it by, such as refs/heads/main; empty for a
	// commit named by its SHA that no ref's tip is.
	Ref string
}

// CommitInfo is what a commit records besides its tree.
type CommitInfo struct {
	// Message is the whole commit message.
	Message string
	// Author is the author's name, without the e-mail address.
	Author string
	// Date is the author date.
	Date time.Time
}

// MaxSubject bounds Subject, in bytes.
const MaxSubject = 200

// Subject is the first line of the message, as a list of commits shows it:
// cut on a character boundary to at most MaxSubject bytes, "…" included,
// when longer. A status must not grow with a message pasted in whole.
func (c CommitInfo) Subject() string {
	line, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	line = strings.TrimSpace(line)
	if len(line) <= MaxSubject {
		return line
	}
	const ellipsis = "…"
	cut := MaxSubject - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(line[cut]) {
		cut--
	}
	return line[:cut] + ellipsis
}

// Checkout is a commit's tree on disk, and what the commit records.
type Checkout struct {
	// Dir holds the tree; it must not be changed, and may be removed once
	// Release is called.
	Dir string
	// Commit is what the checked-out commit records.
	Commit CommitInfo
	// Release lets go of Dir; it never fails.
	Release func()
}

// Fetcher reads Git repositories into CacheDir, one directory per commit.
// Checkouts no one uses are removed beyond the Keep most recently used of
// each repository, so the cache does not grow with every commit ever
// synced. A Fetcher is shared: use it by pointer.
type Fetcher struct {
	CacheDir string
	// Keep is how many unused checkouts of a repository stay, for a quick
	// return to a recent commit; 2 when zero.
	Keep int
	// MaxSize bounds what one fetch and checkout may put on disk, in
	// bytes; DefaultMaxSize when zero. A tenant's repository must not fill
	// the manager's disk.
	MaxSize int64

	mu    sync.Mutex
	inUse map[string]int // checkout directory -> callers holding it
	// commits are what the commits of the checkouts on disk record, read
	// once per checkout, by checkout directory.
	commits map[string]CommitInfo
}

// defaultKeep is Keep when unset.
const defaultKeep = 2

// DefaultMaxSize is MaxSize when unset: 1 GiB.
const DefaultMaxSize = 1 << 30

// sizeCheckEvery is how often a fetch's size on disk is looked at.
const sizeCheckEvery = 200 * time.Millisecond

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Resolve asks the remote which commit revision names: empty or HEAD for
// the remote's default branch, a branch, a tag, a semver range of tags (the
// highest tag that satisfies it), or a commit SHA. Nothing is fetched.
func (f *Fetcher) Resolve(ctx context.Context, url, revision string, auth transport.AuthMethod) (Revision, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return Revision{}, fmt.Errorf("listing the refs of %s: %w", url, err)
	}
	byName := map[string]*plumbing.Reference{}
	for _, ref := range refs {
		byName[ref.Name().String()] = ref
	}
	// A tag's commit is its peeled ref, when it is an annotated tag.
	commitOf := func(name string) (string, bool) {
		if peeled, ok := byName[name+"^{}"]; ok {
			return peeled.Hash().String(), true
		}
		ref, ok := byName[name]
		if !ok {
			return "", false
		}
		if ref.Type() == plumbing.SymbolicReference {
			target, ok := byName[ref.Target().String()]
			if !ok {
				return "", false
			}
			return target.Hash().String(), true
		}
		return ref.Hash().String(), true
	}

	switch {
	case revision == "" || revision == "HEAD":
		head, ok := byName["HEAD"]
		if !ok {
			return Revision{}, fmt.Errorf("%s advertises no HEAD", url)
		}
		name := "HEAD"
		if head.Type() == plumbing.SymbolicReference {
			name = head.Target().String()
		}
		commit, ok := commitOf(name)
		if !ok {
			return Revision{}, fmt.Errorf("%s: HEAD points at %s, which does not exist", url, name)
		}
		return Revision{Commit: commit, Ref: name}, nil
	case fullSHA.MatchString(revision):
		for _, ref := range refs {
			if ref.Type() == plumbing.HashReference && ref.Hash().String() == revision && !strings.HasSuffix(ref.Name().String(), "^{}") &&
				ref.Name().String() != "HEAD" {
				return Revision{Commit: revision, Ref: ref.Name().String()}, nil
			}
		}
		return Revision{Commit: revision}, nil
	}
	for _, name := range []string{revision, "refs/heads/" + revision, "refs/tags/" + revision} {
		if commit, ok := commitOf(name); ok && strings.HasPrefix(name, "refs/") {
			return Revision{Commit: commit, Ref: name}, nil
		}
	}
	if constraint, err := semver.NewConstraint(revision); err == nil {
		return highestTag(refs, constraint, commitOf, url, revision)
	}
	return Revision{}, fmt.Errorf("%s has no branch or tag %q", url, revision)
}

// highestTag picks the highest tag that satisfies a semver range.
func highestTag(refs []*plumbing.Reference, constraint *semver.Constraints, commitOf func(string) (string, bool), url, revision string) (Revision, error) {
	type tag struct {
		name    string
		version *semver.Version
	}
	var tags []tag
	for _, ref := range refs {
		name := ref.Name()
		if !name.IsTag() || strings.HasSuffix(name.String(), "^{}") {
			continue
		}
		if v, err := semver.NewVersion(name.Short()); err == nil && constraint.Check(v) {
			tags = append(tags, tag{name.String(), v})
		}
	}
	if len(tags) == 0 {
		return Revision{}, fmt.Errorf("%s has no tag in the range %q", url, revision)
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].version.GreaterThan(tags[j].version) })
	commit, _ := commitOf(tags[0].name)
	return Revision{Commit: commit, Ref: tags[0].name}, nil
}

// Checkout returns a directory holding the tree of rev, fetching it when no
// earlier call did: a shallow fetch of rev's ref alone, or of every branch
// for a commit no ref's tip is. The directory is the caller's until it
// calls the checkout's Release. The commit's message, author and date come
// from the fetched objects, read once per checkout: no round trip.
func (f *Fetcher) Checkout(ctx context.Context, url string, rev Revision, auth transport.AuthMethod) (Checkout, error) {
	sum := sha256.Sum256([]byte(url))
	repoDir := filepath.Join(f.CacheDir, hex.EncodeToString(sum[:8]))
	dir := filepath.Join(repoDir, rev.Commit)
	f.hold(dir)
	release := func() { f.release(repoDir, dir) }
	if err := f.fetch(ctx, url, rev, auth, repoDir, dir); err != nil {
		release()
		return Checkout{}, err
	}
	// What the commit says is for people to read: a commit whose object
	// cannot be read still syncs, with no commit info.
	info, _ := f.commitOf(dir, rev.Commit)
	// The most recently used checkouts are the ones kept.
	now := time.Now()
	_ = os.Chtimes(dir, now, now)
	return Checkout{Dir: dir, Commit: info, Release: release}, nil
}

// commitOf is what the commit checked out in dir records: remembered, or
// read from the checkout's objects.
func (f *Fetcher) commitOf(dir, commit string) (CommitInfo, error) {
	f.mu.Lock()
	info, ok := f.commits[dir]
	f.mu.Unlock()
	if ok {
		return info, nil
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return CommitInfo{}, fmt.Errorf("opening the checkout of %s: %w", commit, err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return CommitInfo{}, fmt.Errorf("reading commit %s: %w", commit, err)
	}
	info = CommitInfo{Message: c.Message, Author: c.Author.Name, Date: c.Author.When}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.commits == nil {
		f.commits = map[string]CommitInfo{}
	}
	f.commits[dir] = info
	return info, nil
}

func (f *Fetcher) hold(dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inUse == nil {
		f.inUse = map[string]int{}
	}
	f.inUse[dir]++
}

// release lets go of dir, then removes the checkouts of its repository
// that no one holds, beyond the Keep most recently used.
func (f *Fetcher) release(repoDir, dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inUse[dir]--; f.inUse[dir] <= 0 {
		delete(f.inUse, dir)
	}
	entries, err := os.ReadDir(repoDir)
	if err != nil {
		return
	}
	type checkout struct {
		path string
		used time.Time
	}
	var idle []checkout
	for _, e := range entries {
		path := filepath.Join(repoDir, e.Name())
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || f.inUse[path] > 0 {
			continue // a fetch under way, or a checkout someone holds
		}
		if info, err := e.Info(); err == nil {
			idle = append(idle, checkout{path, info.ModTime()})
		}
	}
	sort.Slice(idle, func(a, b int) bool { return idle[a].used.After(idle[b].used) })
	keep := f.Keep
	if keep <= 0 {
		keep = defaultKeep
	}
	for _, c := range idle[min(keep, len(idle)):] {
		_ = os.RemoveAll(c.path)
		delete(f.commits, c.path)
	}
}

// fetch makes dir hold rev's tree, unless it does already.
func (f *Fetcher) fetch(ctx context.Context, url string, rev Revision, auth transport.AuthMethod, repoDir, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		return nil
	}
	if err := os.MkdirAll(repoDir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(repoDir, ".fetch-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	opts := &git.CloneOptions{URL: url, Auth: auth, Tags: git.NoTags, NoCheckout: true}
	if rev.Ref != "" {
		opts.ReferenceName, opts.SingleBranch, opts.Depth = plumbing.ReferenceName(rev.Ref), true, 1
	}
	limit := f.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go watchSize(ctx, tmp, limit, cancel)
	repo, err := git.PlainCloneContext(ctx, tmp, false, opts)
	if cause := context.Cause(ctx); errors.Is(cause, errTooLarge) {
		return fmt.Errorf("fetching %s of %s: %w", describe(rev), url, cause)
	}
	if err != nil {
		return fmt.Errorf("fetching %s of %s: %w", describe(rev), url, err)
	}
	worktree, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := worktree.Checkout(&git.CheckoutOptions{Hash: plumbing.NewHash(rev.Commit), Force: true}); err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			// The ref moved on between the listing and the fetch: the
			// next listing finds the new commit.
			return fmt.Errorf("%s of %s moved while it was fetched; trying again next time", describe(rev), url)
		}
		return fmt.Errorf("checking out %s: %w", rev.Commit, err)
	}
	// The checkout writes the tree after the fetch: its size counts too.
	if size := diskSize(tmp); size > limit {
		return fmt.Errorf("checking out %s of %s: %w (%d MiB with the tree)", describe(rev), url, errTooLarge, size>>20)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(filepath.Join(dir, ".git")); statErr != nil {
			return err
		}
	}
	return nil
}

// errTooLarge is a fetch or checkout past the Fetcher's MaxSize.
var errTooLarge = errors.New("the repository is larger than the manager allows (the manager's --git-max-size)")

// watchSize cancels ctx with errTooLarge once dir holds more than limit
// bytes: go-git cannot bound a clone itself.
func watchSize(ctx context.Context, dir string, limit int64, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(sizeCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if diskSize(dir) > limit {
				cancel(errTooLarge)
				return
			}
		}
	}
}

// diskSize adds up the sizes of the files under dir.
func diskSize(dir string) int64 {
	var size int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return nil
	})
	return size
}

func describe(rev Revision) string {
	if rev.Ref != "" {
		return plumbing.ReferenceName(rev.Ref).Short() + " (" + rev.Commit[:min(len(rev.Commit), 12)] + ")"
	}
	return "commit " + rev.Commit
}
