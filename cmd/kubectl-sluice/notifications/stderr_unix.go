//go:build linux || darwin || freebsd || netbsd || openbsd

package notifications

import (
	"bufio"
	"os"

	"golang.org/x/sys/unix"
)

// redactStderr passes everything the process writes to its standard error
// (file descriptor 2) through redact until the returned function is
// called. The engine's webhook service logs each request's URL there with
// a logger of its own (go-retryablehttp's, bound to os.Stderr when the
// program starts), and a URL may carry a value of the Secret: no writer
// the plugin sets reaches that logger, the descriptor does.
func redactStderr(redact func(string) string) (restore func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	saved, err := unix.Dup(2)
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, err
	}
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		_ = unix.Close(saved)
		_ = r.Close()
		_ = w.Close()
		return nil, err
	}
	stderr := os.NewFile(uintptr(saved), "stderr")
	done := make(chan struct{})
	go func() {
		defer close(done)
		lines := bufio.NewScanner(r)
		lines.Buffer(make([]byte, 64*1024), 1024*1024)
		for lines.Scan() {
			_, _ = stderr.WriteString(redact(lines.Text()) + "\n")
		}
	}()
	return func() {
		_ = unix.Dup2(saved, 2)
		_ = w.Close()
		<-done
		_ = r.Close()
		_ = stderr.Close()
	}, nil
}
