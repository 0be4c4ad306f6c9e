package simcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// stopGrace is how long a component gets to exit after SIGTERM before it is
// killed.
const stopGrace = 10 * time.Second

// Process is a child process that dies with its parent: a control-plane
// component envtest does not manage (kube-controller-manager, kube-scheduler,
// kwok), or the Sluice manager the demo runs.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

// StartLogged starts a binary with its output in logDir/<name>.log.
func StartLogged(name, binary, logDir string, args ...string) (*Process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p, err := StartProcess(name, logFile, binary, args...)
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	p.logPath = logPath
	go func() {
		<-p.exited
		_ = logFile.Close()
	}()
	return p, nil
}

// StartProcess starts a binary with its output to out.
func StartProcess(name string, out io.Writer, binary string, args ...string) (*Process, error) {
	cmd := exec.Command(binary, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group, so a Ctrl-C in the terminal reaches only
		// the supervisor, which then stops every component in order.
		Setpgid: true,
		// If the supervisor dies without stopping it (kill -9, a crashed
		// test binary), the kernel kills the component too.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Running reports whether the process is still alive.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// PID is the process's id, for reading what it uses from /proc.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitError describes how the process ended, pointing at its log if it has one.
func (p *Process) ExitError() error {
	if p.logPath == "" {
		return fmt.Errorf("%s exited (%w)", p.name, p.waitErr)
	}
	return fmt.Errorf("%s exited (%w); see %s", p.name, p.waitErr, p.logPath)
}

// Stop sends SIGTERM, waits up to stopGrace, then kills the process group.
func (p *Process) Stop() error {
	if !p.Running() {
		return nil
	}
	pgid := p.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopGrace):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	<-p.exited
	return nil
}

// WaitReady polls a process's readiness endpoint (plain HTTP on loopback)
// until it answers 200, for up to a minute; it gives up at once if the
// process exits.
func WaitReady(ctx context.Context, p *Process, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if !p.Running() {
			return false, p.ExitError()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil // not listening yet
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}
