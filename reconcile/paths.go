package reconcile

import (
	"os"
	"path/filepath"
)

// rootPaths is where a pass looks, with the root and --trust folders resolved.
type rootPaths struct {
	Root, Workdir string
	RealRoot      string
	Trust         []string // resolved
}

// systemPath reports whether path lies in /proc, /sys or /dev, where trusting a
// folder would never help.
func systemPath(path string) bool {
	for _, dir := range []string{"/proc", "/sys", "/dev"} {
		if within(path, dir) {
			return true
		}
	}
	return false
}

// danglingDir returns the folder a dangling symlink at path points into, resolved,
// when that folder exists (a build output deleted by the linker that will write it
// again); "" otherwise.
func danglingDir(path string) string {
	target, err := os.Readlink(path)
	if err != nil {
		return ""
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(path), target)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(target))
	if err != nil {
		return ""
	}
	return dir
}

// contains reports whether a resolved path lies inside the resolved root or a
// --trust folder.
func (l rootPaths) contains(real string) bool {
	if within(real, l.RealRoot) {
		return true
	}
	for _, t := range l.Trust {
		if within(real, t) {
			return true
		}
	}
	return false
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}
