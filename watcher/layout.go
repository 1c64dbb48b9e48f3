package watcher

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"

	"github.com/plugwatch/plugwatch/layout"
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

// child returns the level of the folder called name inside a folder at level l, or
// levelNone when such a folder is not part of the layout.
func (l level) child(name string) level {
	if layout.Ignored(name) {
		return levelNone
	}
	switch l {
	case levelRoot:
		switch name {
		case "active":
			return levelActive
		case "native":
			return levelNative
		case "bundles":
			return levelBundles
		}
	case levelNative:
		return levelNativeBundle
	case levelBundles:
		return levelBundleID
	case levelBundleID:
		return levelBundleVersion
	}
	return levelNone
}

// spec says why a folder is watched. A folder can be watched for several reasons at
// once (an extra folder inside the root, an ancestor shared by two missing folders).
type spec struct {
	level level
	extra bool           // named by SetExtra: every entry that is not ignored matters
	want  map[string]int // the nearest existing ancestor of missing folders: the children on the way there, and how many missing folders each leads to
	kids  map[string]bool
	// kids are the names of the layout folders directly inside (levels that branch),
	// so that they go with it.

	id   fileID     // the folder's identity when it was last watched
	poll *pollState // while polling: what the last pass saw
}

// signals reports whether a folder watched for this spec sends signals of its own (an
// ancestor watched only to see a missing folder appear does not).
func (s *spec) signals() bool { return s.level != levelNone || s.extra }

// needed reports whether the folder still has a reason to be watched.
func (s *spec) needed() bool { return s.signals() || len(s.want) > 0 }

// matters reports whether a change to the entry called name inside a folder watched
// for s is something the reconciler reads. In the root only active/, native/ and
// bundles/ matter (cache/ and wasm/ do not); in active/ only *.json records.
func (s *spec) matters(name string) bool {
	if layout.Ignored(name) {
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

// classify says what an event means: whether it matters to the reconciler, which path
// (if any) must be looked at again to keep the watch set right (a folder that may
// have appeared or gone), and whether it asks for a full rescan (the root or one of
// its own folders appeared or went).
func (p plan) classify(ev fsnotify.Event) (matters bool, dirty string, full bool) {
	name := filepath.Clean(ev.Name)
	structural := ev.Op.Has(fsnotify.Create) || ev.Op.Has(fsnotify.Remove) || ev.Op.Has(fsnotify.Rename)
	if s := p[name]; s != nil {
		// An event about a watched folder itself (deleted, moved, its mode changed).
		matters = s.signals()
		if structural {
			dirty, full = name, s.level.top()
		}
	}
	if s := p[filepath.Dir(name)]; s != nil {
		base := filepath.Base(name)
		if s.matters(base) {
			matters = true
			if structural && s.level.branches() {
				dirty = name
				full = full || s.level == levelRoot
			}
		}
		if structural && s.want[base] > 0 {
			dirty = name
		}
	}
	return matters, dirty, full
}

// within reports whether path is dir or lies inside it.
func within(path, dir string) bool {
	if !strings.HasPrefix(path, dir) {
		return false
	}
	return len(path) == len(dir) || strings.HasSuffix(dir, string(filepath.Separator)) ||
		path[len(dir)] == filepath.Separator
}

// statDir returns the stat of path (following symlinks) when it is a folder.
func statDir(path string) (fs.FileInfo, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return nil, false
	}
	return fi, true
}

// isDir reports whether path is a directory or a symlink to one.
func isDir(path string) bool {
	_, ok := statDir(path)
	return ok
}

// subdirs lists the names of the folders (and symlinks to folders) directly in dir
// that are part of the layout below a folder at level l.
func subdirs(dir string, l level) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if l.child(e.Name()) == levelNone {
			continue
		}
		if e.IsDir() || e.Type()&os.ModeSymlink != 0 && isDir(filepath.Join(dir, e.Name())) {
			out = append(out, e.Name())
		}
	}
	return out
}

// holds reports whether the folder dir holds an entry that is not ignored.
func holds(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	for {
		list, err := f.Readdirnames(64)
		for _, name := range list {
			if !layout.Ignored(name) {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}

// fileID identifies a file on its device; the zero fileID is unknown.
type fileID struct{ dev, ino uint64 }
