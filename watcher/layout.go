package watcher

import (
	"github.com/plugwatch/plugwatch/internal/names"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// level is where a folder sits in the plugins layout (docs/root-layout.md).
type level uint8

const (
	levelNone          level = iota // not part of the layout (an extra folder or an ancestor)
	levelRoot                       // the root
	levelActive                     // active/
	levelNative                     // native/
	levelNativeBundle               // native/<id>/
	levelBundles                    // bundles/
	levelBundleID                   // bundles/<id>/
	levelBundleVersion              // bundles/<id>/<version>/
)

// branches reports whether folders inside a folder at this level are watched too, so
// that an entry appearing or going there changes the watch set.
func (l level) branches() bool {
	switch l {
	case levelRoot, levelNative, levelBundles, levelBundleID:
		return true
	}
	return false
}

// top reports whether the folder is the root or one of the root's own watched folders:
// one of those appearing or going asks for a full rescan.
func (l level) top() bool {
	switch l {
	case levelRoot, levelActive, levelNative, levelBundles:
		return true
	}
	return false
}

// spec says why a folder is watched. A folder can be watched for several reasons at
// once (an extra folder inside the root, an ancestor shared by two missing folders).
type spec struct {
	level level
	extra bool            // named by SetExtra: every entry that is not ignored matters
	want  map[string]bool // the nearest existing ancestor of a missing root or extra folder: the names of its children on the way there
}

// signals reports whether a folder watched for this spec sends signals of its own (an
// ancestor watched only to see a missing folder appear does not).
func (s *spec) signals() bool { return s.level != levelNone || s.extra }

// matters reports whether a change to the entry called name inside a folder watched
// for s is something the reconciler reads. In the root only active/, native/ and
// bundles/ matter (cache/ and wasm/ do not); in active/ only *.json records.
func (s *spec) matters(name string) bool {
	if names.Ignored(name) {
		return false
	}
	if s.extra {
		return true
	}
	switch s.level {
	case levelNone:
		return false
	case levelRoot:
		return name == "active" || name == "native" || name == "bundles"
	case levelActive:
		return strings.HasSuffix(name, ".json")
	}
	return true
}

// plan maps each folder to watch to why it is watched.
type plan map[string]*spec

func (p plan) get(path string) *spec {
	s := p[path]
	if s == nil {
		s = &spec{}
		p[path] = s
	}
	return s
}

// makePlan reads the disk and returns the folders to watch for the root and the extra
// folders (all absolute and clean). A missing root or extra folder is stood in for by
// its nearest existing ancestor. Folders that cannot be read contribute no children.
func makePlan(root string, extras []string) plan {
	p := plan{}
	if isDir(root) {
		p.get(root).level = levelRoot
		if a := filepath.Join(root, "active"); isDir(a) {
			p.get(a).level = levelActive
		}
		if n := filepath.Join(root, "native"); isDir(n) {
			p.get(n).level = levelNative
			for _, b := range subdirs(n) {
				p.get(b).level = levelNativeBundle
			}
		}
		if b := filepath.Join(root, "bundles"); isDir(b) {
			p.get(b).level = levelBundles
			for _, id := range subdirs(b) {
				p.get(id).level = levelBundleID
				for _, v := range subdirs(id) {
					p.get(v).level = levelBundleVersion
				}
			}
		}
	} else {
		p.ancestor(root)
	}
	for _, e := range extras {
		if isDir(e) {
			p.get(e).extra = true
		} else {
			p.ancestor(e)
		}
	}
	return p
}

// ancestor records the nearest existing ancestor of the missing folder target, wanting
// the child on the way to target.
func (p plan) ancestor(target string) {
	child := target
	for dir := filepath.Dir(target); ; dir = filepath.Dir(dir) {
		if isDir(dir) {
			s := p.get(dir)
			if s.want == nil {
				s.want = map[string]bool{}
			}
			s.want[filepath.Base(child)] = true
			return
		}
		if dir == filepath.Dir(dir) {
			return
		}
		child = dir
	}
}

// classify says what an event means: whether it matters to the reconciler, whether the
// watch set must be computed again, and whether it asks for a full rescan (the root or
// one of its own folders appeared or went).
func (p plan) classify(ev fsnotify.Event) (matters, resync, full bool) {
	name := filepath.Clean(ev.Name)
	structural := ev.Op.Has(fsnotify.Create) || ev.Op.Has(fsnotify.Remove) || ev.Op.Has(fsnotify.Rename)
	if s := p[name]; s != nil {
		// An event about a watched folder itself (deleted, moved, its mode changed).
		matters = s.signals()
		resync = structural
		full = structural && s.level.top()
	}
	if s := p[filepath.Dir(name)]; s != nil {
		base := filepath.Base(name)
		if s.matters(base) {
			matters = true
			resync = resync || structural && s.level.branches()
			full = full || structural && s.level == levelRoot
		}
		resync = resync || structural && s.want[base]
	}
	return matters, resync, full
}

// isDir reports whether path is a directory or a symlink to one.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// subdirs lists the folders (and symlinks to folders) directly in dir whose names are
// not ignored.
func subdirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if names.Ignored(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if e.IsDir() || e.Type()&os.ModeSymlink != 0 && isDir(path) {
			out = append(out, path)
		}
	}
	return out
}
