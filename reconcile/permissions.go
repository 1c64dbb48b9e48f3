package reconcile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/plugwatch/plugwatch/state"
)

// checkPermissions refuses a library that other users can write (docs/files.md): the
// resolved library, every folder from it up to and including the root (or the
// --trust folder holding it), and its manifest or record. Whoever can write any of
// them could make plugwatch run their code. World-writable is refused for folders
// with or without the sticky bit: others could still add a library to them.
func (r *diskReader) checkPermissions(c *claim, lib fs.FileInfo) {
	fail := func(path, what string) {
		p := problem(path, state.UnsafePermissions, state.Error, fmt.Sprintf(
			"%s is writable by every user, so anyone could make plugwatch run their code; not loaded: run chmod o-w %s", what, path))
		c.Fail = &p
	}
	if c.Manifest != "" {
		if fi, err := r.stat(c.Manifest); err == nil && worldWritable(fi) {
			fail(c.Manifest, "the manifest")
			return
		}
	}
	if worldWritable(lib) {
		fail(c.Resolved, "the library")
		return
	}
	top := r.l.RealRoot
	if !within(c.Resolved, top) {
		for _, t := range r.l.Trust {
			if within(c.Resolved, t) {
				top = t
				break
			}
		}
	}
	for dir := filepath.Dir(c.Resolved); ; dir = filepath.Dir(dir) {
		if fi, err := r.stat(dir); err == nil && worldWritable(fi) {
			fail(dir, "the folder")
			return
		}
		if dir == top || dir == filepath.Dir(dir) {
			return
		}
	}
}

// stat is os.Stat through what the pass already knows.
func (r *diskReader) stat(path string) (fs.FileInfo, error) {
	if fi, ok := r.infos[path]; ok {
		return fi, nil
	}
	if fi, ok := r.stats[path]; ok {
		return fi, nil
	}
	fi, err := os.Stat(path)
	if err == nil {
		r.stats[path] = fi
	}
	return fi, err
}

func worldWritable(fi fs.FileInfo) bool { return fi.Mode().Perm()&0o002 != 0 }
