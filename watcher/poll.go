package watcher

import (
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/plugwatch/plugwatch/layout"
)

// Polling, when notifications are not available, stats each watched folder every
// pass and lists it again only when its own stat changed (an entry was added, removed
// or renamed, or its mode changed). A file rewritten in place does not change its
// folder, so the files of a folder are stat'ed too, those of one folder in filePasses
// on each pass in turn: a rewrite in place is seen within filePasses passes, anything
// else at the next one, for a third of the cost. Folders inside a folder are compared by
// mode and identity only (their times change when plugwatch writes its hidden copies in
// them), and a folder that is watched itself is left to its own stat.

// filePasses is how many passes polling takes to stat every file once.
const filePasses = 4

// recentTimes is how recent a folder's times may be for its stat not to be trusted on
// the next pass: a change made within the same tick of the file system's clock (a few
// milliseconds on Linux, up to two seconds on FAT) leaves them as they were, so such a
// folder is listed again until its times are older than that.
const recentTimes = 2 * time.Second

// stamp is what polling compares of a file.
type stamp struct {
	mode               uint32 // as the system gives it
	dir                bool
	id                 fileID
	size, mtime, ctime int64
}

// pollState is what the last pass saw of a folder.
type pollState struct {
	dir      stamp
	readable bool
	recent   bool             // the folder's times were too recent to trust: list it again
	turn     int              // the files are stat'ed on the passes where polls%filePasses == turn
	entries  map[string]stamp // by name: entries not ignored, and those an ancestor waits for; the zero stamp when only their presence counts (folders watched themselves, entries of a folder watched only as an ancestor)
}

// entryStamp stats an entry, following symlinks (a dangling one is stat'ed itself); a
// folder's times and size are left out.
func entryStamp(path string) (stamp, bool) {
	st, err := statStamp(path, false)
	if err != nil {
		if st, err = statStamp(path, true); err != nil {
			return stamp{}, false
		}
	}
	if st.dir {
		st.size, st.mtime, st.ctime = 0, 0, 0
	}
	return st, true
}

// isRecent reports whether a folder's times are too close to when it was listed (at)
// to tell a later change. A time in the future counts as recent: it costs a listing,
// never a missed change.
func isRecent(st stamp, at time.Time, within time.Duration) bool {
	limit := at.Add(-within).UnixNano()
	return st.mtime > limit || st.ctime > limit
}

// snapshot takes what polling compares of the folder path watched for s.
func (w *Watcher) snapshot(path string, s *spec) *pollState {
	ps := &pollState{}
	at := time.Now()
	ps.dir, _ = statStamp(path, false)
	ps.entries, ps.readable = w.readEntries(path, s)
	ps.recent = isRecent(ps.dir, at, w.recentFor)
	ps.turn = w.turns % filePasses
	w.turns++
	return ps
}

// readEntries lists the folder path watched for s and stats its entries.
func (w *Watcher) readEntries(path string, s *spec) (map[string]stamp, bool) {
	w.lists++
	list, err := os.ReadDir(path)
	if err != nil {
		return nil, false
	}
	entries := make(map[string]stamp, len(list))
	for _, e := range list {
		name := e.Name()
		if layout.Ignored(name) && s.want[name] == 0 {
			continue
		}
		child := filepath.Join(path, name)
		if !s.signals() || w.specs[child] != nil {
			entries[name] = stamp{} // only whether it is there matters
			continue
		}
		if st, ok := entryStamp(child); ok {
			entries[name] = st
		}
	}
	return entries, true
}

// poll is one pass: it compares every watched folder with the last pass, brings the
// watch set up to date for the folders that appeared or went, then signals the paths
// that changed. A folder newly polled takes its baseline first, before the signal.
func (w *Watcher) poll() {
	w.polls++
	var paths, dirty []string
	for path, s := range w.specs {
		if s.poll == nil {
			s.poll = w.snapshot(path, s)
			continue
		}
		w.pollFolder(path, s, &paths, &dirty)
	}
	slices.Sort(dirty)
	full := false
	for _, d := range slices.Compact(dirty) {
		if full = w.refresh(d, &paths); full {
			break
		}
	}
	w.finish(full, paths)
}

// pollFolder compares the folder path with what the last pass saw, adding what changed
// to paths and the folders that may have appeared or gone to dirty.
func (w *Watcher) pollFolder(path string, s *spec, paths, dirty *[]string) {
	ps := s.poll
	now, err := statStamp(path, false)
	if err != nil || !now.dir {
		if s.signals() {
			*paths = append(*paths, path)
		}
		*dirty = append(*dirty, path)
		return
	}
	if now.mode != ps.dir.mode || now.id != ps.dir.id {
		if s.signals() {
			*paths = append(*paths, path)
		}
		if now.id != ps.dir.id {
			*dirty = append(*dirty, path)
		}
	}
	if now == ps.dir && !ps.recent {
		// The same entries as last time: only files rewritten in place can have changed.
		if w.polls%filePasses == ps.turn {
			w.restatFiles(path, s, paths, dirty)
		}
		return
	}
	w.relist(path, s, now, paths, dirty)
}

// restatFiles stats again the files of the folder path, whose entries are the same
// as last time, adding the ones rewritten in place to paths.
func (w *Watcher) restatFiles(path string, s *spec, paths, dirty *[]string) {
	ps := s.poll
	for name, old := range ps.entries {
		if old == (stamp{}) {
			continue
		}
		child := filepath.Join(path, name)
		if w.specs[child] != nil {
			ps.entries[name] = stamp{} // polled itself
			continue
		}
		st, ok := entryStamp(child)
		if !ok {
			ps.recent = true // gone, yet the folder looks the same: list it next pass
			continue
		}
		if st != old {
			ps.entries[name] = st
			w.noteEntry(path, s, name, st.id != old.id || st.dir != old.dir, paths, dirty)
		}
	}
}

// relist lists the folder path (now its stamp) again and compares its entries with
// the last listing.
func (w *Watcher) relist(path string, s *spec, now stamp, paths, dirty *[]string) {
	ps := s.poll
	at := time.Now()
	entries, readable := w.readEntries(path, s)
	if readable != ps.readable && s.signals() {
		*paths = append(*paths, path)
	}
	for name, old := range ps.entries {
		st, ok := entries[name]
		switch {
		case !ok:
			w.noteEntry(path, s, name, true, paths, dirty)
		case st != old && st != (stamp{}) && old != (stamp{}):
			w.noteEntry(path, s, name, st.id != old.id || st.dir != old.dir, paths, dirty)
		}
	}
	for name := range entries {
		if _, ok := ps.entries[name]; !ok {
			w.noteEntry(path, s, name, true, paths, dirty)
		}
	}
	ps.dir, ps.entries, ps.readable, ps.recent = now, entries, readable, isRecent(now, at, w.recentFor)
}

// noteEntry records a change of the entry called name in the folder dir watched for s;
// structural when it appeared, went, or was replaced.
func (w *Watcher) noteEntry(dir string, s *spec, name string, structural bool, paths, dirty *[]string) {
	child := filepath.Join(dir, name)
	if s.matters(name) {
		*paths = append(*paths, child)
		if structural && s.level.branches() {
			*dirty = append(*dirty, child)
		}
	}
	if structural && s.want[name] > 0 {
		*dirty = append(*dirty, child)
	}
}
