package source

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// AuthFromSecret reads Git credentials from a Secret's data, with the keys
// Flux's GitRepository Secrets use: username and password (a token goes in
// password) or bearerToken for HTTPS; identity (a private key), optionally
// password (its passphrase) and known_hosts for SSH. An SSH URL needs
// known_hosts: a host key is never accepted unseen.
func AuthFromSecret(url string, data map[string][]byte) (transport.AuthMethod, error) {
	if isSSH(url) {
		identity := data["identity"]
		if len(identity) == 0 {
			return nil, errors.New("an SSH repository needs the key identity in its Secret")
		}
		keys, err := ssh.NewPublicKeys(userOf(url), identity, string(data["password"]))
		if err != nil {
			return nil, fmt.Errorf("reading the key identity: %w", err)
		}
		knownHosts := data["known_hosts"]
		if len(knownHosts) == 0 {
			return nil, errors.New("an SSH repository needs known_hosts in its Secret")
		}
		file, err := os.CreateTemp("", "sluice-known-hosts-")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.Remove(file.Name()) }()
		if _, err := file.Write(knownHosts); err != nil {
			_ = file.Close()
			return nil, err
		}
		if err := file.Close(); err != nil {
			return nil, err
		}
		callback, err := ssh.NewKnownHostsCallback(file.Name())
		if err != nil {
			return nil, fmt.Errorf("reading known_hosts: %w", err)
		}
		keys.HostKeyCallback = callback
		return keys, nil
	}
	if token := data["bearerToken"]; len(token) > 0 {
		return &http.TokenAuth{Token: string(token)}, nil
	}
	if len(data["username"]) > 0 || len(data["password"]) > 0 {
		return &http.BasicAuth{Username: string(data["username"]), Password: string(data["password"])}, nil
	}
	return nil, nil
}

func isSSH(url string) bool {
	return strings.HasPrefix(url, "ssh://") || (!strings.Contains(url, "://") && strings.Contains(url, "@"))
}

// userOf is the user of an SSH URL, git by default.
func userOf(url string) string {
	rest := strings.TrimPrefix(url, "ssh://")
	if at := strings.Index(rest, "@"); at > 0 {
		return rest[:at]
	}
	return "git"
}
