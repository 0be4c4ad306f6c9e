package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"
)

// Patch is one of spec.source.kustomize.patches: a strategic merge patch or
// a JSON 6902 patch, inline (Patch) or in a file of the checkout (Path),
// on the objects Target selects.
type Patch struct {
	// Path is relative to the rendered directory, or with a leading "/"
	// to the checkout's root.
	Path, Patch string
	Target      *PatchTarget
	// Options are kustomize's: allowNameChange, allowKindChange.
	Options map[string]bool
}

// PatchTarget selects objects as a kustomize patch target does: Name and
// Namespace are regular expressions, the selectors label selectors.
type PatchTarget struct {
	Group, Version, Kind, Name, Namespace string
	LabelSelector, AnnotationSelector     string
}

// maxPatchFile bounds a patch file read from the checkout.
const maxPatchFile = 1 << 20

// kustomizePatch is p as a kustomization takes it, with a file's content
// read (confined to checkout) and written inline.
func kustomizePatch(checkout fs.FS, dir string, p Patch) (kustypes.Patch, error) {
	out := kustypes.Patch{Patch: p.Patch}
	for name, on := range p.Options {
		if out.Options == nil {
			out.Options = &kustypes.PatchArgs{}
		}
		switch name {
		case "allowNameChange":
			out.Options.AllowNameChange = on
		case "allowKindChange":
			out.Options.AllowKindChange = on
		default:
			return out, fmt.Errorf("options: %q is not a patch option (allowNameChange, allowKindChange)", name)
		}
	}
	if t := p.Target; t != nil {
		out.Target = &kustypes.Selector{
			ResId: resIDOf(t), LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector,
		}
	}
	switch {
	case p.Path != "" && p.Patch != "":
		return out, errors.New("a patch has either path or patch, not both")
	case p.Path == "" && strings.TrimSpace(p.Patch) == "":
		return out, errors.New("a patch needs path or patch")
	case p.Path != "":
		content, err := readPatch(checkout, dir, p.Path)
		if err != nil {
			return out, fmt.Errorf("path %q: %w", p.Path, err)
		}
		out.Patch = content
	}
	return out, nil
}

// readPatch reads a patch file: relative to dir, or to the checkout's root
// with a leading "/". A path above the checkout, or a link leading out of
// it, is refused.
func readPatch(checkout fs.FS, dir, name string) (string, error) {
	var file string
	if strings.HasPrefix(name, "/") {
		file = path.Clean(strings.TrimLeft(name, "/"))
	} else {
		file = path.Join(dir, name)
	}
	if !fs.ValidPath(file) || file == "." {
		return "", errors.New("it leads out of the repository")
	}
	info, err := fs.Stat(checkout, file)
	switch {
	case isEscape(err):
		return "", errors.New("it leads out of the repository")
	case errors.Is(err, fs.ErrNotExist):
		return "", errors.New("no such file in the revision")
	case err != nil:
		return "", err
	case info.IsDir():
		return "", errors.New("it is a directory")
	case info.Size() > maxPatchFile:
		return "", fmt.Errorf("the file is %d bytes; at most %d", info.Size(), maxPatchFile)
	}
	data, err := fs.ReadFile(checkout, file)
	if isEscape(err) {
		return "", errors.New("it leads out of the repository")
	}
	if err != nil {
		return "", err
	}
	return string(data), nil
}

func resIDOf(t *PatchTarget) resid.ResId {
	return resid.ResId{Gvk: resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind}, Name: t.Name, Namespace: t.Namespace}
}
