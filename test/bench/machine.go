package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine is where a benchmark ran, so a reader can judge its numbers.
type Machine struct {
	CPU      string
	Cores    int
	MemoryGB float64
	// Load is /proc/loadavg's 1-minute load when the run started: what else
	// was running.
	Load      float64
	GoVersion string
	Date      time.Time
	// Commit is the checkout's commit, with "-dirty" when it has changes.
	Commit string
	// Flags are the flags the run was given that shape its figures, such
	// as "--apps=10": a reader sees a run smaller than the defaults.
	Flags string
}

// ThisMachine describes the machine this process runs on and the checkout
// it runs from.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Date: time.Now().UTC()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.CPU = cpuModel(f)
		_ = f.Close()
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemoryGB = memTotalGB(string(data))
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if fields := strings.Fields(string(data)); len(fields) > 0 {
			m.Load, _ = strconv.ParseFloat(fields[0], 64)
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if status, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(status) > 0 {
			m.Commit += "-dirty"
		}
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo io.Reader) string {
	scanner := bufio.NewScanner(cpuinfo)
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

// memTotalGB reads MemTotal (kB) out of /proc/meminfo's text, in GiB.
func memTotalGB(meminfo string) float64 {
	for line := range strings.SplitSeq(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err == nil {
				return kb / (1 << 20)
			}
		}
	}
	return 0
}

// Markdown is one line naming the machine, the date, the commit and the
// flags, if any.
func (m Machine) Markdown() string {
	line := fmt.Sprintf("Measured %s on %s (%d cores, %.0f GiB, load %.1f at the start), %s, commit `%s`",
		m.Date.Format("2006-01-02"), m.CPU, m.Cores, m.MemoryGB, m.Load, m.GoVersion, m.Commit)
	if m.Flags == "" {
		return line + ", default flags."
	}
	return line + ", flags `" + m.Flags + "`."
}
