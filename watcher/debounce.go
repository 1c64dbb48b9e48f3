package watcher

import "time"

// debouncer decides when events become signals (docs/cli.md --debounce). The first event
// after a quiet period is signalled at once (leading edge); later ones are held and
// signalled together once no event came for quiet (trailing edge), or once the oldest
// held one has waited maxWait, so a steady stream is still signalled regularly.
//
// It is a plain state machine driven by the times it is given, so tests run it on a
// fake clock. The zero time means "no event yet".
type debouncer struct {
	quiet   time.Duration
	maxWait time.Duration

	last    time.Time // the latest event
	first   time.Time // the oldest held event
	pending bool      // events are held
	held    Signal    // what the held events stand for
}

func newDebouncer(quiet time.Duration) debouncer {
	return debouncer{quiet: quiet, maxWait: max(time.Second, quiet)}
}

// event records an event at now and returns the signal to send at once, if any.
func (d *debouncer) event(now time.Time, s Signal) (Signal, bool) {
	quietBefore := d.last.IsZero() || now.Sub(d.last) >= d.quiet
	d.last = now
	if !d.pending {
		if quietBefore {
			return s.merge(Signal{}), true
		}
		d.pending, d.first, d.held = true, now, s.merge(Signal{})
		return Signal{}, false
	}
	d.held = d.held.merge(s)
	if now.Sub(d.first) >= d.maxWait {
		return d.flush(), true
	}
	return Signal{}, false
}

// due returns when tick should be called next; false when nothing is held.
func (d *debouncer) due() (time.Time, bool) {
	if !d.pending {
		return time.Time{}, false
	}
	t := d.last.Add(d.quiet)
	if m := d.first.Add(d.maxWait); m.Before(t) {
		t = m
	}
	return t, true
}

// tick returns the held signal if it is due at now.
func (d *debouncer) tick(now time.Time) (Signal, bool) {
	if due, ok := d.due(); ok && !now.Before(due) {
		return d.flush(), true
	}
	return Signal{}, false
}

func (d *debouncer) flush() Signal {
	s := d.held
	d.pending, d.held = false, Signal{}
	return s
}
