package watcher

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/fsnotify/fsnotify"
)

// The watch set is kept by difference. An event that may mean a folder appeared or
// went (or a change of the extra folders) re-reads that one folder and what is derived
// from it: the layout folders inside it, and the missing or extra folders it leads to.
// Only the start, an overflow or watch error, and the root or one of its own folders
// appearing or going plan everything again (replan).
//
// Every folder is watched before it is listed, so a folder created inside it while
// the watch was being set up is either in the listing or sends an event.

// stand is the folder watched in place of a missing one: its nearest existing
// ancestor, and the child of that ancestor on the way to it.
type stand struct{ dir, child string }

// maxTries bounds the loops that look again at a folder that changed while it was
// being watched.
const maxTries = 64

// replan computes the whole watch set from the disk and makes the watches match it.
func (w *Watcher) replan() {
	w.round++
	for range maxTries {
		old := w.specs
		w.specs, w.stand, w.ids = plan{}, map[string]stand{}, map[fileID][]string{}
		again := false
		var err error
		if fi, ok := statDir(w.root); ok {
			err = w.addLayout(w.root, levelRoot, fi)
		}
		if !w.rootWatched() && (err == nil || gone(err)) {
			// Missing, or gone before its watch was added: its parent stands in (unless
			// it appeared meanwhile).
			again = w.retarget(w.root, false, nil, false)
		}
		for _, t := range w.runExtras {
			w.retarget(t, true, nil, false)
		}
		for path, s := range old {
			if w.specs[path] == nil {
				w.release(path, s.id)
			}
		}
		if !again || w.lost {
			break
		}
	}
	w.sweepFailed()
}

// refresh looks again at path, a folder that may have appeared or gone, and updates the
// watch set for it. Folders newly watched that stand for no event of their own and hold
// something are added to paths. It reports whether everything must be planned again
// (the root or one of its own folders appeared or went).
func (w *Watcher) refresh(path string, paths *[]string) (full bool) {
	if lv := w.layoutLevel(path); lv != levelNone {
		if lv.top() {
			return true
		}
		parent := w.specs[filepath.Dir(path)]
		fi, ok := statDir(path)
		if ok && parent != nil && parent.level.child(filepath.Base(path)) == lv {
			w.addLayout(path, lv, fi)
		} else {
			w.dropLayout(path)
			delete(w.failed, path) // gone: no need to try again
		}
	}
	if !w.rootWatched() && within(w.root, path) && w.retarget(w.root, false, nil, false) {
		return true
	}
	for _, t := range w.extrasWithin(path) {
		w.retarget(t, true, paths, false)
	}
	return false
}

// layoutLevel returns the level path would have in the layout, from its name alone.
func (w *Watcher) layoutLevel(path string) level {
	if !within(path, w.root) {
		return levelNone
	}
	rel := strings.TrimPrefix(path[len(w.root):], string(filepath.Separator))
	lv := levelRoot
	for rel != "" && lv != levelNone {
		name, rest, _ := strings.Cut(rel, string(filepath.Separator))
		lv, rel = lv.child(name), rest
	}
	return lv
}

func (w *Watcher) rootWatched() bool {
	s := w.specs[w.root]
	return s != nil && s.level == levelRoot
}

// extrasWithin returns the extra folders that are path or lie inside it.
func (w *Watcher) extrasWithin(path string) []string {
	i := sort.SearchStrings(w.runExtras, path)
	j := i
	for j < len(w.runExtras) && strings.HasPrefix(w.runExtras[j], path) {
		j++
	}
	var out []string
	for _, t := range w.runExtras[i:j] {
		if within(t, path) {
			out = append(out, t)
		}
	}
	return out
}

// addLayout watches the layout folder path at level lv (fi: its stat), then lists it
// and adds the layout folders inside, and drops those that are gone. A folder already
// watched is watched again: one replaced under the same name needs a watch of its own.
// The error is that of the folder's own watch.
func (w *Watcher) addLayout(path string, lv level, fi fs.FileInfo) error {
	s, _, err := w.add(path, fi, func(s *spec) { s.level = lv })
	if err != nil {
		w.dropLayout(path)
		return err
	}
	if lv != levelRoot {
		if parent := w.specs[filepath.Dir(path)]; parent != nil {
			if parent.kids == nil {
				parent.kids = map[string]bool{}
			}
			parent.kids[filepath.Base(path)] = true
		}
	}
	if !lv.branches() {
		return nil
	}
	listed := map[string]bool{}
	for _, name := range subdirs(path, lv) {
		child := filepath.Join(path, name)
		if cfi, ok := statDir(child); ok {
			listed[name] = true
			w.addLayout(child, lv.child(name), cfi)
		}
	}
	for name := range s.kids {
		if !listed[name] {
			w.dropLayout(filepath.Join(path, name))
		}
	}
	return nil
}

// dropLayout takes path and the layout folders inside it out of the layout, and drops
// their watches unless they are watched for another reason.
func (w *Watcher) dropLayout(path string) {
	s := w.specs[path]
	if s == nil || s.level == levelNone {
		return
	}
	for name := range s.kids {
		w.dropLayout(filepath.Join(path, name))
	}
	s.level, s.kids = levelNone, nil
	if parent := w.specs[filepath.Dir(path)]; parent != nil && path != w.root {
		delete(parent.kids, filepath.Base(path))
	}
	w.tidy(path)
}

// retarget watches t (an extra folder, or the root when extra is false), or while it
// is missing its nearest existing ancestor in its place. It reports whether the root
// exists (then the caller plans everything). An extra folder newly watched (no other
// name shares its watch) is added to paths when always is set or it holds something.
func (w *Watcher) retarget(t string, extra bool, paths *[]string, always bool) (rootFound bool) {
	for range maxTries {
		if fi, ok := statDir(t); ok {
			w.unstand(t)
			if !extra {
				return true
			}
			// Watched again if it was: it may be a new folder under the same name.
			_, fresh, err := w.add(t, fi, setExtra)
			if err != nil {
				if gone(err) {
					continue // gone again: stand in for it
				}
				return false
			}
			if fresh && paths != nil && (always || holds(t)) {
				*paths = append(*paths, t)
			}
			return false
		}
		if s := w.specs[t]; extra && s != nil && s.extra {
			s.extra = false
			w.tidy(t)
		}
		w.unstand(t)
		dir, child, fi := nearest(t)
		if dir == "" {
			return false
		}
		_, _, err := w.add(dir, fi, func(s *spec) {
			if s.want == nil {
				s.want = map[string]int{}
			}
			s.want[child]++
		})
		if err != nil {
			if gone(err) {
				continue // gone again: look for the next one up
			}
			return false
		}
		w.stand[t] = stand{dir, child}
		// Watched before looking: the next folder on the way may have appeared meanwhile.
		if !isDir(filepath.Join(dir, child)) {
			return false
		}
	}
	return false
}

// unstand takes back the place an ancestor holds for the missing folder t.
func (w *Watcher) unstand(t string) {
	st, ok := w.stand[t]
	if !ok {
		return
	}
	delete(w.stand, t)
	if s := w.specs[st.dir]; s != nil && s.want[st.child] > 0 {
		if s.want[st.child]--; s.want[st.child] == 0 {
			delete(s.want, st.child)
		}
		w.tidy(st.dir)
	}
}

// nearest returns the nearest existing ancestor of the missing folder t, its stat and
// its child on the way to t; "" when there is none.
func nearest(t string) (dir, child string, fi fs.FileInfo) {
	child = filepath.Base(t)
	for dir = filepath.Dir(t); ; dir = filepath.Dir(dir) {
		if fi, ok := statDir(dir); ok {
			return dir, child, fi
		}
		if dir == filepath.Dir(dir) {
			return "", "", nil
		}
		child = filepath.Base(dir)
	}
}

// add watches the folder path (fi: its stat) for the reason why sets, and returns its
// spec, creating it, and whether the folder is new to the signals: watched for the
// first time (not sharing the watch of another name for the same folder, a symlink,
// which keeps that name), or watched so far only as the ancestor of a missing folder.
// A folder already watched is watched again, which is cheap and repairs the watch of a
// folder replaced under the same name. The error says why it could not be watched.
func (w *Watcher) add(path string, fi fs.FileInfo, why func(*spec)) (*spec, bool, error) {
	if w.lost {
		return nil, false, errLost
	}
	if w.b != nil {
		if err := w.b.Add(path); err != nil {
			w.addFailed(path, err)
			return nil, false, err
		}
	}
	delete(w.failed, path)
	id, _ := sysStat(fi)
	s := w.specs[path]
	if s == nil {
		fresh := id == fileID{} || len(w.ids[id]) == 0
		s = &spec{id: id}
		why(s)
		w.specs[path] = s
		w.remember(path, id)
		if w.b == nil {
			s.poll = w.snapshot(path, s)
		}
		return s, fresh, nil
	}
	widened := w.mark(s, why)
	if s.id != id {
		w.forget(path, s.id)
		s.id = id
		w.remember(path, id)
		if w.b == nil {
			s.poll = w.snapshot(path, s)
		}
	}
	return s, widened, nil
}

// errLost is add's error once the watches ran out: the watcher switches to polling.
var errLost = errors.New("watcher: out of watches")

// gone reports whether an error of adding a watch says the folder is gone again.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// mark adds the reason why to the folder watched for s, and reports whether the folder
// sends signals of its own for the first time (it was watched only as the ancestor of
// a missing folder). Its entries were not looked at then: polling lists it next pass.
func (w *Watcher) mark(s *spec, why func(*spec)) bool {
	before := s.signals()
	why(s)
	if before || !s.signals() {
		return false
	}
	if s.poll != nil {
		s.poll.recent = true
	}
	return true
}

func setExtra(s *spec) { s.extra = true }

// addFailed handles a watch that could not be added. Running out of watches (or of
// descriptors, on kqueue) means polling; a folder gone again brings its own event; any
// other failure is logged once while it lasts, and tried again every second.
func (w *Watcher) addFailed(path string, err error) {
	switch {
	case errors.Is(err, syscall.ENOSPC): // inotify: out of watches
		w.log.Error("watcher: the inotify watch limit is reached; polling every second instead. "+
			"Raise fs.inotify.max_user_watches, e.g. sysctl fs.inotify.max_user_watches=524288",
			"path", path, "err", err)
		w.lost = true
	case errors.Is(err, syscall.EMFILE): // kqueue: one descriptor per watched file
		w.log.Error("watcher: out of file descriptors for watches; polling every second instead. "+
			"Raise the limit on open files (ulimit -n)", "path", path, "err", err)
		w.lost = true
	case gone(err):
		// Gone again; the event of its going, or of its parent's, comes.
	default:
		if w.failed[path] == 0 {
			w.log.Warn("watcher: cannot watch folder", "path", path, "err", err)
		}
		w.failed[path] = w.round
	}
}

// sweepFailed forgets the failures that were not met again since the round began.
func (w *Watcher) sweepFailed() {
	for path, round := range w.failed {
		if round != w.round {
			delete(w.failed, path)
		}
	}
}

// retryFailed tries again the folders whose watch failed. One that still fails is left
// as it is; one that can be watched now is looked at again, and counts as a change.
func (w *Watcher) retryFailed() {
	w.round++
	paths := make([]string, 0, len(w.failed))
	for path := range w.failed {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	var hint []string
	full := false
	for _, path := range paths {
		if full || w.lost {
			break
		}
		if err := w.b.Add(path); err != nil && !gone(err) {
			w.addFailed(path, err)
			continue
		}
		full = w.refresh(path, &hint)
		if s := w.specs[path]; s == nil {
			w.b.Remove(path) // no longer wanted (or gone)
		} else if s.signals() {
			hint = append(hint, path)
		}
	}
	if !full {
		w.sweepFailed()
	}
	w.finish(full, hint)
}

// tidy drops the watch of path when it has no reason left.
func (w *Watcher) tidy(path string) {
	if s := w.specs[path]; s != nil && !s.needed() {
		delete(w.specs, path)
		w.release(path, s.id)
	}
}

// remember records path as a name watched for the folder id.
func (w *Watcher) remember(path string, id fileID) {
	if id != (fileID{}) {
		w.ids[id] = append(w.ids[id], path)
	}
}

// forget takes path out of the names watched for the folder id.
func (w *Watcher) forget(path string, id fileID) {
	names := slices.DeleteFunc(w.ids[id], func(p string) bool { return p == path })
	if len(names) == 0 {
		delete(w.ids, id)
	} else {
		w.ids[id] = names
	}
}

// release removes the watch of path, which is no longer in the plan, and watches again
// the other names of the same folder, whose watch went with it.
func (w *Watcher) release(path string, id fileID) {
	w.forget(path, id)
	if w.b == nil {
		return
	}
	// The watch is usually gone already with its folder; nothing to report then.
	if err := w.b.Remove(path); err != nil && !errors.Is(err, fsnotify.ErrNonExistentWatch) {
		w.log.Debug("watcher: remove watch", "path", path, "err", err)
	}
	if id == (fileID{}) {
		return
	}
	for _, other := range w.ids[id] {
		if err := w.b.Add(other); err != nil {
			w.addFailed(other, err)
		}
	}
}
