package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// secretOutside writes a file outside any checkout, as the manager's own
// service-account token or another tenant's checkout is, and returns its
// path.
func secretOutside(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte("the-managers-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func link(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// Each of these reads, or would read, something outside the tenant's own
// checkout; each fails the render naming the tenant's file, and nothing
// leaks into the error.
func TestRenderStaysInTheCheckout(t *testing.T) {
	secret := secretOutside(t)
	outsideDir := filepath.Dir(secret)
	if err := os.WriteFile(filepath.Join(outsideDir, "kustomization.yaml"), []byte("resources:\n- cm.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outsideDir, "cm.yaml"), []byte(configMap("elsewhere")), 0o600); err != nil {
		t.Fatal(err)
	}
	kustomization := func(body string) map[string]string {
		return map[string]string{"app/kustomization.yaml": body, "app/cm.yaml": configMap("mine")}
	}
	tests := []struct {
		name    string
		files   map[string]string
		links   map[string]string // name in the checkout -> target
		wantErr string
	}{
		{"a generator file by absolute path", kustomization("secretGenerator:\n- name: stolen\n  files:\n  - token=" + secret + "\n"),
			nil, "app/kustomization.yaml"},
		{"a generator file above the checkout", kustomization("configMapGenerator:\n- name: stolen\n  files:\n  - ../../../../../../../.." + secret + "\n"),
			nil, "app/kustomization.yaml"},
		{"a base outside the checkout", kustomization("resources:\n- cm.yaml\n- " + relativeTo(t, outsideDir) + "\n"),
			nil, "app/kustomization.yaml"},
		{"a resource that links out", kustomization("resources:\n- cm.yaml\n- stolen.yaml\n"),
			map[string]string{"app/stolen.yaml": filepath.Join(outsideDir, "cm.yaml")}, "app/kustomization.yaml"},
		{"a patch that links out", kustomization("resources:\n- cm.yaml\npatches:\n- path: patch.yaml\n"),
			map[string]string{"app/patch.yaml": secret}, "app/kustomization.yaml"},
		{"a plain directory's manifest that links out", map[string]string{"app/cm.yaml": configMap("mine")},
			map[string]string{"app/stolen.yaml": filepath.Join(outsideDir, "cm.yaml")}, "stolen.yaml: a link that leads out of the repository"},
		{"a path that links out", map[string]string{"README.md": "x"},
			map[string]string{"app": outsideDir}, `path "app": it leads out of the repository`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files)
			for name, target := range tt.links {
				link(t, target, filepath.Join(root, name))
			}
			objects, err := Render(root, "app", Options{})
			if err == nil {
				t.Fatalf("rendered %d objects, want an error", len(objects))
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one naming %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "the-managers-token") || strings.Contains(err.Error(), root) {
				t.Errorf("the error leaks a file's content or the checkout's location: %v", err)
			}
		})
	}
}

// relativeTo is dir as a path relative to a checkout made by tree: enough
// ../ to climb out of any temporary directory.
func relativeTo(t *testing.T, dir string) string {
	t.Helper()
	return strings.Repeat("../", 12) + strings.TrimPrefix(dir, "/")
}

func TestLinksInsideTheCheckoutAreFollowed(t *testing.T) {
	root := tree(t, map[string]string{
		"shared/cm.yaml":                 configMap("shared"),
		"app/cm.yaml":                    configMap("mine"),
		"kustomized/kustomization.yaml":  "resources:\n- cm.yaml\n- shared.yaml\n",
		"kustomized/cm.yaml":             configMap("kustomized"),
		"kustomized/files/cm.yaml":       configMap("linked"),
		"shared/more/another-cm.yaml":    configMap("not-reached"),
		"app/sub/in-a-subdirectory.yaml": configMap("sub"),
	})
	// Relative, as links in a repository are: an absolute one names a
	// place on its author's machine, and counts as leading out.
	link(t, "../shared/cm.yaml", filepath.Join(root, "app/shared.yaml"))
	// Kustomize's own root-only rule holds, as in `kustomize build`: a
	// kustomization's files stay below it, links resolved.
	link(t, "files/cm.yaml", filepath.Join(root, "kustomized/shared.yaml"))
	link(t, "../shared/more", filepath.Join(root, "app/more")) // a directory: not followed
	if got := strings.Join(names(t, root, "app", Options{Recurse: true}), " "); got != "ConfigMap/mine ConfigMap/shared ConfigMap/sub" {
		t.Errorf("plain directory: %s", got)
	}
	if got := strings.Join(names(t, root, "kustomized", Options{}), " "); got != "ConfigMap/kustomized ConfigMap/linked" {
		t.Errorf("kustomization: %s", got)
	}
}

func TestRemoteReferencesAreRefusedUnlessAllowed(t *testing.T) {
	remote := map[string]string{
		"a Git base":                 "resources:\n- https://github.com/example/deploy//base?ref=v1\n",
		"GitHub without a scheme":    "resources:\n- github.com/example/deploy/base\n",
		"an SCP-style address":       "resources:\n- git@git.example.com:example/deploy.git//base\n",
		"go-getter's git::":          "resources:\n- git::https://git.example.com/deploy.git\n",
		"a file over HTTP":           "resources:\n- http://manifests.example.com/all.yaml\n",
		"a remote patch":             "resources:\n- cm.yaml\npatches:\n- path: https://example.com/patch.yaml\n",
		"a remote component":         "components:\n- https://github.com/example/components//tls\n",
		"a generator file over HTTP": "resources:\n- cm.yaml\nconfigMapGenerator:\n- name: c\n  files:\n  - conf=https://example.com/c.conf\n",
		"an env file over HTTP":      "resources:\n- cm.yaml\nsecretGenerator:\n- name: s\n  envs:\n  - https://example.com/s.env\n",
		"a deprecated base":          "bases:\n- ssh://git@github.com/example/deploy.git\n",
	}
	for name, kustomization := range remote {
		t.Run(name, func(t *testing.T) {
			root := tree(t, map[string]string{"app/kustomization.yaml": kustomization, "app/cm.yaml": configMap("mine")})
			start := time.Now()
			_, err := Render(root, "app", Options{})
			if err == nil || !strings.Contains(err.Error(), "app/kustomization.yaml") || !strings.Contains(err.Error(), "--allow-remote-bases") {
				t.Fatalf("err = %v, want a refusal naming the kustomization and the flag", err)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("refusing took %s: something was fetched", elapsed)
			}
		})
	}
	t.Run("in a base the kustomization reaches", func(t *testing.T) {
		root := tree(t, map[string]string{
			"overlay/kustomization.yaml": "resources:\n- ../base\n",
			"base/kustomization.yaml":    "resources:\n- https://github.com/example/deploy//base\n",
		})
		_, err := Render(root, "overlay", Options{})
		if err == nil || !strings.Contains(err.Error(), "base/kustomization.yaml") {
			t.Fatalf("err = %v, want one naming the base's kustomization", err)
		}
	})
	t.Run("local paths that look a little like addresses are not remote", func(t *testing.T) {
		root := tree(t, map[string]string{
			"app/kustomization.yaml":   "resources:\n- team@v2/cm.yaml\n",
			"app/team@v2/cm.yaml":      configMap("versioned"),
			"other/kustomization.yaml": "resources:\n- cm.yaml\n",
		})
		if got := strings.Join(names(t, root, "app", Options{}), " "); got != "ConfigMap/versioned" {
			t.Errorf("got %s", got)
		}
	})
}

func TestIsRemote(t *testing.T) {
	for ref, want := range map[string]bool{
		"https://github.com/org/repo//dir?ref=v1":  true,
		"HTTP://example.com/x.yaml":                true,
		"ssh://git@example.com/org/repo.git":       true,
		"file:///etc/kubernetes":                   true,
		"git::https://example.com/repo.git":        true,
		"github.com/org/repo/dir":                  true,
		"git@github.com:org/repo.git":              true,
		"../base":                                  false,
		"deployment.yaml":                          false,
		"team@v2/cm.yaml":                          false,
		"dir/with:colon.yaml":                      false,
		"":                                         false,
		"apiVersion: v1\nkind: ConfigMap\n":        false,
		"- op: add\n  path: https://x.example/a\n": false,
	} {
		if got := isRemote(ref); got != want {
			t.Errorf("isRemote(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestGlobsAreBounded(t *testing.T) {
	root := tree(t, map[string]string{"app/a.yaml": configMap("a"), "app/b.yaml": configMap("b")})
	hostile := strings.Repeat("{a,b,c}", 24) // 3^24 patterns if expanded
	start := time.Now()
	_, err := Render(root, "app", Options{Include: hostile})
	if err == nil || !strings.Contains(err.Error(), "directory.include") || !strings.Contains(err.Error(), "more than 64 alternatives") {
		t.Fatalf("err = %v", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("refusing the pattern took %s", elapsed)
	}
	if _, err := Render(root, "app", Options{Exclude: strings.Repeat("x", maxGlobLength+1)}); err == nil ||
		!strings.Contains(err.Error(), "directory.exclude: the pattern is 1025 characters long") {
		t.Errorf("a long pattern: err = %v", err)
	}
	if got := strings.Join(names(t, root, "app", Options{Include: "{a,b,c,d}{.yaml,.yml,.json}"}), " "); got != "ConfigMap/a ConfigMap/b" {
		t.Errorf("a pattern within the bounds: %s", got)
	}
}
