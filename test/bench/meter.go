package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/test/audit"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// Usage is what a process has used so far.
type Usage struct {
	// CPU is user plus system time.
	CPU time.Duration
	// PeakRSS is the resident set's high-water mark in bytes (VmHWM),
	// since the process started or since ResetPeak.
	PeakRSS int64
}

// ReadUsage reads a process's CPU time and peak RSS from /proc.
func ReadUsage(pid int) (Usage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields after its closing parenthesis. utime and stime are
	// fields 14 and 15, so the 12th and 13th after it.
	after := stat[bytes.LastIndexByte(stat, ')')+1:]
	fields := strings.Fields(string(after))
	if len(fields) < 13 {
		return Usage{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return Usage{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, err
	}
	u := Usage{CPU: time.Duration(ticks) * time.Second / clockTicks}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return Usage{}, fmt.Errorf("/proc/%d/status VmHWM: %w", pid, err)
			}
			u.PeakRSS = kb * 1024
		}
	}
	return u, nil
}

// ResetPeak starts a new high-water mark of a process's RSS at its current
// RSS (Linux's clear_refs value 5), so PeakRSS measures one phase.
func ResetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// Phase is one measured stretch of a controller's work.
type Phase struct {
	Name string
	Wall time.Duration
	// CPU and PeakRSS are the process's, for this phase alone.
	CPU     time.Duration
	PeakRSS int64
	// Requests are the user's API requests the audit log recorded during
	// the phase.
	Requests audit.Tally
}

// Meter measures phases of one process that talks to the API server as
// one user of its own.
type Meter struct {
	PID      int
	User     string
	AuditLog string
}

// Measure runs work as a phase: it resets the process's peak RSS, notes
// where the audit log ends, runs work, and reads what the process used and
// which requests its user made meanwhile.
func (m Meter) Measure(name string, work func() error) (Phase, error) {
	if err := ResetPeak(m.PID); err != nil {
		return Phase{}, err
	}
	before, err := ReadUsage(m.PID)
	if err != nil {
		return Phase{}, err
	}
	offset, err := LogSize(m.AuditLog)
	if err != nil {
		return Phase{}, err
	}
	start := time.Now()
	if err := work(); err != nil {
		return Phase{}, fmt.Errorf("%s: %w", name, err)
	}
	wall := time.Since(start)
	after, err := ReadUsage(m.PID)
	if err != nil {
		return Phase{}, err
	}
	requests, err := audit.ReadFrom(m.AuditLog, offset)
	if err != nil {
		return Phase{}, err
	}
	return Phase{
		Name:     name,
		Wall:     wall,
		CPU:      after.CPU - before.CPU,
		PeakRSS:  after.PeakRSS,
		Requests: audit.Count(requests, audit.ByUser(m.User)),
	}, nil
}

// LogSize is where the audit log at path ends now, at the end of its last
// whole line: the offset from which audit.ReadFrom reads what comes after.
// The API server may be midway through writing a line; that line is left
// to what comes after, as ReadFrom leaves it out of what came before. A
// log not written yet is empty.
func LogSize(path string) (int64, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	// One audit event is a line of a few kilobytes; the last newline is
	// within the tail, or the log holds a single unfinished line.
	const tail = 1 << 20
	start := max(info.Size()-tail, 0)
	buf := make([]byte, info.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	return start + int64(bytes.LastIndexByte(buf, '\n')+1), nil
}
