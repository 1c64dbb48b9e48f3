package watcher

import (
	"encoding/binary"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
)

// fingerprint hashes what the reconciler could care about in the folder path watched for
// s: the folder's own mode and inode, and for each entry that matters (or that an
// ancestor waits for) its name, mode and inode, plus size, modification and change time
// for files. Folders inside contribute no times, so plugwatch's own hidden copies, which
// change their folder's modification time, do not change the fingerprint of the folder
// above. Symlinks are followed.
func fingerprint(path string, s *spec) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	num := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	info := func(fi fs.FileInfo) {
		ino, ctime := statKey(fi)
		num(uint64(fi.Mode()))
		num(ino)
		if !fi.IsDir() {
			num(uint64(fi.Size()))
			num(uint64(fi.ModTime().UnixNano()))
			num(uint64(ctime))
		}
	}
	if fi, err := os.Stat(path); err == nil {
		num(uint64(fi.Mode()))
		ino, _ := statKey(fi)
		num(ino)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		h.Write([]byte("\x00unreadable"))
		return h.Sum64()
	}
	for _, e := range entries {
		name := e.Name()
		if !s.matters(name) && !s.want[name] {
			continue
		}
		h.Write([]byte(name))
		h.Write([]byte{0})
		fi, err := os.Stat(filepath.Join(path, name))
		if err != nil {
			fi, err = e.Info()
		}
		if err == nil {
			info(fi)
		}
	}
	return h.Sum64()
}

// poll stats the folders to watch and counts any difference from the last pass as a
// change; the first pass only takes the baseline.
func (w *Watcher) poll() {
	extras, _ := w.loadExtras()
	p := makePlan(w.root, extras)
	snap := make(map[string]uint64, len(p))
	for path, s := range p {
		snap[path] = fingerprint(path, s)
	}
	if w.snap != nil {
		changed := false
		for path, fp := range snap {
			if old, ok := w.snap[path]; !ok || old != fp {
				changed = true
			}
		}
		for path := range w.snap {
			if _, ok := snap[path]; !ok {
				changed = true
			}
		}
		if changed {
			w.event(Signal{Full: true}) // polling tells no path worth trusting
		}
	}
	w.specs, w.snap = p, snap
	w.polls++
}
