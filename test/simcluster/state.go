package simcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrRunning is returned by Start when another simulated cluster holds the
// same state directory.
var ErrRunning = errors.New("a simulated cluster is already running in this state directory")

// stateLock is an exclusive flock on <StateDir>/lock. The kernel drops it when
// its holder dies, so a crashed run never blocks the next one.
type stateLock struct {
	file *os.File
}

func lockStateDir(dir string) (*stateLock, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrRunning, dir)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// The holder's pid, for `simcluster status` and `down`.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &stateLock{file: f}, nil
}

func (l *stateLock) release() error {
	_ = l.file.Truncate(0)
	return l.file.Close() // closing the descriptor drops the flock
}

// Holder returns the pid of the process running the cluster in dir, or 0
// when none is.
func Holder(dir string) int {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0 // nobody holds it
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// reapStrays kills processes left over from a run in dir that ended without
// stopping them (a supervisor killed with SIGKILL cannot clean up, and etcd
// and kube-apiserver do not die with it). Every component is started with a
// path inside dir on its command line, which is how they are recognised.
func reapStrays(dir string) {
	killComponents(dir, isComponent)
}

// killComponents kills, with SIGKILL, the processes whose command line
// names a path under dir and whose binary's name is one kill takes.
func killComponents(dir string, kill func(name string) bool) {
	needle := []byte(filepath.Clean(dir) + string(filepath.Separator))
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid == os.Getppid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, needle) {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || !kill(filepath.Base(exe)) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func isComponent(name string) bool {
	switch name {
	case "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok":
		return true
	}
	return false
}

// ReapAbandoned stops the processes of simulated clusters whose state
// directories match parent/prefix* and that no living process holds, then
// removes those directories. Test suites call it first, so a run killed
// outright (kill -9, a test binary's timeout) leaves nothing behind for
// longer than the next run.
func ReapAbandoned(parent, prefix string) {
	dirs, err := filepath.Glob(filepath.Join(parent, prefix+"*"))
	if err != nil {
		return
	}
	for _, dir := range dirs {
		// A directory just made may not be locked yet by the run that made it.
		if info, err := os.Stat(dir); err != nil || !info.IsDir() || time.Since(info.ModTime()) < time.Minute || Holder(dir) != 0 {
			continue
		}
		reapStrays(dir)
		_ = os.RemoveAll(dir)
	}
}
