package watcher

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"slices"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run watches until ctx is done, then releases every watch and returns nil, leaving no
// goroutine behind. It sends a Full signal once its watches are in place, then signals
// changes as they come (see the package documentation). It returns an error only when it
// could not start: Run may be called once.
func (w *Watcher) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("watcher: Run called twice")
	}
	w.started, w.running = true, true
	w.mu.Unlock()
	defer w.stop()

	w.deb = newDebouncer(w.debounce)
	if b, err := w.newBackend(); err != nil {
		w.log.Error("watcher: cannot use file notifications; polling every second instead",
			"path", w.root, "err", err)
		w.polling.Store(true)
	} else {
		w.b = b
	}
	w.resync(true)
	w.deliver(Signal{Full: true})

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		if due, ok := w.deb.due(); ok {
			timer.Reset(max(0, due.Sub(time.Now())))
		} else {
			timer.Stop()
		}
		var tick <-chan time.Time
		if w.polling.Load() {
			if ticker == nil {
				ticker = time.NewTicker(w.pollInterval)
			}
			tick = ticker.C
		}
		var events <-chan fsnotify.Event
		var errs <-chan error
		if w.b != nil {
			events, errs = w.b.eventC(), w.b.errorC()
		}

		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				w.abandon(errors.New("event channel closed"))
				break
			}
			w.onEvents(ev, events)
		case err, ok := <-errs:
			if !ok {
				w.abandon(errors.New("error channel closed"))
				break
			}
			w.onError(err)
		case <-timer.C:
			if s, ok := w.deb.tick(time.Now()); ok {
				w.deliver(s)
			}
		case <-tick:
			w.poll()
		case <-w.kick:
			w.resync(false)
		case reply := <-w.probe:
			st := probeState{pending: w.deb.pending, watched: map[string]bool{}, polls: w.polls, sent: w.sent}
			for path := range w.specs {
				st.watched[path] = true
			}
			reply <- st
		}
	}
}

// stop releases everything when Run returns.
func (w *Watcher) stop() {
	if w.b != nil {
		w.b.Close()
		w.b = nil
	}
	w.mu.Lock()
	w.running = false
	close(w.applied)
	w.mu.Unlock()
	close(w.c)
}

// onEvents handles ev and the events that are already waiting behind it, then fixes
// the watch set once for all of them.
func (w *Watcher) onEvents(ev fsnotify.Event, events <-chan fsnotify.Event) {
	var matters, resync, full bool
	var paths []string
	for n := 0; ; n++ {
		m, r, f := w.specs.classify(ev)
		if m {
			w.received()
			w.log.Debug("watcher: event", "path", ev.Name, "op", ev.Op.String())
			paths = append(paths, ev.Name)
		}
		matters, resync, full = matters || m, resync || r, full || f
		if n == 255 {
			break
		}
		var ok bool
		select {
		case ev, ok = <-events:
		default:
		}
		if !ok {
			break
		}
	}
	if matters || full {
		w.event(Signal{Full: full, Paths: paths})
	}
	if resync {
		w.resync(false)
	}
}

// onError handles an error from the notification queue: an overflow lost events, and
// any other error may have; either way the reconciler must rescan everything.
func (w *Watcher) onError(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		w.log.Warn("watcher: event queue overflowed; rescanning everything", "path", w.root)
	} else {
		w.log.Warn("watcher: watch error; rescanning everything", "path", w.root, "err", err)
	}
	w.event(Signal{Full: true})
	w.resync(false)
}

// event feeds one change to the debouncer.
func (w *Watcher) event(s Signal) {
	if s, ok := w.deb.event(time.Now(), s); ok {
		w.deliver(s)
	}
}

// deliver puts s on C, merging it into a signal still unread. Run is the only sender,
// so after the receive attempt there is room.
func (w *Watcher) deliver(s Signal) {
	select {
	case old := <-w.c:
		s = old.merge(s)
	default:
	}
	select {
	case w.c <- s:
	default:
	}
	w.sent++
}

// resync computes the folders to watch from the disk and makes the watches match.
// initial: the first one, whose new watches are no change.
func (w *Watcher) resync(initial bool) {
	extras, gen := w.loadExtras()
	if w.b == nil {
		w.poll()
	} else {
		// Folders created while their parent's watch was being set up sent no event:
		// look again until a pass adds nothing.
		for range 8 {
			if !w.apply(makePlan(w.root, extras), initial) {
				break
			}
		}
	}
	w.mu.Lock()
	if gen > w.appliedGen {
		w.appliedGen = gen
		close(w.applied)
		w.applied = make(chan struct{})
	}
	w.mu.Unlock()
}

// apply makes the watches match p and reports whether a folder newly got a watch. A
// newly watched folder counts as a change (something may have been written there
// before its watch existed); the root or one of its own folders appearing or going
// counts as a full one.
func (w *Watcher) apply(p plan, initial bool) bool {
	have := setOf(w.b.WatchList())
	full, changed := false, false
	for path, old := range w.specs {
		if p[path] != nil {
			continue
		}
		// The watch is usually gone already with its folder; nothing to report then.
		if err := w.b.Remove(path); err != nil && !errors.Is(err, fsnotify.ErrNonExistentWatch) {
			w.log.Debug("watcher: remove watch", "path", path, "err", err)
		}
		if old.level.top() {
			changed, full = true, true
		}
	}
	var fresh, skip []string
	for _, path := range slices.Sorted(maps.Keys(p)) {
		if w.specs[path] != nil && have[path] {
			continue
		}
		err := w.b.Add(path)
		switch {
		case err == nil:
			delete(w.failed, path)
			fresh = append(fresh, path)
			continue
		case errors.Is(err, syscall.ENOSPC): // inotify: out of watches
			w.log.Error("watcher: the inotify watch limit is reached; polling every second instead. "+
				"Raise fs.inotify.max_user_watches, e.g. sysctl fs.inotify.max_user_watches=524288",
				"path", path, "err", err)
			w.abandon(nil)
			return false
		case errors.Is(err, syscall.EMFILE): // kqueue: one descriptor per watched file
			w.log.Error("watcher: out of file descriptors for watches; polling every second instead. "+
				"Raise the limit on open files (ulimit -n)", "path", path, "err", err)
			w.abandon(nil)
			return false
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			// Gone again; its parent's event brings the next resync.
		default:
			if !w.failed[path] {
				w.log.Warn("watcher: cannot watch folder", "path", path, "err", err)
				w.failed[path] = true
			}
		}
		skip = append(skip, path)
	}
	for path := range w.failed {
		if p[path] == nil {
			delete(w.failed, path) // no longer wanted: log again if it comes back and fails
		}
	}
	for _, path := range skip {
		delete(p, path) // retried by the next resync
	}
	w.specs = p

	// A folder that is the same as one already watched (a symlink to it) shares its
	// watch, which keeps the other name: it does not count as new, or every resync would
	// see it again.
	added := false
	var paths []string
	if len(fresh) > 0 {
		now := setOf(w.b.WatchList())
		for _, path := range fresh {
			if !now[path] {
				continue
			}
			added = true
			if s := p[path]; s.signals() && !initial {
				changed = true
				full = full || s.level.top()
				paths = append(paths, path)
			}
		}
	}
	if changed {
		w.event(Signal{Full: full, Paths: paths})
	}
	return added
}

// abandon gives up on notifications for polling: cause nil means the reason was
// logged already.
func (w *Watcher) abandon(cause error) {
	if cause != nil {
		w.log.Error("watcher: file notifications failed; polling every second instead",
			"path", w.root, "err", cause)
	}
	if w.b != nil {
		w.b.Close()
		w.b = nil
	}
	w.specs = nil
	w.snap = nil
	w.polling.Store(true)
	w.event(Signal{Full: true})
	w.poll()
}

func (w *Watcher) loadExtras() ([]string, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.extras, w.extraGen
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}
