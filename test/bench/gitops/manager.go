package gitops

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/test/bench"
	"github.com/sluicehq/sluice/test/simcluster"
)

// manager is a Sluice manager process under measurement.
type manager struct {
	process *simcluster.Process
	meter   bench.Meter
	// hooks is the push receiver's URL, http://<address>/hooks/git, and
	// secret the operator's shared secret it checks events against.
	hooks  string
	secret string
}

// startManager runs the manager as user name (a member of system:masters,
// so RBAC costs nothing here), limited to Applications and Rollouts
// labelled with instanceID when one is given, with the push receiver on.
// Leader election is off: its Lease renewals, a write every two seconds,
// are no part of syncing and would hide the steady phase's writes.
func (r *runner) startManager(ctx context.Context, name, instanceID string) (*manager, error) {
	kubeconfig, _, err := r.env.Cluster.AddUser(name, "system:masters")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(r.env.WorkDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	secret := rand.Text()
	secretFile := filepath.Join(dir, "webhook-secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		return nil, err
	}
	probe, err := freeLoopbackAddress()
	if err != nil {
		return nil, err
	}
	hooks, err := freeLoopbackAddress()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--health-probe-bind-address=" + probe,
		"--metrics-bind-address=0",
		"--leader-elect=false",
		"--git-cache-dir=" + filepath.Join(dir, "git-cache"),
		"--webhook-bind-address=" + hooks,
		"--webhook-secret-file=" + secretFile,
	}
	if instanceID != "" {
		args = append(args, "--instance-id="+instanceID)
	}
	process, err := simcluster.StartLogged(name, r.env.Manager, dir, args...)
	if err != nil {
		return nil, err
	}
	if err := simcluster.WaitReady(ctx, process, "http://"+probe+"/readyz"); err != nil {
		_ = process.Stop()
		return nil, err
	}
	r.logf("   manager %s running (log %s)", name, filepath.Join(dir, name+".log"))
	return &manager{
		process: process,
		meter:   bench.Meter{PID: process.PID(), User: name, AuditLog: r.env.Cluster.AuditLogPath},
		hooks:   "http://" + hooks + "/hooks/git",
		secret:  secret,
	}, nil
}

func (m *manager) stop() error { return m.process.Stop() }

// notifyPush posts GitHub's push event for the branch main of repoURL to
// the receiver's shared path, signed with the operator's secret, as GitHub
// does after a push: every Application of that repository looks at Git.
func (m *manager) notifyPush(ctx context.Context, repoURL, delivery string) error {
	payload := fmt.Sprintf(`{"ref":"refs/heads/main","repository":{"clone_url":%q}}`, repoURL)
	mac := hmac.New(sha256.New, []byte(m.secret))
	mac.Write([]byte(payload))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.hooks, strings.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the push receiver answered %s", resp.Status)
	}
	return nil
}

func freeLoopbackAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
