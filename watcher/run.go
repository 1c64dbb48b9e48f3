package watcher

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
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
	w.begin()

	clock := runClock{timer: time.NewTimer(time.Hour), every: w.pollInterval}
	defer clock.stop()
	for {
		due, ok := w.deb.due()
		// Polling, or trying again the folders whose watch failed, every pollInterval.
		fire, tick := clock.set(due, ok, w.polling.Load() || len(w.failed) > 0)
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
				w.event(Signal{Full: true})
				break
			}
			w.onEvents(ev, events)
		case err, ok := <-errs:
			if !ok {
				w.abandon(errors.New("error channel closed"))
				w.event(Signal{Full: true})
				break
			}
			w.onError(err)
		case <-fire:
			if s, ok := w.deb.tick(time.Now()); ok {
				w.deliver(s)
			}
		case <-tick:
			if w.b == nil {
				w.poll()
			} else {
				w.retryFailed()
			}
		case <-w.kick:
			w.applyExtras()
		case ask := <-w.probe:
			w.answer(ask)
		}
	}
}

// begin sets Run up: the debouncer, the backend (or polling when notifications
// cannot be used), the first watch set; then it asks for the first, full pass.
func (w *Watcher) begin() {
	w.deb = newDebouncer(w.debounce)
	if b, err := w.newBackend(); err != nil {
		w.log.Error("watcher: cannot use file notifications; polling every second instead",
			"path", w.root, "err", err)
		w.polling.Store(true)
	} else {
		w.b = b
	}
	var gen uint64
	w.runExtras, gen = w.loadExtras()
	w.replan()
	if w.lost {
		w.abandon(nil)
	}
	w.markApplied(gen)
	w.deliver(Signal{Full: true})
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

// onEvents handles ev and the events that are already waiting behind it: it brings
// the watch set up to date for the folders they may have made appear or go, then
// signals them. The signal comes after the new folders are watched, so the pass it
// starts reads whatever was written in them before their watch existed, and anything
// written later sends an event of its own: adding a watch is no change of its own.
func (w *Watcher) onEvents(ev fsnotify.Event, events <-chan fsnotify.Event) {
	var full bool
	var paths, dirty []string
	seen := map[string]bool{}
	for n := 0; ; n++ {
		w.last = ev.Name
		m, d, f := w.specs.classify(ev)
		if m {
			w.received()
			w.log.Debug("watcher: event", "path", ev.Name, "op", ev.Op.String())
			paths = append(paths, ev.Name)
		}
		if name := filepath.Clean(ev.Name); d == "" && w.failed[name] != 0 {
			d = name // a folder whose watch failed changed: try again
		}
		if d != "" && !seen[d] {
			seen[d] = true
			dirty = append(dirty, d)
		}
		full = full || f
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
	for _, d := range dirty {
		if full || w.lost {
			break
		}
		full = w.refresh(d, &paths)
	}
	w.finish(full, paths)
}

// finish ends the handling of a change: it switches to polling when watches ran out,
// plans everything again when full, then signals.
func (w *Watcher) finish(full bool, paths []string) {
	if full && !w.lost {
		w.replan()
	}
	if w.lost {
		w.abandon(nil)
		full = true
	}
	if full || len(paths) > 0 {
		w.event(Signal{Full: full, Paths: paths})
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
	w.finish(true, nil)
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

// applyExtras watches the extra folders SetExtra asked for, by difference with those
// applied before: a folder already watched (most are bundle folders of the layout) is
// only marked, without a look at the disk. A folder newly watched counts as a change:
// something may have changed in it between the caller's reading and its watch.
func (w *Watcher) applyExtras() {
	next, gen := w.loadExtras()
	old := w.runExtras
	w.runExtras = next
	var paths []string
	i, j := 0, 0
	for i < len(old) || j < len(next) {
		c := 0
		switch {
		case j == len(next):
			c = -1
		case i == len(old):
			c = 1
		default:
			c = strings.Compare(old[i], next[j])
		}
		switch {
		case c < 0:
			t := old[i]
			i++
			w.unstand(t)
			if s := w.specs[t]; s != nil && s.extra {
				s.extra = false
				w.tidy(t)
			}
		case c > 0:
			t := next[j]
			j++
			if s := w.specs[t]; s != nil {
				if w.mark(s, setExtra) {
					paths = append(paths, t) // its entries were not looked at until now
				}
				continue
			}
			w.retarget(t, true, &paths, true)
		default:
			i, j = i+1, j+1
		}
	}
	w.finish(false, paths)
	w.markApplied(gen)
}

// markApplied tells SetExtra that the extra folders of generation gen are watched.
func (w *Watcher) markApplied(gen uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen > w.appliedGen {
		w.appliedGen = gen
		close(w.applied)
		w.applied = make(chan struct{})
	}
}

// abandon gives up on notifications for polling, taking a baseline of every folder:
// cause nil means the reason was logged already. The caller signals Full.
func (w *Watcher) abandon(cause error) {
	if cause != nil {
		w.log.Error("watcher: file notifications failed; polling every second instead",
			"path", w.root, "err", cause)
	}
	if w.b != nil {
		w.b.Close()
		w.b = nil
	}
	w.lost = false
	w.polling.Store(true)
	w.replan()
}

func (w *Watcher) loadExtras() ([]string, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.extras, w.extraGen
}

// answer tells a test its state (probeAsk).
func (w *Watcher) answer(ask probeAsk) {
	st := probeState{pending: w.deb.pending, polls: w.polls, lists: w.lists, sent: w.sent, last: w.last, has: w.specs[ask.path] != nil}
	if ask.folders {
		st.watched = map[string]bool{}
		for path := range w.specs {
			st.watched[path] = true
		}
	}
	ask.reply <- st
}

// runClock is Run's two clocks: a timer for the debouncer's next deadline, and a
// ticker, made when first needed, for polling and for trying failed watches again.
type runClock struct {
	timer  *time.Timer
	ticker *time.Ticker
	every  time.Duration
}

// set arms the timer for due (stops it when there is none) and returns its channel
// and, when ticking, the ticker's (nil otherwise).
func (c *runClock) set(due time.Time, ok, ticking bool) (fire, tick <-chan time.Time) {
	if ok {
		c.timer.Reset(max(0, time.Until(due)))
	} else {
		c.timer.Stop()
	}
	if !ticking {
		return c.timer.C, nil
	}
	if c.ticker == nil {
		c.ticker = time.NewTicker(c.every)
	}
	return c.timer.C, c.ticker.C
}

func (c *runClock) stop() {
	c.timer.Stop()
	if c.ticker != nil {
		c.ticker.Stop()
	}
}
