package reconcile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/plugwatch/plugwatch/layout"
	"github.com/plugwatch/plugwatch/state"
)

// readNative reads the entries of native/, in name order; a pass asked for by events
// reads only those it must (readNativeHint).
func (r *diskReader) readNative() {
	dir := filepath.Join(r.l.Root, "native")
	plain := false // native/ is a folder, not a symlink to one
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		plain = true
	}
	if r.hint {
		r.readNativeHint(dir, plain)
		return
	}
	entries, _ := r.dir(dir)
	stats := r.statAll(dir, entries, plain)
	for i, de := range entries {
		if name := de.Name(); !layout.Ignored(name) {
			if e, ok := r.entryStatted(dir, name, plain, stats[i]); ok {
				r.entries = append(r.entries, e)
			}
		}
	}
	if r.kept {
		r.compare()
	}
}

// compare says what a full pass found that the last pass did not, as
// readNativeHint does: the names of native/ whose units it read again or lost, with
// the last pass's units and claims they replace; and it looks up again the units
// that wait for a verdict published since. Both listings are in name order.
func (r *diskReader) compare() {
	for i, j := 0, 0; i < len(r.prev) || j < len(r.entries); {
		var name string
		var before, now *unit
		switch {
		case j == len(r.entries) || i < len(r.prev) && r.prev[i].name < r.entries[j].name:
			name, before = r.prev[i].name, r.prev[i].u
			i++
		case i == len(r.prev) || r.entries[j].name < r.prev[i].name:
			name, now = r.entries[j].name, r.entries[j].u
			j++
		default:
			name, before, now = r.prev[i].name, r.prev[i].u, r.entries[j].u
			i, j = i+1, j+1
		}
		if before == now {
			continue // taken as it was, or neither a folder nor a library
		}
		r.reread[name] = true
		if before != nil {
			r.dropped = append(r.dropped, before.claims...)
			r.gone = append(r.gone, before)
		}
	}
	r.lookAgain()
}

// readNativeHint reads native/ for a pass asked for by events: it lists nothing and
// reads again only the entries events came from and those not settled (see
// unit.settled), in place; every other entry is taken as the last pass found it,
// without a syscall. The units waitingNow names (a verdict they hold changed) are
// looked up again.
func (r *diskReader) readNativeHint(dir string, plain bool) {
	var names []string
	for path := range r.dirty {
		if filepath.Dir(path) == dir {
			if name := filepath.Base(path); !layout.Ignored(name) {
				names = append(names, name)
			}
		}
	}
	names = append(names, r.unsettled...)
	slices.Sort(names)
	names = slices.Compact(names)
	r.entries = r.prev
	for _, name := range names {
		i, found := slices.BinarySearchFunc(r.entries, name, byEntryName)
		if found && r.entries[i].u != nil {
			r.dropped = append(r.dropped, r.entries[i].u.claims...)
			r.gone = append(r.gone, r.entries[i].u)
		}
		r.reread[name] = true
		e, ok := r.look(dir, name, plain)
		switch {
		case ok && found:
			r.entries[i] = e
		case ok:
			r.entries = slices.Insert(r.entries, i, e)
		case found:
			r.entries = slices.Delete(r.entries, i, i+1)
		}
	}
	r.lookAgain()
}

// lookAgain looks up again the units of the names in recheck that the pass did
// not read again.
func (r *diskReader) lookAgain() {
	slices.Sort(r.recheck)
	for _, name := range slices.Compact(r.recheck) {
		if r.reread[name] {
			continue
		}
		if i, found := slices.BinarySearchFunc(r.entries, name, byEntryName); found && r.entries[i].u != nil {
			r.active = append(r.active, r.entries[i].u.claims...)
			r.looked = append(r.looked, r.entries[i].u)
		}
	}
}

func byEntryName(e nativeEntry, name string) int { return strings.Compare(e.name, name) }

// look reads the entry name of native/ again; false when it is gone.
func (r *diskReader) look(dir, name string, plain bool) (nativeEntry, bool) {
	fi, err := os.Lstat(filepath.Join(dir, name))
	if err != nil {
		return nativeEntry{}, false
	}
	return r.entry(dir, name, plain, fi.Mode()&fs.ModeSymlink != 0)
}

// prevEntry returns the last pass's entry of native/ called name.
func (r *diskReader) prevEntry(name string) (nativeEntry, bool) {
	i, found := slices.BinarySearchFunc(r.prev, name, byEntryName)
	if !found {
		return nativeEntry{}, false
	}
	return r.prev[i], true
}

// entry reads one entry of native/: a bundle folder, or a bare library. False when
// it is neither a folder nor a file (a dangling symlink).
func (r *diskReader) entry(dir, name string, plain, link bool) (nativeEntry, bool) {
	return r.entryStatted(dir, name, plain, r.statEntry(nil, dir, name, plain, link))
}

// statted is what stat found of an entry of native/: its info, or the last pass's
// entry when its unit may be taken as it was (a full pass, nothing in it changed).
type statted struct {
	fi   fs.FileInfo
	link bool // the entry is a symlink
	same bool
	prev nativeEntry // when same
	warm *warm       // a folder to read: what was read ahead of it
}

// statEntry stats the entry name of native/. On a full pass, at is native/ open, and
// an entry that was a unit's folder is statted through it with every file the unit
// was read from (unchanged). It only reads the reader: several may run at once.
func (r *diskReader) statEntry(at *below, dir, name string, plain, link bool) statted {
	if at != nil && plain && !link {
		if pe, ok := r.prevEntry(name); ok && pe.u != nil && r.unchanged(at, pe) {
			return statted{same: true, prev: pe}
		}
	}
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return statted{}
	}
	st := statted{fi: fi, link: link}
	if fi.IsDir() {
		st.warm = r.warmUp(path) // entryStatted reads it
	}
	return st
}

// statAll is statEntry of every entry, spread over the CPUs: a full pass over thousands
// of unchanged folders costs their stats, and only those.
func (r *diskReader) statAll(dir string, entries []fs.DirEntry, plain bool) []statted {
	out := make([]statted, len(entries))
	at := openBelow(dir, filepath.Join(r.l.RealRoot, "native"))
	defer at.close()
	workers := min(runtime.GOMAXPROCS(0), len(entries)/statsPerWorker+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(entries); i += workers {
				if name := entries[i].Name(); !layout.Ignored(name) {
					out[i] = r.statEntry(at, dir, name, plain, entries[i].Type()&fs.ModeSymlink != 0)
				}
			}
		})
	}
	wg.Wait()
	return out
}

const statsPerWorker = 256

// entryStatted reads one entry of native/, statted: a bundle folder, or a bare
// library. False when it is neither a folder nor a file (a dangling symlink).
func (r *diskReader) entryStatted(dir, name string, plain bool, st statted) (nativeEntry, bool) {
	if st.same {
		// A full pass takes an unchanged folder as it was.
		st.prev.u.mark(r)
		return st.prev, true
	}
	path := filepath.Join(dir, name)
	fi := st.fi
	if fi == nil {
		return nativeEntry{}, false
	}
	e := nativeEntry{name: name, path: path}
	if plain && !st.link {
		r.infos[path] = fi
	}
	switch {
	case fi.IsDir():
		e.u = r.readWarm(path, st.warm)
	case fi.Mode().IsRegular() && layout.IsLibraryName(name):
		p := problem(path, state.BareLibrary, state.Warn, fmt.Sprintf(
			"native library directly in native/ is not loaded; move it to native/%s/%s or run plugwatch migrate", layout.Stem(name), name))
		e.u = &unit{name: name, problems: []state.Problem{p}}
		r.units = append(r.units, e.u)
	}
	return e, true
}
