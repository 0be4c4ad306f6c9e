package gitops

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/test/audit"
	"github.com/sluicehq/sluice/test/bench"
)

// kubectlUser is the user kubectl applies as, so the audit log tells its
// requests apart.
const kubectlUser = "kubectl"

// kubectl runs the real kubectl as its own user.
type kubectl struct {
	binary, kubeconfig, auditLog string
}

func (r *runner) kubectl() (*kubectl, error) {
	binary := filepath.Join(r.env.BinDir, "kubectl")
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("kubectl not found in %s; run hack/tools.sh kubectl", r.env.BinDir)
	}
	kubeconfig, _, err := r.env.Cluster.AddUser(kubectlUser, "system:masters")
	if err != nil {
		return nil, err
	}
	return &kubectl{binary: binary, kubeconfig: kubeconfig, auditLog: r.env.Cluster.AuditLogPath}, nil
}

// applyAll runs `kubectl apply --server-side` on each directory into its
// namespace, one run after the other as a deploy script would, and
// measures the runs as one phase of the given name: wall and CPU summed, the peak RSS of the
// largest run, and every request. kubectl's discovery cache starts empty
// (a fresh --cache-dir) and is kept between the runs.
func (k *kubectl) applyAll(ctx context.Context, name, cacheDir string, dirs, namespaces []string) (bench.Phase, error) {
	offset, err := bench.LogSize(k.auditLog)
	if err != nil {
		return bench.Phase{}, err
	}
	phase := bench.Phase{Name: name}
	for i, dir := range dirs {
		cmd := exec.CommandContext(ctx, k.binary, "apply", "--server-side", "--recursive", "-f", dir,
			"--namespace", namespaces[i], "--kubeconfig", k.kubeconfig, "--cache-dir", cacheDir, "--output", "name")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = nil, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return bench.Phase{}, fmt.Errorf("kubectl apply -f %s: %w: %s", dir, err, stderr.String())
		}
		phase.Wall += time.Since(start)
		usage := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		phase.CPU += time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
		phase.PeakRSS = max(phase.PeakRSS, usage.Maxrss*1024) // Linux reports kilobytes
	}
	requests, err := audit.ReadFrom(k.auditLog, offset)
	if err != nil {
		return bench.Phase{}, err
	}
	phase.Requests = audit.Count(requests, audit.ByUser(kubectlUser))
	return phase, nil
}
