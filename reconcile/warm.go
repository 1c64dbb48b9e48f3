package reconcile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/plugwatch/plugwatch/manifest"
)

// A pass reads the bundle folders it reads again one after the other (the reader's
// state is one), and reading one is mostly system calls and a manifest to parse:
// about 0.1 ms a folder, a second for the first pass over a root of 10,000. So the
// stat of an entry of native/ (statEntry), which a full pass runs on every CPU
// (statAll), also reads ahead, for each folder to be read again, what readUnit will
// ask of it, in the order it asks: the folder's Lstat, its listing, a Stat of each
// entry and the parse of the manifest files readBundle will try, up to the one it
// takes, unless the file cache holds them already. readUnit then takes these
// answers instead of asking again. They are what the disk answered a moment before,
// in the same pass, as a slower read one folder at a time would have had them; a
// change after them is an event, which reads the folder again (the folder's
// identity, taken first, is the unit's).

// warm is what was read ahead of one bundle folder.
type warm struct {
	dir     string
	folder  fs.FileInfo // os.Lstat of dir; nil when it failed
	entries []fs.DirEntry
	listErr error
	stats   map[string]warmStat // os.Stat of each entry, by name
	parsed  map[string]*parsed  // the manifest files, by path
}

type warmStat struct {
	fi  fs.FileInfo
	err error
}

// warmUp reads dir ahead (see warm). It only reads the reader: several may run at
// once.
func (r *diskReader) warmUp(dir string) *warm {
	w := &warm{dir: dir, stats: map[string]warmStat{}, parsed: map[string]*parsed{}}
	if fi, err := os.Lstat(dir); err == nil {
		w.folder = fi
	}
	w.entries, w.listErr = r.readDir(dir)
	if w.listErr != nil {
		return w
	}
	libs, files := classify(w.entries, func(e fs.DirEntry) (fs.FileInfo, error) {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		w.stats[e.Name()] = warmStat{fi, err}
		return fi, err
	})
	for _, name := range manifestCandidates(libs) {
		if !files[name] {
			continue
		}
		path, id := filepath.Join(dir, name), identityOf(w.stats[name].fi)
		p, ok := r.files.cached(path, id)
		if !ok {
			m, err := manifest.ReadManifest(path)
			p = &parsed{id: id, man: m, err: err}
			w.parsed[path] = p
		}
		if p.err == nil || errors.Is(p.err, manifest.ErrEscapes) {
			break // readBundle stops at this one
		}
	}
	return w
}

// ahead returns what was read ahead of the folder dir, or nil.
func (r *diskReader) ahead(dir string) *warm {
	if r.warm != nil && r.warm.dir == dir {
		return r.warm
	}
	return nil
}

// stat is os.Stat of the entry name of w's folder, as read ahead.
func (w *warm) stat(name string) (fs.FileInfo, error) {
	if st, ok := w.stats[name]; ok {
		return st.fi, st.err
	}
	return os.Stat(filepath.Join(w.dir, name))
}

// readWarm is readUnit of dir, taking what was read ahead of it in w (nil: nothing).
func (r *diskReader) readWarm(dir string, w *warm) *unit {
	if w == nil {
		return r.readUnit(dir)
	}
	r.warm, r.files.primed = w, w.parsed
	defer func() { r.warm, r.files.primed = nil, nil }()
	return r.readUnit(dir)
}
